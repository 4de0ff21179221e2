import { hostname } from 'node:os';
import type Database from 'better-sqlite3';
import type { LockOptions, SqlCommand } from '../types.js';
import { createLockTable, deadHolderReason, describeLockRow, holderGone, LOCK_ROW_COLUMNS, lockHeld, lockToken, pauseBeforeRetry, throwIfInterrupted, type LockRow } from '../lock-holder.js';
import { quoteIdentifier } from '../../sql/quote.js';

/**
 * SQLite has no advisory locks, so the lock is a row, written under
 * BEGIN IMMEDIATE (SQLite's own write lock) so that two processes can never
 * both see it free. The row names its holder and expires; every migration
 * step refreshes it in the step's own transaction (the `heartbeat`). A row
 * whose holder is a dead process on this host, or whose expiry has passed, is
 * stale: it is taken over, and the takeover is reported, never silent.
 */
export const LOCK_TTL_MS = 5 * 60 * 1000;


export interface SqliteLock {
  /** The statement that extends the lock; run it inside each step's transaction. */
  heartbeat(): SqlCommand;
  release(): void;
}

export async function acquireSqliteLock(db: Database.Database, lockTable: string, options: LockOptions): Promise<SqliteLock> {
  const table = quoteIdentifier(lockTable);
  const token = lockToken(options.owner);
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const busyTimeout = db.pragma('busy_timeout', { simple: true }) as number;
  let holder: LockRow | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      // SQLite's own busy wait must not outlast our deadline: cap it for this attempt.
      db.pragma(`busy_timeout = ${Math.max(0, Math.min(deadline - Date.now(), 250))}`);
      db.exec('BEGIN IMMEDIATE');
      try {
        db.exec(createLockTable(table));
        holder = readRow(db, table);
        const stale = holder ? staleReason(holder) : null;
        if (!holder || stale) {
          db.prepare(`INSERT OR REPLACE INTO ${table} (id, owner, pid, host, acquired_at, expires_at) VALUES (1, ?, ?, ?, ?, ?)`)
            .run(token, process.pid, hostname(), new Date().toISOString(), Date.now() + LOCK_TTL_MS);
          db.exec('COMMIT');
          if (holder && stale) options.onNotice?.(`took over a stale migration lock held by ${describeLockRow(holder)}: ${stale}`);
          return {
            heartbeat: () => ({ sql: `UPDATE ${table} SET expires_at = ? WHERE id = 1 AND owner = ?`, params: [Date.now() + LOCK_TTL_MS, token] }),
            release: () => {
              if (db.open) db.prepare(`DELETE FROM ${table} WHERE id = 1 AND owner = ?`).run(token);
            },
          };
        }
        db.exec('ROLLBACK');
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    } catch (error) {
      // SQLITE_BUSY: another process is inside a migration step right now; that is a held lock too.
      if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
      // Its lock row was committed before the step began, so a plain read can still name it.
      holder = readHolder(db, table) ?? holder;
    } finally {
      db.pragma(`busy_timeout = ${busyTimeout}`);
    }
    if (Date.now() >= deadline) {
      throw lockHeld(
        holder ? describeLockRow(holder) : null,
        Date.now() - started,
        holder
          ? `wait for it to finish, or retry with a longer --lock-timeout; if that process is gone, the next run takes the lock over (from this host at once, from another host after ${new Date(holder.expires_at).toISOString()})`
          : 'another process is writing to the database; retry with a longer --lock-timeout',
        holder ? { holder: holder.owner, pid: holder.pid, host: holder.host, since: holder.acquired_at } : {},
      );
    }
    throwIfInterrupted(options.signal);
    await pauseBeforeRetry(attempt);
  }
}

/** The live holder of the lock row, described; null when free or stale. Reads only. */
export function sqliteLockHolder(db: Database.Database, lockTable: string): string | null {
  const holder = readHolder(db, quoteIdentifier(lockTable));
  return holder && !staleReason(holder) ? describeLockRow(holder) : null;
}

function readRow(db: Database.Database, table: string): LockRow | undefined {
  return db.prepare(`SELECT ${LOCK_ROW_COLUMNS} FROM ${table} WHERE id = 1`).get() as LockRow | undefined;
}

function readHolder(db: Database.Database, table: string): LockRow | undefined {
  try {
    return readRow(db, table);
  } catch {
    return undefined; // busy as well, or no lock table yet
  }
}

/**
 * On this host the process tells for sure: its pid is gone, or it now belongs to a process
 * started later than the holder (the identity in the owner; a pid can be reused), or the
 * machine has restarted since. Expiry is for holders on other hosts (a shared file).
 */
function staleReason(row: LockRow): string | null {
  if (row.host === hostname()) return deadHolderReason(row) ?? holderGone(row.owner);
  if (row.expires_at < Date.now()) return `it expired at ${new Date(row.expires_at).toISOString()}`;
  return null;
}


