import type { Snapshot } from './snapshot.js';

/**
 * What core needs from a database, and nothing more. Core reads capabilities
 * and never asks which database it is talking to.
 */
export interface Capabilities {
  /** DDL rolls back with its transaction (SQLite, PostgreSQL; not MySQL). */
  readonly transactionalDdl: boolean;
  /** No interactive transactions; the atomic unit is one batch of statements (D1). */
  readonly batchOnlyAtomicity: boolean;
  /** A key every row has when its table declares none (SQLite's `rowid`): batched statements walk it. Null when there is none. */
  readonly rowKey: string | null;
  /**
   * Who answers a write, for messages when that answer is lost (NO_ANSWER): "the D1 API".
   * Absent where no answer goes missing in transit (an in-process engine, a server connection).
   */
  readonly answeredBy?: string;
  /** A hard cap on one statement that the engine enforces (D1: 100,000 bytes, 100 bound parameters); absent: none that matters. */
  readonly statementLimits?: StatementLimits;
}

export interface StatementLimits {
  /** Who enforces it, for messages: "D1". */
  readonly engine: string;
  readonly maxBytes: number;
  readonly maxParams: number;
}

/** One statement with its parameters. */
export interface SqlCommand {
  readonly sql: string;
  readonly params?: readonly unknown[];
}

/**
 * A command built only when execution reaches it, so it can carry facts known
 * only then (the time the step took). Batch-only engines build it up front.
 */
export type AtomicCommand = SqlCommand | (() => SqlCommand);

export function resolveCommand(command: AtomicCommand): SqlCommand {
  return typeof command === 'function' ? command() : command;
}

/** How to write portable SQL for this engine: placeholders, quoting, column types. */
export interface SqlFlavor {
  /** Placeholder for the n-th parameter, 1-based: `?` or `$1`. */
  param(n: number): string;
  quoteIdentifier(name: string): string;
  readonly types: { readonly text: string; readonly integer: string; readonly timestamp: string };
  /** How long a transaction may wait for a lock, where the engine can say so per transaction (PostgreSQL): the statement, and the error code of a wait that ran out. */
  readonly lockTimeout?: { readonly set: (ms: number) => string; readonly code: string };
  /**
   * A statement that, run first in a transaction, lets its COMMIT return before the commit is on disk while
   * keeping it atomic (PostgreSQL: SET LOCAL synchronous_commit = off). For batches, which commit their
   * checkpoint with their rows: a crash of the server may lose the last batches, never one without its checkpoint.
   */
  readonly relaxedCommit?: string;
  /**
   * A statement that fails when the first value `query` returns is not true (no row, NULL, false, 0), and does
   * nothing otherwise: a migration's `-- cairn:assert`, run first in its transaction or batch (source/assertions.ts).
   */
  assertion(query: string): string;
}

/** A transaction `Driver.transaction` opened: its statements, one at a time. */
export interface Transaction {
  /** Rows of a reading statement; for a writing one, an empty array. Throws StatementError (index 0). */
  query<Row = Record<string, unknown>>(command: SqlCommand): Promise<Row[]>;
}

export interface LockOptions {
  /** How long to wait for a lock another process holds before failing. */
  readonly timeoutMs: number;
  /** Who we are, shown to anyone who has to wait for us. */
  readonly owner: string;
  /** Told about anything worth a warning, e.g. a stale lock taken over. */
  readonly onNotice?: (message: string) => void;
  /** Stop waiting (Ctrl-C): the wait ends with INTERRUPTED. */
  readonly signal?: AbortSignal | undefined;
}

export interface HeldLock {
  release(): Promise<void>;
}

export interface SnapshotOptions {
  /** Tables to leave out: Cairn's own history and lock tables. */
  readonly exclude: readonly string[];
}

export interface Driver {
  readonly capabilities: Capabilities;
  readonly flavor: SqlFlavor;
  /** Where this driver points, safe to print (no password). */
  readonly target: string;
  /** Rows of a reading statement; for a writing one, an empty array. */
  query<Row = Record<string, unknown>>(command: SqlCommand): Promise<Row[]>;
  /** Runs commands as one unit: all commit or none do. Throws StatementError naming the failing index. */
  atomic(commands: readonly AtomicCommand[]): Promise<void>;
  /**
   * Runs `work` in one interactive transaction on this connection, for units whose
   * statements are only known as they run (a TypeScript migration, one of its batches):
   * `work` sends them through the Transaction it is given; the transaction commits when
   * `work` resolves and rolls back when it throws (the error is rethrown). Absent where the
   * engine has no interactive transactions (D1, `batchOnlyAtomicity`): `atomic`'s batch is the unit there.
   */
  transaction?<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
  tableExists(table: string): Promise<boolean>;
  /**
   * The tables that hold the user's data, sorted: not the engine's own, not an
   * extension's, not the `exclude`d ones (Cairn's history and lock, wrangler's).
   * Schema-qualified where the engine has schemas and the table is not in the default one.
   */
  userTables(options: SnapshotOptions): Promise<string[]>;
  /** The schema as a normalized, comparable snapshot (tables, columns, keys, indexes, views, …). */
  snapshot(options: SnapshotOptions): Promise<Snapshot>;
  /**
   * SQL that recreates the schema on an empty database: no data, no `exclude`d
   * tables, one statement per object, a blank line between. Deterministic: the
   * same schema gives byte-identical text, so it diffs well in version control.
   */
  dump(options: SnapshotOptions): Promise<string>;
  /** Takes the migration lock for `table`'s history, waiting up to timeoutMs. Throws LOCK_TIMEOUT. */
  lock(table: string, options: LockOptions): Promise<HeldLock>;
  /** Who holds the migration lock for `table`'s history right now (a stale holder does not count), without taking it; absent where it cannot be told. */
  lockHolder?(table: string): Promise<string | null>;
  /**
   * Cancels the statement running on this connection right now, if any (from
   * outside it: a second connection), and the rest of the atomic unit in
   * progress, so that it fails and its transaction rolls back. The next
   * `atomic` call runs normally (e.g. recording the failure). Absent where a
   * statement cannot be stopped from outside (SQLite runs it synchronously):
   * an interrupt then waits for the step to end.
   */
  cancel?(): Promise<void>;
  close(): Promise<void>;
  /** Names of the schemas matching a LIKE pattern (`tenant_%`), sorted: for schema-per-tenant fleets. Absent where the database has no schemas. */
  schemas?(like: string): Promise<string[]>;
  /**
   * Point-in-time history the engine keeps itself (remote D1's Time Travel): a bookmark before a run, and a restore of the
   * whole database to it that returns the bookmark undoing it. Absent where the engine has none.
   */
  readonly timeTravel?: {
    bookmark(): Promise<string>;
    restore(bookmark: string): Promise<{ readonly bookmark: string; readonly previous: string }>;
  };
  /** Saving and restoring tables' rows, for backups before destructive migrations. A driver without it cannot back up. */
  readonly backup?: BackupSupport;
}

/** A column as a backup saves it: its name and the engine's own spelling of its type. */
export interface BackupColumn {
  readonly name: string;
  readonly type: string;
}

/** A table as it is now: what restore compares the saved columns with. */
export interface TableShape {
  readonly columns: readonly BackupColumn[];
  /** Columns of the primary key, or else of a unique key; empty when the table has neither. */
  readonly key: readonly string[];
}

/** What a driver saved of one table. JSON-safe: it goes into the backup's manifest. */
export interface SavedTable extends TableShape {
  /** The table as the migration names it. */
  readonly table: string;
  readonly rows: number;
  /** Statements that recreate the table (with its keys and indexes) as it was. */
  readonly definition: readonly string[];
  /** The data file, relative to the backup directory. */
  readonly file: string;
}

/** How restore puts one table's rows back (decided by core from the table's shape now). */
export type RestoreAction =
  /** The table is gone: recreate it from the saved definition and fill it. */
  | { readonly kind: 'recreate' }
  /**
   * Same columns and a key: insert the saved rows whose key is not there; in
   * the rows whose key is there, set each `fill` column from the saved row
   * where it is NULL now and not NULL in the backup (`overwrite`: wherever
   * it differs from the saved value).
   */
  | { readonly kind: 'missing-rows'; readonly key: readonly string[]; readonly fill: readonly string[]; readonly overwrite: boolean }
  /** Into a new table `into` with the saved columns, all saved rows. */
  | { readonly kind: 'side-table'; readonly into: string };

export interface BackupSupport {
  /** How the data files are written (recorded in the manifest; restore refuses another format). */
  readonly format: string;
  /** The table's columns and key now, or null when it does not exist. */
  describe(table: string): Promise<TableShape | null>;
  /** Rows in the table now, or null when it does not exist. */
  count(table: string): Promise<number | null>;
  /** Copies the rows of `tables` (which exist) into files in `dir`, all from one consistent snapshot. */
  save(tables: readonly string[], dir: string): Promise<SavedTable[]>;
  /** Puts saved rows back in one transaction; returns, for each request, how many rows it inserted and how many it filled per column. */
  restore(dir: string, requests: readonly { readonly saved: SavedTable; readonly action: RestoreAction }[]): Promise<RestoreCount[]>;
}

export interface RestoreCount {
  readonly inserted: number;
  /** Rows whose column was set from the backup, by column (missing-rows only). */
  readonly filled: Readonly<Record<string, number>>;
}

/**
 * The UPDATEs that fill columns of `target` from `source` (the saved rows) by key, one per
 * column so that each reports its own count. UPDATE … FROM, a join (not a subquery per row,
 * which is quadratic on an unindexed copy): SQL both SQLite (3.33+) and PostgreSQL read.
 */
export function fillStatements(target: string, source: string, action: Extract<RestoreAction, { kind: 'missing-rows' }>, q: (name: string) => string): { column: string; sql: string }[] {
  const match = action.key.map((k) => `s.${q(k)} = ${target}.${q(k)}`).join(' AND ');
  return action.fill.map((column) => {
    const c = q(column);
    const when = action.overwrite ? `s.${c} IS DISTINCT FROM ${target}.${c}` : `${target}.${c} IS NULL AND s.${c} IS NOT NULL`;
    return { column, sql: `UPDATE ${target} SET ${c} = s.${c} FROM ${source} s WHERE ${match} AND ${when}` };
  });
}

/** A statement the database rejected, with which one it was. */
export class StatementError extends Error {
  constructor(
    /** Index into the commands given to `atomic` (0 for a single query). */
    readonly index: number,
    message: string,
    /** 1-based character position inside the statement, where the engine reports one. */
    readonly position: number | undefined,
    /** The engine's own error code (SQLITE_ERROR, 42P01, …). */
    readonly engineCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StatementError';
  }
}
