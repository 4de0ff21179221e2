import type Database from 'better-sqlite3';
import { queryOf } from './introspect.js';
import { compareEntries, dumpEntry, dumpFilter, dumpSqlite, hasVirtualTable, joinDump, type DumpEntry, type MasterRow } from './dump.js';
import { mergeSorted } from '../merge-sorted.js';

/**
 * `dumpSqlite` for a scratch database, which verify dumps after every step:
 * the same text, but each dump after the first reads back only the rows of
 * sqlite_master that changed since the one before.
 *
 * Reading every row into JavaScript at every dump made a replay quadratic in
 * the number of objects (4 of 11 s of a 1000-migration verify, 35 s at 2000).
 * SQLite keeps no record of what a statement changed that we can read
 * (better-sqlite3 has no update hook or authorizer), so the rows are compared
 * in SQLite instead: a copy of sqlite_master as of the last dump is kept in an
 * attached in-memory database, and one query returns the rows whose rowid is
 * new or gone or whose type, name, table or SQL differs, byte for byte. An
 * in-place change (ALTER TABLE, which also rewrites other objects' SQL when it
 * renames) is a differing row like any other; nothing is assumed about what a
 * statement can touch. Same rows ⇒ same text as `dumpSqlite`, which prints
 * from those rows alone (and the shadow tables, asked again at every dump
 * while a virtual table exists).
 *
 * The copy lives in its own attached database, not in `temp`, so no name a
 * migration uses can resolve to it (unqualified names look in temp and main
 * first). Inside an open transaction (which could roll the copy back) the
 * dump is read in full and the copy is left alone.
 */
export function incrementalSqliteDump(db: Database.Database): (options: { readonly exclude: readonly string[] }) => Promise<string> {
  let state: DumpState | null = null;
  return async (options) => {
    if (db.inTransaction) return dumpSqlite(queryOf(db), options);
    const key = options.exclude.join('\0');
    try {
      if (state === null || state.excludeKey !== key) state = fresh(db, options.exclude);
      else update(db, state);
    } catch (error) {
      // The copy is gone (a migration detached it): start again from a full read.
      if (state === null || !/no such table|unknown database/i.test((error as Error).message)) throw error;
      state = fresh(db, options.exclude);
    }
    return state.text;
  };
}

const COPY_SCHEMA = 'cairn_scratch_dump';
const COPY = `${COPY_SCHEMA}.master_copy`;

interface DumpState {
  readonly excludeKey: string;
  readonly exclude: readonly string[];
  /** sqlite_master as of the last dump (and as in the copy), by rowid. */
  readonly rows: Map<number, MasterRow>;
  /** The printed entries by rowid, and sorted as the dump prints them. */
  readonly entries: Map<number, DumpEntry>;
  sorted: DumpEntry[];
  text: string;
  /** The last few dumps' entries and text, newest first. */
  readonly recent: { readonly sorted: DumpEntry[]; readonly text: string }[];
  /** Rowids of virtual tables: while there is one, which tables are shadow tables is asked at every dump. */
  readonly virtual: Set<number>;
  readonly statements: { readonly changed: Database.Statement; readonly gone: Database.Statement; readonly count: Database.Statement };
}

function fresh(db: Database.Database, exclude: readonly string[]): DumpState {
  const attached = (db.prepare('SELECT name FROM pragma_database_list').all() as { name: string }[]).some((row) => row.name === COPY_SCHEMA);
  if (!attached) db.exec(`ATTACH DATABASE ':memory:' AS ${COPY_SCHEMA}`);
  db.exec(`DROP TABLE IF EXISTS ${COPY};
    CREATE TABLE ${COPY} (id INTEGER PRIMARY KEY, type, name, tbl_name, sql);
    INSERT INTO ${COPY} SELECT rowid, type, name, tbl_name, sql FROM main.sqlite_master`);
  const read = db.prepare(`SELECT id, type, name, tbl_name AS tableName, sql FROM ${COPY}`).all() as (MasterRow & { id: number })[];
  const state: DumpState = {
    excludeKey: exclude.join('\0'),
    exclude,
    rows: new Map(),
    entries: new Map(),
    sorted: [],
    text: '',
    recent: [],
    virtual: new Set(),
    statements: { changed: db.prepare(CHANGED_SQL), gone: db.prepare(GONE_SQL), count: db.prepare(COUNT_SQL) },
  };
  for (const row of read) setRow(state, row.id, row);
  rebuild(db, state);
  return state;
}

/** Rows new or changed since the copy was taken (`new` 1 when the copy has no row of that rowid). */
const CHANGED_SQL = `SELECT m.rowid AS id, m.type, m.name, m.tbl_name AS tableName, m.sql, c.id IS NULL AS new
    FROM main.sqlite_master m LEFT JOIN ${COPY} c ON c.id = m.rowid
   WHERE c.id IS NULL OR c.sql IS NOT m.sql OR c.name IS NOT m.name OR c.type IS NOT m.type OR c.tbl_name IS NOT m.tbl_name`;
/** Rows the copy has and sqlite_master no longer has. */
const GONE_SQL = `SELECT c.id FROM ${COPY} c LEFT JOIN main.sqlite_master m ON m.rowid = c.id WHERE m.rowid IS NULL`;
const COUNT_SQL = 'SELECT count(*) AS count FROM main.sqlite_master';

function update(db: Database.Database, state: DumpState): void {
  const present = state.statements.changed.all() as (MasterRow & { id: number; new: number })[];
  // Rows gone = rows before - rows now + rows new: counting is cheap, looking for them is not, so they are looked for only when some are.
  const count = (state.statements.count.get() as { count: number }).count;
  const goneCount = state.rows.size - count + present.filter((row) => row.new === 1).length;
  const gone = goneCount > 0 ? (state.statements.gone.all() as { id: number }[]).map((row) => row.id) : [];
  const changed = [...gone, ...present.map((row) => row.id)];
  if (changed.length > 0) {
    const ids = changed.join(', ');
    db.exec(`DELETE FROM ${COPY} WHERE id IN (${ids});
      INSERT INTO ${COPY} SELECT rowid, type, name, tbl_name, sql FROM main.sqlite_master WHERE rowid IN (${ids})`);
  }
  const removed = new Set<DumpEntry>();
  for (const id of changed) {
    const entry = state.entries.get(id);
    if (entry !== undefined) removed.add(entry);
    state.entries.delete(id);
    state.rows.delete(id);
    state.virtual.delete(id);
  }
  for (const row of present) setRow(state, row.id, row);
  if (state.virtual.size > 0) {
    // Which tables are shadow tables can change with any step while a virtual table exists: print from every row again.
    rebuild(db, state);
    return;
  }
  if (changed.length === 0) return;
  const printed = dumpFilter(state.exclude, new Set());
  const added: DumpEntry[] = [];
  for (const row of present) {
    const entry = dumpEntry(row);
    if (entry === null || !printed(entry)) continue;
    state.entries.set(row.id, entry);
    added.push(entry);
  }
  if (removed.size === 0 && added.length === 0) return;
  const kept = removed.size > 0 ? state.sorted.filter((entry) => !removed.has(entry)) : state.sorted;
  settle(state, mergeSorted(kept, added.sort(compareEntries), compareEntries));
}

/** How many recent dumps are remembered: verify compares a step's schema with the one two steps before. */
const RECENT = 4;

/**
 * The new entries, and their text: a recent dump's when the entries print
 * the same (then verify's comparison of the two is `===` on one string),
 * joined anew only otherwise. A down that undoes its up leaves the entries
 * the up found, mostly the very same objects, so this is a walk of pointers.
 */
function settle(state: DumpState, sorted: DumpEntry[]): void {
  const same = state.recent.find((dump) => samePrint(dump.sorted, sorted));
  // The entries stay the current ones (`entries` holds them, removal goes by identity); only the text is shared.
  state.sorted = sorted;
  if (same !== undefined) {
    state.text = same.text;
  } else {
    state.text = joinDump(sorted);
    state.recent.unshift({ sorted, text: state.text });
    state.recent.length = Math.min(state.recent.length, RECENT);
  }
}

function samePrint(a: readonly DumpEntry[], b: readonly DumpEntry[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && a[i]!.text !== b[i]!.text) return false;
  return true;
}

function setRow(state: DumpState, id: number, { type, name, tableName, sql }: MasterRow): void {
  const row = { type, name, tableName, sql };
  state.rows.set(id, row);
  if (hasVirtualTable([row])) state.virtual.add(id);
}

/** Prints the dump from every row (the first dump, and every one while a virtual table exists). */
function rebuild(db: Database.Database, state: DumpState): void {
  const shadow = state.virtual.size > 0 ? shadowTablesNow(db) : new Set<string>();
  const printed = dumpFilter(state.exclude, shadow);
  state.entries.clear();
  for (const [id, row] of state.rows) {
    const entry = dumpEntry(row);
    if (entry !== null && printed(entry)) state.entries.set(id, entry);
  }
  settle(state, [...state.entries.values()].sort(compareEntries));
}


function shadowTablesNow(db: Database.Database): Set<string> {
  return new Set((db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'").all() as { name: string }[]).map((row) => row.name));
}
