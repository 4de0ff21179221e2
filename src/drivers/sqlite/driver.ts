import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CairnError } from '../../errors.js';
import { resolveCommand, StatementError, type Driver, type HeldLock, type LockOptions, type SqlCommand, type SqlFlavor } from '../types.js';
import { sqliteBackup } from './backup.js';
import { dumpSqlite } from './dump.js';
import { incrementalSqliteDump } from './incremental-dump.js';
import { introspectSqlite, queryOf, sqliteUserTables } from './introspect.js';
import { acquireSqliteLock, sqliteLockHolder } from './lock.js';
import { quoteIdentifier } from '../../sql/quote.js';

/**
 * A writer needs the file and its directory (SQLite puts its journal next to
 * the file): a read-only one is the user's to fix, said before anything is tried.
 */
function assertWritable(path: string, display: string): void {
  const directory = dirname(path);
  const refuse = (what: string, error: unknown) =>
    new CairnError('CONNECTION', `cannot write to SQLite database ${display}: ${what} is read-only (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, {
      hint: `make ${what} writable for this user (\`chmod u+w ${what}\`, or \`chattr -i\` if it is immutable; on a read-only mount, copy the database elsewhere); SQLite also writes its journal into ${directory}. Reading commands (status, dump, lint) work without writing`,
      details: { path: what },
      cause: error,
    });
  try {
    mkdirSync(directory, { recursive: true });
  } catch (error) {
    let existing = directory;
    while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
    throw refuse(existing, error);
  }
  for (const target of existsSync(path) ? [path, directory] : [directory]) {
    try {
      accessSync(target, constants.W_OK);
    } catch (error) {
      throw refuse(target, error);
    }
  }
}

export const sqliteFlavor: SqlFlavor = {
  param: () => '?',
  quoteIdentifier,
  types: { text: 'TEXT', integer: 'INTEGER', timestamp: 'TEXT' },
  // SQLite has no RAISE outside triggers (and D1 no user functions): json() of text that is not JSON fails the statement,
  // reached only when the condition is false. The argument depends on the query, so it is never folded in advance.
  assertion: (query) => `SELECT json(CASE WHEN (${query}) THEN '1' ELSE 'cairn: assertion failed' END)`,
};

export interface SqliteOpenOptions {
  /** False for read-only commands: a missing file reads as an empty database and is not created. */
  readonly create: boolean;
  /** A scratch database Cairn made and throws away after use: commits do not wait for the disk. */
  readonly scratch?: boolean;
}

/** SQLite through better-sqlite3. Synchronous underneath; async to fit the Driver contract. */
export function openSqlite(path: string, display: string, options: SqliteOpenOptions): Driver {
  let db: Database.Database;
  if (path !== ':memory:' && !options.create && !existsSync(path)) {
    db = new Database(':memory:');
  } else {
    if (path !== ':memory:' && options.create) assertWritable(path, display);
    try {
      db = new Database(path, { timeout: 5000 });
    } catch (error) {
      throw new CairnError('CONNECTION', `cannot open SQLite database ${display}: ${(error as Error).message}`, {
        hint: 'check that the path is a SQLite file and that you may write to its directory',
        cause: error,
      });
    }
  }
  if (options.scratch) {
    // A crash may corrupt the file; nobody will open it again.
    db.pragma('journal_mode = MEMORY');
    db.pragma('synchronous = OFF');
  }
  let heartbeat: (() => SqlCommand) | null = null;

  const driver: Driver = {
    capabilities: { transactionalDdl: true, batchOnlyAtomicity: false, rowKey: 'rowid' },
    flavor: sqliteFlavor,
    target: display,

    async query<Row>(command: SqlCommand): Promise<Row[]> {
      try {
        return runOne(db, command) as Row[];
      } catch (error) {
        throw asStatementError(error, 0);
      }
    },

    async atomic(commands) {
      begin(db);
      let index = 0;
      try {
        for (; index < commands.length; index++) runUnread(db, resolveCommand(commands[index]!));
        // Refresh our lock inside the same transaction, so it can never look stale right after a long step.
        if (heartbeat) runOne(db, heartbeat());
        db.exec('COMMIT');
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw asStatementError(error, Math.min(index, commands.length - 1));
      }
    },

    async transaction(work) {
      begin(db);
      try {
        const result = await work({ query: driver.query });
        try {
          // Refresh our lock inside the same transaction, as atomic does.
          if (heartbeat) runOne(db, heartbeat());
          db.exec('COMMIT');
        } catch (error) {
          throw asStatementError(error, 0);
        }
        return result;
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    },

    async tableExists(table) {
      return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
    },

    userTables: (options) => sqliteUserTables(queryOf(db), options.exclude),

    async snapshot(options) {
      return introspectSqlite(queryOf(db), options);
    },

    // A scratch database: each dump reads back only what changed since the one before (incremental-dump.ts).
    dump: options.scratch ? incrementalSqliteDump(db) : (dumpOptions) => dumpSqlite(queryOf(db), dumpOptions),

    async lock(table: string, options: LockOptions): Promise<HeldLock> {
      const held = await acquireSqliteLock(db, `${table}_lock`, options);
      heartbeat = held.heartbeat;
      return {
        release: async () => {
          heartbeat = null;
          held.release();
        },
      };
    },

    async lockHolder(table) {
      return sqliteLockHolder(db, `${table}_lock`);
    },

    async close() {
      if (db.open) db.close();
    },

    backup: sqliteBackup(db),
  };
  return driver;
}

function runOne(db: Database.Database, command: SqlCommand): unknown[] {
  const params = (command.params ?? []) as unknown[];
  if (params.length === 0 && !command.sql.trim()) return [];
  const statement = db.prepare(command.sql);
  if (statement.reader) return statement.all(...params);
  statement.run(...params);
  return [];
}

/**
 * A command whose rows nobody reads (atomic returns none): a migration's own
 * statements, one per command (the splitter's). Without parameters it goes
 * through exec, which makes no Statement object: twice as fast as
 * prepare + run on a seed file of one-row INSERTs.
 */
function runUnread(db: Database.Database, command: SqlCommand): void {
  if ((command.params ?? []).length === 0) db.exec(command.sql);
  else runOne(db, command);
}

/** BEGIN IMMEDIATE takes the write lock now, so a busy database fails here rather than half-way. */
function begin(db: Database.Database): void {
  db.exec('BEGIN IMMEDIATE');
}

function asStatementError(error: unknown, index: number): unknown {
  if (error instanceof Database.SqliteError) {
    return new StatementError(index, error.message, undefined, error.code, { cause: error });
  }
  if (error instanceof RangeError || error instanceof TypeError) {
    // better-sqlite3 reports "more than one statement" and similar as TypeError/RangeError.
    return new StatementError(index, error.message, undefined, undefined, { cause: error });
  }
  return error;
}
