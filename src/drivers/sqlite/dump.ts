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
  const rows = (await query("SELECT type, name, tbl_name AS tableName, sql FROM main.sqlite_master WHERE sql IS NOT NULL")) as unknown as MasterRow[];
  const shadow = hasVirtualTable(rows) ? await shadowTables(query) : new Set<string>();
  const printed = dumpFilter(options.exclude, shadow);
  const entries = rows.map(dumpEntry).filter((entry): entry is DumpEntry => entry !== null && printed(entry));
  return joinDump(entries.sort(compareEntries));
}

/** A row of sqlite_master, as the dumps read it. */
export interface MasterRow {
  readonly type: string;
  readonly name: string;
  readonly tableName: string;
  readonly sql: string | null;
}

/** One printed statement of a dump, with what orders it. */
export interface DumpEntry {
  readonly rank: number;
  readonly name: string;
  readonly tableName: string;
  readonly text: string;
}

const RANK: ReadonlyMap<string, number> = new Map([['table', 0], ['index', 1], ['view', 2], ['trigger', 3]]);

/** The statement a row prints, before `exclude` and shadow tables are applied; null for rows no dump prints (no SQL, another type). */
export function dumpEntry(row: MasterRow): DumpEntry | null {
  const rank = RANK.get(row.type);
  if (row.sql === null || rank === undefined) return null;
  return { rank, name: row.name, tableName: row.tableName, text: `${row.sql.trim().replace(/;$/, '')};` };
}

/** Tables first, then indexes, views and triggers, each by name. */
export function compareEntries(a: DumpEntry, b: DumpEntry): number {
  return a.rank - b.rank || compareStrings(a.name, b.name);
}

/** Whether an entry is printed: not internal, not excluded (nor on an excluded table), not a virtual table's shadow table (nor on one). */
export function dumpFilter(exclude: readonly string[], shadow: ReadonlySet<string>): (entry: DumpEntry) => boolean {
  const excluded = new Set(exclude.map((name) => name.replace(/^main\./i, '').toLowerCase()));
  const skip = (name: string) => excluded.has(name.toLowerCase()) || /^sqlite_/i.test(name) || shadow.has(name);
  return (entry) => !skip(entry.name) && !skip(entry.tableName);
}

/**
 * Only a virtual table has shadow tables; pragma_table_list reads every
 * table's definition, so it is asked only then (verify dumps after every step).
 */
export function hasVirtualTable(rows: Iterable<MasterRow>): boolean {
  for (const row of rows) if (row.type === 'table' && row.sql !== null && /^\s*create\s+virtual\s+table\b/i.test(row.sql)) return true;
  return false;
}

async function shadowTables(query: SqliteQuery): Promise<Set<string>> {
  return new Set(((await query("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'")) as { name: string }[]).map((row) => row.name));
}

/** The dump's text from its entries, sorted. */
export function joinDump(sorted: readonly DumpEntry[]): string {
  return sorted.length > 0 ? `${sorted.map((entry) => entry.text).join('\n\n')}\n` : '';
}
