import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CairnError } from '../errors.js';
import type { Migration, ScriptInfo, SourceProblem } from './migration.js';
import { checksumOf } from './parse.js';

/**
 * `migrations/0007_fill_slugs.ts`: a migration that needs code. It exports
 * `up(ctx)` and optionally `down(ctx)`; `ctx` is core/script's
 * MigrationContext. Read here as text only (checksummed like a SQL file);
 * the module is imported (loadScript) when it runs, with the loader the
 * config already uses (jiti). What the runner must know before it imports
 * it is read from the text, lexically:
 *   - a `down` export: the migration can be rolled back;
 *   - a call of `.batch(`: it runs keyset batches, each committed with its
 *     checkpoint, so it cannot be one transaction; it resumes after a crash;
 *   - `// cairn:no-transaction`: not one transaction, without batches.
 */
const DOWN_EXPORT = /\bexport\s+(?:async\s+)?function\s+down\b|\bexport\s+(?:const|let|var)\s+down\b|\bexport\s*\{[^}]*\bdown\b[^}]*\}/;
const UP_EXPORT = /\bexport\s+(?:async\s+)?function\s+up\b|\bexport\s+(?:const|let|var)\s+up\b|\bexport\s*\{[^}]*\bup\b[^}]*\}|\bexport\s+default\b/;
const BATCH_CALL = /\.batch\s*(?:<[^>]*>\s*)?\(/g;
const NO_TRANSACTION = /^\s*\/\/\s*cairn:no-transaction\b/m;

export function readScriptMigration(text: string, file: string, path: string, version: string, name: string, problems: SourceProblem[]): Migration | null {
  if (!UP_EXPORT.test(withoutComments(text))) {
    problems.push({ file, message: 'a TypeScript migration without an `up` export', fix: 'export async function up(ctx: MigrationContext) { … } (cairn new --ts writes one)' });
    return null;
  }
  const code = withoutComments(text.replace(/\r\n?/g, '\n'));
  const batchLines = [...code.matchAll(BATCH_CALL)].map((m) => code.slice(0, m.index).split('\n').length);
  const script: ScriptInfo = { path, batchLines, transaction: batchLines.length === 0 && !NO_TRANSACTION.test(text) };
  const whole = { file, firstLine: 1, text, statements: [] };
  return {
    version,
    name,
    file,
    up: whole,
    down: DOWN_EXPORT.test(code) ? whole : null,
    checksum: checksumOf(text),
    transaction: script.transaction,
    header: {},
    directives: [],
    script,
  };
}

/** The text with comments and string contents blanked (newlines kept, so lines still count): a `.batch(` in either is not a call. */
function withoutComments(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; ) {
    const ch = text[i]!;
    if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (ch === "'" || ch === '"' || ch === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== ch) j += text[j] === '\\' ? 2 : 1;
      out += ch + text.slice(i + 1, j).replace(/[^\n]/g, ' ') + (j < text.length ? ch : '');
      i = j + 1;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}

/** The module's `up` and `down`, imported now (TypeScript compiled by jiti, `cairn-migrate` mapped to this copy). */
export async function loadScript(migration: Migration): Promise<{ up: ScriptFunction; down: ScriptFunction | null }> {
  const { createJiti } = await import('jiti');
  const self = selfEntry();
  let module: Record<string, unknown>;
  try {
    module = (await createJiti(import.meta.url, { alias: { 'cairn-migrate': self, cairn: self }, moduleCache: false }).import(migration.script!.path)) as Record<string, unknown>;
  } catch (error) {
    throw new CairnError('SOURCE', `${migration.file} could not be loaded: ${error instanceof Error ? error.message : String(error)}`, { hint: 'fix the TypeScript (it is compiled as it is imported); nothing of it was applied', cause: error });
  }
  const fallback = (module.default ?? {}) as Record<string, unknown>;
  const up = module.up ?? fallback.up ?? (typeof module.default === 'function' ? module.default : undefined);
  const down = module.down ?? fallback.down;
  if (typeof up !== 'function') throw new CairnError('SOURCE', `${migration.file} exports no function \`up\``, { hint: 'export async function up(ctx) { … }' });
  return { up: up as ScriptFunction, down: typeof down === 'function' ? (down as ScriptFunction) : null };
}

export type ScriptFunction = (ctx: never) => unknown;

function selfEntry(): string {
  const built = fileURLToPath(new URL('../index.js', import.meta.url));
  return existsSync(built) ? built : built.replace(/\.js$/, '.ts');
}
