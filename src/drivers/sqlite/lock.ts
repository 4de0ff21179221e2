import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import { CairnError } from '../../core/errors.js';
import type { LockOptions, SqlCommand } from '../types.js';

/**
 * SQLite has no advisory locks, so the lock is a row, written under
 * BEGIN IMMEDIATE (SQLite's own write lock) so that two processes can never
 * both see it free. The row names its holder and expires; every migration
 * step refreshes it in the step's own transaction (the `heartbeat`). A row
 * whose holder is a dead process on this host, or whose expiry has passed, is
 * stale: it is taken over, and the takeover is reported, never silent.
 */
export const LOCK_TTL_MS = 5 * 60 * 1000;

interface LockRow {
  owner: string;
  pid: number;
  host: string;
  acquired_at: string;
  expires_at: number;
}

export interface SqliteLock {
  /** The statement that extends the lock; run it inside each step's transaction. */
  heartbeat(): SqlCommand;
  release(): void;
}

export async function acquireSqliteLock(db: Database.Database, lockTable: string, options: LockOptions): Promise<SqliteLock> {
  const table = `"${lockTable.replace(/"/g, '""')}"`;
  const token = `${options.owner} #${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const deadline = Date.now() + options.timeoutMs;
  let holder: LockRow | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      db.exec('BEGIN IMMEDIATE');
      try {
        db.exec(`CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, acquired_at TEXT NOT NULL, expires_at INTEGER NOT NULL)`);
        holder = db.prepare(`SELECT owner, pid, host, acquired_at, expires_at FROM ${table} WHERE id = 1`).get() as LockRow | undefined;
        const stale = holder ? staleReason(holder) : null;
        if (!holder || stale) {
          db.prepare(`INSERT OR REPLACE INTO ${table} (id, owner, pid, host, acquired_at, expires_at) VALUES (1, ?, ?, ?, ?, ?)`)
            .run(token, process.pid, hostname(), new Date().toISOString(), Date.now() + LOCK_TTL_MS);
          db.exec('COMMIT');
          if (holder && stale) options.onNotice?.(`took over a stale migration lock held by ${describe(holder)}: ${stale}`);
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
    }
    if (Date.now() >= deadline) {
      throw new CairnError('LOCK_TIMEOUT', `another migration holds the lock on this database${holder ? `: ${describe(holder)}` : ''} (waited ${Math.round(options.timeoutMs / 1000)} s)`, {
        hint: holder
          ? `wait for it to finish, or retry with a longer --lock-timeout; the lock expires by itself at ${new Date(holder.expires_at).toISOString()} if its holder is gone`
          : 'another process is writing to the database; retry with a longer --lock-timeout',
        details: holder ? { holder: holder.owner, pid: holder.pid, host: holder.host, since: holder.acquired_at } : {},
      });
    }
    await sleep(Math.min(50 + attempt * 25, 250) + Math.random() * 50);
  }
}

function staleReason(row: LockRow): string | null {
  if (row.expires_at < Date.now()) return `it expired at ${new Date(row.expires_at).toISOString()}`;
  if (row.host === hostname() && !processAlive(row.pid)) return `process ${row.pid} on this host is no longer running`;
  return null;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describe(row: LockRow): string {
  return `${row.owner.replace(/ #.*$/, '')} (pid ${row.pid} on ${row.host}, since ${row.acquired_at})`;
}
