import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { fillStatements, type BackupSupport, type SavedTable, type TableShape } from '../types.js';
import { quoteIdentifier } from '../../sql/quote.js';
import { BACKUP_CATALOG, columnsOf, plainKey, type ColumnInfo } from './catalog.js';

/**
 * Backups as one SQLite database file per backup (`data.sqlite`), one table
 * per saved table. The copies declare no column types, so SQLite applies no
 * type affinity and every value keeps its exact storage class (an integer
 * stays an integer, '007' stays text, a blob stays a blob). The original
 * CREATE TABLE and CREATE INDEX text is kept to recreate a dropped table;
 * the declared types to build a side table with the same affinities.
 */
export const SQLITE_BACKUP_FORMAT = 'sqlite-database';
export const BACKUP_DATA_FILE = 'data.sqlite';
const DATA_FILE = BACKUP_DATA_FILE;
const SCHEMA = 'cairn_backup';

const q = quoteIdentifier;

export function sqliteBackup(db: Database.Database): BackupSupport {
  return {
    format: SQLITE_BACKUP_FORMAT,

    async describe(table) {
      return exists(db, table) ? shapeOf(db, table) : null;
    },

    async count(table) {
      return exists(db, table) ? Number((db.prepare(`SELECT count(*) AS n FROM main.${q(table)}`).get() as { n: number }).n) : null;
    },

    async save(tables, dir) {
      return withAttached(db, join(dir, DATA_FILE), () =>
        tables.map((written) => {
          const table = storedName(db, written);
          const shape = shapeOf(db, table);
          const columns = shape.columns.map((c) => q(c.name)).join(', ');
          db.exec(copyTableSql(SCHEMA, table, shape.columns.map((c) => c.name)));
          const { changes } = db.prepare(`INSERT INTO ${SCHEMA}.${q(table)} (${columns}) SELECT ${columns} FROM main.${q(table)}`).run();
          return { table, rows: changes, ...shape, definition: definitionOf(db, table), file: DATA_FILE } satisfies SavedTable;
        }),
      );
    },

    async restore(dir, requests) {
      return withAttached(db, join(dir, DATA_FILE), () =>
        requests.map(({ saved, action }) => {
          const columns = saved.columns.map((c) => q(c.name)).join(', ');
          let target = saved.table;
          let conflict = '';
          const { schema, triggers } = splitTriggers(saved.definition);
          if (action.kind === 'recreate') for (const statement of schema) db.exec(statement);
          else if (action.kind === 'side-table') {
            target = action.into;
            db.exec(`CREATE TABLE main.${q(target)} (${saved.columns.map((c) => `${q(c.name)}${c.type ? ` ${c.type}` : ''}`).join(', ')})`);
          } else conflict = ' WHERE true ON CONFLICT DO NOTHING'; // (WHERE true: SQLite's parser needs it before ON CONFLICT after a SELECT)
          const inserted = db.prepare(`INSERT INTO main.${q(target)} (${columns}) SELECT ${columns} FROM ${SCHEMA}.${q(saved.table)}${conflict}`).run().changes;
          if (action.kind === 'recreate') for (const statement of triggers) db.exec(statement);
          const filled: Record<string, number> = {};
          if (action.kind === 'missing-rows') {
            for (const { column, sql } of fillStatements(`main.${q(target)}`, `${SCHEMA}.${q(saved.table)}`, action, q)) filled[column] = db.prepare(sql).run().changes;
          }
          return { inserted, filled };
        }),
      );
    },
  };
}

/** The backup file's copy of a table: columns without types, so no affinity touches the values that go in. */
function copyTableSql(schema: string, table: string, columns: readonly string[]): string {
  return `CREATE TABLE ${schema}.${q(table)} (${columns.map(q).join(', ')})`;
}

/** Appends rows (arrays in column order) to one table of a backup file being written. */
export type BackupRowsSink = (rows: readonly (readonly unknown[])[]) => void;

/**
 * Writes a backup file from rows read elsewhere: the D1 driver reads them over
 * D1's API and saves them in the same format as this driver. Values are
 * stored in the storage class of their JavaScript type: bigint as integer,
 * number as real (better-sqlite3 binds every number as a double), string as
 * text, Buffer as blob.
 */
export async function createBackupFile(dir: string): Promise<{ table(table: string, columns: readonly string[]): BackupRowsSink; close(): void }> {
  const { default: Sqlite } = await import('better-sqlite3');
  const file = new Sqlite(join(dir, DATA_FILE));
  file.pragma('journal_mode = OFF'); // a new file nobody reads until it is complete
  return {
    table(table, columns) {
      file.exec(copyTableSql('main', table, columns));
      const insert = file.prepare(`INSERT INTO main.${q(table)} VALUES (${columns.map(() => '?').join(', ')})`);
      return file.transaction((rows: readonly (readonly unknown[])[]) => {
        for (const row of rows) insert.run(...row);
      });
    },
    close: () => file.close(),
  };
}

/** The saved rows of `table` in a backup file, `size` at a time, each value in its exact storage class (integers as bigint, blobs as Buffer). */
export async function* readBackupFile(dir: string, table: string, columns: readonly string[], size: number): AsyncGenerator<unknown[][]> {
  const { default: Sqlite } = await import('better-sqlite3');
  const file = new Sqlite(join(dir, DATA_FILE), { readonly: true, fileMustExist: true });
  try {
    let rows: unknown[][] = [];
    for (const row of file.prepare(`SELECT ${columns.map(q).join(', ')} FROM main.${q(table)}`).raw().safeIntegers().iterate()) {
      rows.push(row as unknown[]);
      if (rows.length >= size) {
        yield rows;
        rows = [];
      }
    }
    if (rows.length > 0) yield rows;
  } finally {
    file.close();
  }
}

/** Attaches the backup file, runs `work` in one write transaction, detaches again (ATTACH cannot run inside a transaction). */
function withAttached<T>(db: Database.Database, path: string, work: () => T): T {
  db.prepare(`ATTACH DATABASE ? AS ${SCHEMA}`).run(path);
  try {
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      db.exec('COMMIT');
      return result;
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
  } finally {
    db.exec(`DETACH DATABASE ${SCHEMA}`);
  }
}

/** SQLite names are case-insensitive: `DELETE FROM Users` is about table `users`. */
function exists(db: Database.Database, table: string): boolean {
  return db.prepare(BACKUP_CATALOG.exists).get(table) !== undefined;
}

/** The table's name as SQLite stored it, for the backup's records. */
function storedName(db: Database.Database, table: string): string {
  return (db.prepare("SELECT name FROM main.sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE").get(table) as { name: string } | undefined)?.name ?? table;
}

/**
 * A saved definition's triggers apart from the table and its indexes: a
 * recreated table gets its triggers after its rows are back, so an audit or
 * counter trigger does not fire on restored rows. (Shared with D1.)
 */
export function splitTriggers(definition: readonly string[]): { schema: string[]; triggers: string[] } {
  const isTrigger = (sql: string) => /^\s*CREATE\s+(TEMP\w*\s+)?TRIGGER\b/i.test(sql);
  return { schema: definition.filter((sql) => !isTrigger(sql)), triggers: definition.filter(isTrigger) };
}

function shapeOf(db: Database.Database, table: string): TableShape {
  const { columns, primary } = columnsOf(db.prepare(BACKUP_CATALOG.columns).all(table) as ColumnInfo[]);
  return { columns, key: primary.length > 0 ? primary : uniqueKey(db, table) };
}

/** The columns of the first unique index on plain columns (no expressions, not partial). */
function uniqueKey(db: Database.Database, table: string): string[] {
  for (const { name } of db.prepare(BACKUP_CATALOG.uniqueIndexes).all(table) as { name: string }[]) {
    const key = plainKey(db.prepare(BACKUP_CATALOG.indexColumns).all(name) as { cid: number; name: string | null }[]);
    if (key) return key;
  }
  return [];
}

function definitionOf(db: Database.Database, table: string): string[] {
  return (db.prepare(BACKUP_CATALOG.definition).all(table) as { sql: string }[]).map((r) => r.sql);
}
