import type Database from 'better-sqlite3';
import type { Loose } from '../parse/sqlite.js';
import { foreignKeysOn, same, truthy } from '../sqlite-helpers.js';
import type { LintStatement, Report, Rule, StatementContext } from '../types.js';

/**
 * With foreign keys on, SQLite's DROP TABLE first does an implicit
 * DELETE FROM the table, and that fires the ON DELETE actions of every table
 * that references it: CASCADE deletes the children's rows, SET NULL / SET
 * DEFAULT overwrites their keys. A table rebuild (drop the old parent,
 * rename the new one into place) therefore silently empties its children.
 * `PRAGMA defer_foreign_keys = on` does not help: it defers constraint
 * checks, not actions. `PRAGMA foreign_keys = off` does, but only outside a
 * transaction and never on D1, which always enforces foreign keys.
 */
export const cascadeOnDrop: Rule = {
  id: 'cascade-on-drop',
  dialects: ['sqlite'],
  severity: 'error',
  summary: 'DROP TABLE of a parent whose children have ON DELETE CASCADE / SET NULL / SET DEFAULT, with foreign keys on',
  statement(statement, context) {
    const { fact } = statement;
    if (fact.kind !== 'drop_table' || !context.sqlite || !foreignKeysOn(statement, context)) return [];
    const reports: Report[] = [];
    for (const parent of fact.tables) {
      const hits = children(context.sqlite, parent).filter((c) => !keptAside(c.child, statement, context) && !emptyHere(c.child, context));
      if (hits.length === 0) continue;
      const described = hits.map((h) => `${h.child} (${h.columns}, ON DELETE ${h.action}${h.via ? `, through ${h.via}` : ''}): ${h.action === 'CASCADE' ? 'its rows are deleted' : `its ${h.columns} ${h.action === 'SET NULL' ? 'is set to NULL' : 'is reset to its default'}`}`);
      const deferred = context.before.some((s) => s.fact.kind === 'pragma' && s.fact.name === 'defer_foreign_keys' && s.fact.value !== null && truthy(s.fact.value));
      const why = context.target.d1 ? 'D1 always enforces foreign keys' : 'foreign keys are on (Cairn\'s SQLite connection turns them on)';
      reports.push({
        message: `DROP TABLE ${parent} deletes its rows first, and ${why}, so that fires the ON DELETE actions of the tables that reference it: ${described.join('; ')}${deferred ? '. PRAGMA defer_foreign_keys = on does not prevent this: it defers checks, not ON DELETE actions' : ''}`,
        help: helpFor(parent, hits, context),
      });
    }
    return reports;
  },
};

interface Child {
  readonly child: string;
  readonly columns: string;
  readonly action: 'CASCADE' | 'SET NULL' | 'SET DEFAULT';
  /** For a grandchild reached through a cascading child: that child. */
  readonly via: string | null;
}

/**
 * The tables whose rows the drop changes, asked of SQLite (foreign_key_list):
 * direct children with a destructive ON DELETE, and, through CASCADE
 * children, theirs.
 */
function children(db: Database.Database, parent: string): Child[] {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
  const keys = new Map(tables.map((t) => [t, db.prepare('SELECT "table", "from", on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq').all(t) as { table: string; from: string; on_delete: string }[]]));
  const found: Child[] = [];
  const seen = new Set<string>([parent.toLowerCase()]);
  const queue: { table: string; via: string | null }[] = [{ table: parent, via: null }];
  while (queue.length > 0) {
    const { table, via } = queue.shift()!;
    for (const [child, rows] of keys) {
      if (seen.has(child.toLowerCase())) continue;
      const hit = rows.filter((r) => same(r.table, table) && ['CASCADE', 'SET NULL', 'SET DEFAULT'].includes(r.on_delete.toUpperCase()));
      if (hit.length === 0) continue;
      const action = hit[0]!.on_delete.toUpperCase() as Child['action'];
      seen.add(child.toLowerCase());
      found.push({ child, columns: hit.map((r) => r.from).join(', '), action, via });
      if (action === 'CASCADE') queue.push({ table: child, via: child });
    }
  }
  return found;
}

/**
 * Whether the file copies the child's rows aside before the drop (CREATE
 * TABLE … AS SELECT … FROM child, INSERT INTO … SELECT … FROM child) and
 * writes them back after it (INSERT INTO child / UPDATE child): the
 * workaround this rule recommends.
 */
function keptAside(child: string, statement: LintStatement, context: StatementContext): boolean {
  const copied = context.before.some((s) => (s.fact.kind === 'create_table' || s.fact.kind === 'insert') && readsFrom(s).some((t) => same(t, child)));
  const restored = context.statements.slice(statement.index + 1).some((s) => (s.fact.kind === 'insert' || s.fact.kind === 'update') && same(s.fact.table, child));
  return copied && restored;
}

/** A child created earlier in this migration that nothing has inserted into holds no rows to lose. */
function emptyHere(child: string, context: StatementContext): boolean {
  return context.createdHere(child.toLowerCase()) && !context.before.some((s) => s.fact.kind === 'insert' && same(s.fact.table, child));
}

function helpFor(parent: string, hits: readonly Child[], context: StatementContext): string {
  const keep = hits
    .map((h) => (h.action === 'CASCADE' ? `CREATE TABLE ${h.child}_keep AS SELECT * FROM ${h.child};` : `CREATE TABLE ${h.child}_keep AS SELECT rowid AS keep_rowid, ${h.columns} FROM ${h.child};`))
    .join(' ');
  const restore = hits
    .map((h) => {
      if (h.action === 'CASCADE') return `INSERT INTO ${h.child} SELECT * FROM ${h.child}_keep;`;
      const columns = h.columns.split(', ');
      const set = columns.length === 1 ? `${columns[0]} = k.${columns[0]}` : `(${h.columns}) = (${columns.map((c) => `k.${c}`).join(', ')})`;
      return `UPDATE ${h.child} SET ${set} FROM ${h.child}_keep k WHERE k.keep_rowid = ${h.child}.rowid;`;
    })
    .join(' ');
  const drops = [...hits.map((h) => `${h.child}_keep`), `${parent}_copy`].map((t) => `DROP TABLE ${t};`).join(' ');
  const aside = `copy the rows aside and put them back once the new ${parent} is in place: PRAGMA defer_foreign_keys = on; ${keep} CREATE TABLE ${parent}_copy AS SELECT * FROM ${parent}; CREATE TABLE ${parent}_new (…); DROP TABLE ${parent}; ALTER TABLE ${parent}_new RENAME TO ${parent}; INSERT INTO ${parent} (…) SELECT … FROM ${parent}_copy; ${restore} ${drops}`;
  if (context.target.d1) return `D1 cannot switch foreign keys off: ${aside}`;
  return `switch foreign keys off where it works, in a migration of its own marked -- cairn:no-transaction: PRAGMA foreign_keys = off; BEGIN; …rebuild…; PRAGMA foreign_key_check; COMMIT; PRAGMA foreign_keys = on; or, inside the transaction (as on D1), ${aside}`;
}

/** The tables named in the FROM clauses of a statement (any depth). */
function readsFrom(statement: LintStatement): string[] {
  const names: string[] = [];
  const visit = (node: unknown, inFrom: boolean): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n, inFrom));
    if (!node || typeof node !== 'object') return;
    const n = node as Loose;
    if (n.type === 'from_clause') return visit(n.expr, true);
    if (inFrom) {
      if (n.type === 'identifier') return void names.push(String(n.name ?? ''));
      if (n.type === 'member_expr') return visit(n.property, true);
      if (n.type === 'alias') return visit(n.expr, true);
      if (n.type === 'join_expr') return visit([n.left, n.right], true);
      // Anything else inside FROM (a subquery, a table function): only its own FROM clauses name tables.
      return visit(Object.values(n), false);
    }
    for (const [key, value] of Object.entries(n)) if (key !== 'range') visit(value, false);
  };
  visit(statement.sqlite, false);
  return names;
}
