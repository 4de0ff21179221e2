import type { LintStatement, Rule } from '../types.js';

/**
 * `cairn status`, history tables and code review show migrations by file
 * name. `0057_create_teams` says what happened; `0057_teams` or `0057_fix`
 * makes every reader open the file.
 */
export const naming: Rule = {
  id: 'naming',
  dialects: ['postgres', 'sqlite'],
  severity: 'warning',
  summary: 'migration file name not of the form NNNN_verb_object',
  file({ migration, statements }) {
    const { name, version } = migration;
    const words = name.split('_').filter(Boolean);
    const verb = words[0]?.toLowerCase() ?? '';
    if (words.length >= 2 && VERBS.has(verb)) return [];
    const problem = words.length < 2 ? 'has a single word' : `does not start with a verb ("${words[0]}")`;
    return [
      {
        message: `migration name "${name}" ${problem}: name it NNNN_verb_object, saying what it does`,
        help: `rename the file to ${version}_${suggest(name, statements)}.sql (before it is applied anywhere: the name is recorded in the history); verbs: ${[...VERBS].slice(0, 14).join(', ')}, …`,
      },
    ];
  },
};

const VERBS = new Set([
  'add', 'create', 'drop', 'remove', 'rename', 'alter', 'change', 'backfill', 'update', 'insert', 'seed', 'delete', 'make', 'set', 'unset',
  'enable', 'disable', 'split', 'merge', 'move', 'index', 'reindex', 'allow', 'convert', 'extend', 'populate', 'replace', 'restrict', 'revert',
  'truncate', 'introduce', 'link', 'unlink', 'prepare', 'init', 'initial', 'initialize', 'bootstrap', 'setup', 'modify', 'fix', 'migrate', 'copy',
  'import', 'rebuild', 'recreate', 'restructure', 'normalize', 'denormalize', 'archive', 'expand', 'contract', 'clean', 'cleanup', 'attach',
  'detach', 'grant', 'revoke', 'widen', 'shrink', 'relax', 'tighten', 'constrain', 'validate', 'deprecate', 'partition', 'encrypt', 'decrypt',
  'reset', 'sync', 'switch', 'swap', 'upgrade', 'downgrade', 'limit', 'require', 'mark', 'increase', 'decrease', 'dedupe', 'deduplicate',
  'fill', 'refill', 'refresh', 'reorder', 'restore', 'register', 'unregister', 'install', 'uninstall', 'use', 'unify', 'rework', 'refactor',
  'redefine', 'define', 'generate', 'compute', 'precompute', 'denormalise', 'normalise', 'separate', 'combine', 'extract', 'inline', 'flatten',
  'promote', 'demote', 'lowercase', 'uppercase', 'trim', 'shorten', 'lengthen', 'loosen',
]);

const FIRST_MIGRATION = new Set(['init', 'initial', 'initialize', 'bootstrap', 'setup']);

/** A better name: the user's words, with a verb guessed from the first statement in front when there is none. */
function suggest(name: string, statements: readonly LintStatement[]): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const first = statements.find((s) => s.fact.kind !== 'other' || s.fact.name !== 'empty');
  if (words.length > 0 && VERBS.has(words[0]!)) {
    // Right verb, but no object (or the words were not split by "_"): add the object the statement acts on.
    if (words.length >= 2) return words.join('_');
    if (FIRST_MIGRATION.has(words[0]!)) return `${words[0]}_schema`;
    return [words[0], objectOf(first) ?? 'something'].join('_');
  }
  return [verbOf(first), ...(words.length > 0 ? words : [objectOf(first) ?? 'something'])].join('_');
}

function verbOf(statement: LintStatement | undefined): string {
  const fact = statement?.fact;
  switch (fact?.kind) {
    case 'create_table':
    case 'create_view':
    case 'create_trigger':
      return 'create';
    case 'create_index':
      return 'add';
    case 'drop_table':
    case 'drop_index':
    case 'drop_view':
    case 'drop_trigger':
      return 'drop';
    case 'alter_table': {
      const action = fact.actions[0];
      if (action?.type === 'add_column') return 'add';
      if (action?.type === 'drop_column') return 'drop';
      if (action?.type === 'rename_column' || action?.type === 'rename_table') return 'rename';
      return 'alter';
    }
    case 'insert':
      return 'seed';
    case 'update':
      return 'backfill';
    case 'delete':
      return 'delete';
    default:
      return 'change';
  }
}

function objectOf(statement: LintStatement | undefined): string | null {
  const fact = statement?.fact;
  if (!fact) return null;
  if ('table' in fact && typeof fact.table === 'string' && fact.table) return fact.table.toLowerCase();
  if (fact.kind === 'drop_table') return fact.tables[0]?.toLowerCase() ?? null;
  if ('name' in fact && fact.kind !== 'other' && fact.kind !== 'pragma') return fact.name.toLowerCase();
  return null;
}
