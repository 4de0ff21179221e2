import type Database from 'better-sqlite3';
import { same, tryOnCopy } from '../sqlite-helpers.js';
import type { Rule } from '../types.js';

/**
 * A table rebuild that starts with `ALTER TABLE t RENAME TO t_old` is the
 * wrong way round. Since SQLite 3.26 (legacy_alter_table off, as on D1 and in
 * better-sqlite3) RENAME TO rewrites every foreign key, view and trigger that
 * refers to `t` so that it refers to `t_old`. The new `t` then has nothing
 * pointing at it, and `DROP TABLE t_old` leaves those references dangling
 * (or, with ON DELETE CASCADE, deletes the children's rows). SQLite's own
 * 12-step procedure creates the new table first and renames it last.
 */
export const sqliteRebuildOrder: Rule = {
  id: 'sqlite-rebuild-order',
  dialects: ['sqlite'],
  severity: 'error',
  summary: 'table rebuild that renames the old table first (ALTER TABLE t RENAME TO t_old, then CREATE TABLE t)',
  statement(statement, context) {
    const { fact } = statement;
    if (fact.kind !== 'alter_table') return [];
    const rename = fact.actions.find((a) => a.type === 'rename_table');
    if (!rename || rename.type !== 'rename_table') return [];
    const table = fact.table;
    const old = rename.to;
    const later = context.statements.slice(statement.index + 1);
    const recreate = later.find((s) => s.fact.kind === 'create_table' && same(s.fact.table, table));
    const dropOld = later.find((s) => s.fact.kind === 'drop_table' && s.fact.tables.some((t) => same(t, old)));
    if (!recreate && !dropOld) return [];

    const moved = context.sqlite ? repointed(context.sqlite, statement.sql, old) : [];
    const what = moved.length > 0 ? `it rewrites ${moved.length > 1 ? `${moved.slice(0, -1).join(', ')} and ${moved.at(-1)}` : moved[0]} to refer to "${old}"` : `it rewrites every foreign key, view and trigger that refers to "${table}" to refer to "${old}"`;
    const then = dropOld ? `DROP TABLE ${old} (line ${dropOld.line}) then leaves them dangling, or with ON DELETE CASCADE deletes the referencing rows` : `the new "${table}" (line ${recreate!.line}) has nothing pointing at it`;
    return [
      {
        message: `rebuild of "${table}" in the wrong order: renaming the old table first makes SQLite repoint its references: ${what}; ${then}`,
        help: `create the new table first and rename it last (SQLite's 12-step order): CREATE TABLE ${table}_new (…); INSERT INTO ${table}_new (…) SELECT … FROM ${table}; DROP TABLE ${table}; ALTER TABLE ${table}_new RENAME TO ${table}; then recreate its indexes, triggers and views (if other tables reference it with ON DELETE CASCADE, see cascade-on-drop)`,
        offset: rename.offset,
      },
    ];
  },
};

/**
 * What the rename rewrites, asked of SQLite: the rename runs on a throw-away
 * copy of the schema and we compare. Objects that belong to the renamed table
 * itself (its indexes and triggers) move with it and are not listed.
 */
function repointed(db: Database.Database, rename: string, to: string): string[] {
  const moved: string[] = [];
  const failed = tryOnCopy(db, (copy) => {
    const schema = (d: Database.Database) => new Map((d.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL").all() as { type: string; name: string; tbl_name: string; sql: string }[]).map((o) => [o.name, o]));
    const before = schema(copy);
    copy.exec(rename);
    const after = schema(copy);
    for (const [name, object] of after) {
      const was = before.get(name);
      if (!was || was.sql === object.sql || same(object.tbl_name, to)) continue;
      moved.push(object.type === 'table' ? `the foreign keys of ${name}` : `${object.type} ${name}`);
    }
  });
  return failed === null ? moved : [];
}
