import { compareStrings } from '../snapshot.js';
import type { SqliteQuery } from './introspect.js';

/**
 * The schema of a SQLite database's `main` schema as SQL that recreates it:
 * every table, then indexes, views and triggers, each group sorted by name,
 * one statement per object with a blank line between. Each statement is the
 * text SQLite stored for it (sqlite_master.sql), which is what SQLite itself
 * reads back when it opens the file, so it recreates the object exactly.
 *
 * The order is safe without a dependency sort: SQLite resolves names in
 * foreign keys, views and trigger bodies when they are used, not when they
 * are created; only an index or trigger needs its table to exist already.
 *
 * Left out, as in the snapshot: internal tables (`sqlite_%`, with the
 * autoincrement counters in sqlite_sequence), virtual tables' shadow tables
 * (the module recreates them), auto-indexes behind UNIQUE/PRIMARY KEY, and the
 * tables named in `exclude` with their indexes and triggers. No data.
 * Same schema ⇒ same text: nothing here depends on creation order or time.
 */
export async function dumpSqlite(query: SqliteQuery, options: { readonly exclude: readonly string[] }): Promise<string> {
  const excluded = new Set(options.exclude.map((name) => name.replace(/^main\./i, '').toLowerCase()));
  const skip = (name: string) => excluded.has(name.toLowerCase()) || /^sqlite_/i.test(name);
  const rows = (await query("SELECT type, name, tbl_name AS tableName, sql FROM main.sqlite_master WHERE sql IS NOT NULL")) as {
    type: string;
    name: string;
    tableName: string;
    sql: string;
  }[];
  // Only a virtual table has shadow tables; pragma_table_list reads every table's
  // definition, so it is asked only then (verify dumps after every step).
  const virtual = rows.some((row) => row.type === 'table' && /^\s*create\s+virtual\s+table\b/i.test(row.sql));
  const shadow = new Set(
    virtual ? ((await query("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'")) as { name: string }[]).map((row) => row.name) : [],
  );
  const rank: Record<string, number> = { table: 0, index: 1, view: 2, trigger: 3 };
  const statements = rows
    .filter((row) => row.type in rank && !skip(row.name) && !skip(row.tableName) && !shadow.has(row.name) && !shadow.has(row.tableName))
    .sort((a, b) => rank[a.type]! - rank[b.type]! || compareStrings(a.name, b.name))
    .map((row) => `${row.sql.trim().replace(/;$/, '')};`);
  return statements.length > 0 ? `${statements.join('\n\n')}\n` : '';
}
