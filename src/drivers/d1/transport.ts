import type { SqlCommand } from '../types.js';

/**
 * How the D1 driver reaches a database. D1 has no interactive transactions:
 * the only unit is a batch, so that is the whole interface. Local (miniflare)
 * and remote (the HTTP API) implement it; the driver above does not know which.
 */
export interface D1Transport {
  /**
   * Runs `statements` as one D1 batch: all commit or none do. Returns each
   * statement's rows. Throws D1QueryError when D1 rejects the batch, and a
   * CairnError (CONNECTION) when D1 cannot be reached or refuses us.
   */
  batch(statements: readonly SqlCommand[], options?: BatchOptions): Promise<Row[][]>;
  close(): Promise<void>;
  /** D1 Time Travel (remote only): the database's point-in-time history. */
  readonly timeTravel?: TimeTravel;
}

/** D1 Time Travel: a bookmark names a moment of the database (the last 30 days, 7 on the free plan). */
export interface TimeTravel {
  /** The bookmark of the database as it is now. */
  bookmark(): Promise<string>;
  /** Puts the whole database back to `bookmark`; `previous` names the state just before, to undo it. */
  restore(bookmark: string): Promise<{ readonly bookmark: string; readonly previous: string }>;
}

export type Row = Record<string, unknown>;

export interface BatchOptions {
  /** How long a local database busy with another process's write may keep us waiting (default 5 s). */
  readonly busyTimeoutMs?: number;
}

/**
 * D1 said no, in its own words (`D1_ERROR: no such table: x: SQLITE_ERROR`).
 * D1 does not say which statement of a batch failed; the driver finds out.
 */
export class D1QueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'D1QueryError';
  }
}

/** What D1's message text tells beyond itself: SQLite's result code and, for some errors, where in the statement. */
export function describeD1Error(message: string): { engineCode: string | undefined; position: number | undefined } {
  // "...: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_FOREIGNKEY)" — prefer the extended code, as better-sqlite3 reports it.
  const code = /\b(SQLITE_[A-Z_]+)(?: \(extended: (SQLITE_[A-Z_]+)\))?\s*$/.exec(message);
  // "no such column: nme at offset 7: SQLITE_ERROR": a 0-based character offset into the statement.
  const offset = / at offset (\d+)\b/.exec(message);
  return { engineCode: code ? (code[2] ?? code[1]) : undefined, position: offset ? Number(offset[1]) + 1 : undefined };
}

/**
 * True for "database is locked": another process on this machine is writing to
 * the same local D1 file. When the lock bites while workerd itself commits, D1
 * answers only "internal error; reference = …" (the SQLITE_BUSY goes to
 * workerd's log); nothing of that batch was committed, so it is safe to retry.
 */
export function isBusy(message: string): boolean {
  return /\bSQLITE_BUSY\b|\binternal error; reference = /.test(message);
}
