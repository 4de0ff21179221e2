import { CairnError } from '../errors.js';

/**
 * Who holds a migration lock, as every lock that stores its holder (SQLite's
 * and D1's lock row, PGlite's lock file) records and prints it.
 */
export interface LockHolder {
  /** `user@host`, as the holder named itself. */
  readonly owner: string;
  readonly pid: number;
  readonly host: string;
  /** When it took the lock, as stored. */
  readonly since: string;
}

/** True while `pid` runs on this host (EPERM: it runs, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `me@box (pid 4242 on box, since 2026-11-22T01:00:00.000Z)`: what a waiting user is told. */
export function describeHolder(holder: LockHolder): string {
  return `${holder.owner.replace(/ #.*$/, '')} (pid ${holder.pid} on ${holder.host}, since ${holder.since})`;
}

/** A lock table's row (SQLite's and D1's `<table>_lock`): who, since when, until when (epoch ms). */
export interface LockRow {
  readonly owner: string;
  readonly pid: number;
  readonly host: string;
  readonly acquired_at: string;
  readonly expires_at: number;
}

export function describeLockRow(row: LockRow): string {
  return describeHolder({ owner: row.owner, pid: row.pid, host: row.host, since: String(row.acquired_at) });
}

/** Waiting for the lock ends at once when the run is interrupted (Ctrl-C). */
export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CairnError('INTERRUPTED', 'interrupted while waiting for the migration lock; nothing was applied', { details: { waitingForLock: true } });
}
