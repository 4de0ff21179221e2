import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** The lock table SQLite and D1 keep: one row at most (id 1), naming its holder. */
export function createLockTable(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, acquired_at TEXT NOT NULL, expires_at INTEGER NOT NULL)`;
}

/** The columns of a `LockRow`, as a select list. */
export const LOCK_ROW_COLUMNS = 'owner, pid, host, acquired_at, expires_at';

/** What a lock row's owner says: `owner`, this process and a random tag, so a release or heartbeat touches only our own row. */
export function lockToken(owner: string): string {
  const identity = processIdentity();
  return `${owner} #${process.pid}-${Math.random().toString(36).slice(2, 8)}${identity ? ` id=${identity}` : ''}`;
}

export function describeLockRow(row: LockRow): string {
  return describeHolder({ owner: row.owner, pid: row.pid, host: row.host, since: String(row.acquired_at) });
}

/** Why a holder is stale for sure: its process is gone from this host. Null for a live one, or one on another host (whose pid says nothing here). */
export function deadHolderReason(holder: { readonly pid: number; readonly host: string }): string | null {
  return holder.host === hostname() && !processAlive(holder.pid) ? processGone(holder.pid) : null;
}

export function processGone(pid: number): string {
  return `process ${pid} on this host is no longer running`;
}

/** Between two tries for a held lock: a little longer each time, up to 250 ms, with jitter so waiters do not march in step. */
export async function pauseBeforeRetry(attempt: number): Promise<void> {
  await sleep(Math.min(50 + attempt * 25, 250) + Math.random() * 50);
}

/** LOCK_TIMEOUT: another migration held the lock for all of `--lock-timeout`. `holder` is described, null when unknown. */
export function lockHeld(holder: string | null, waitedMs: number, hint: string, details: Readonly<Record<string, unknown>>): CairnError {
  return new CairnError('LOCK_TIMEOUT', `another migration holds the lock on this database${holder ? `: ${holder}` : ''} (waited ${(waitedMs / 1000).toFixed(1)} s)`, { hint, details });
}

/** Waiting for the lock ends at once when the run is interrupted (Ctrl-C). */
export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CairnError('INTERRUPTED', 'interrupted while waiting for the migration lock; nothing was applied', { details: { waitingForLock: true } });
}

/**
 * Who exactly holds a lock, beyond a host name two machines can share: this
 * machine (`/etc/machine-id`), this boot (`boot_id`), the pid and the process's
 * start time (clock ticks since boot, `/proc/<pid>/stat`). Written into the lock
 * row's owner as ` id=<machine>/<boot>/<pid>/<ticks>`; null where there is no
 * /proc (then only expiry frees a remote lock).
 */
export function processIdentity(pid: number = process.pid): string | null {
  const machine = machineId();
  const boot = readText('/proc/sys/kernel/random/boot_id');
  const ticks = startTicks(pid);
  return machine && boot && ticks !== null ? `${machine}/${boot}/${pid}/${ticks}` : null;
}

/**
 * Why the holder named by `owner` (a lock row's owner with an ` id=` identity) is certainly gone, or null when it may
 * be running: it ran on this machine (same machine id) and this machine has restarted since, or its pid is no longer
 * running, or the pid now belongs to a process started at another time. Another machine, or no identity: null.
 */
export function holderGone(owner: string): string | null {
  const match = / id=([0-9a-f]+)\/([0-9a-f-]+)\/(\d+)\/(\d+)$/.exec(owner);
  if (!match) return null;
  const [, machine, boot, pidText, ticks] = match;
  if (machine !== machineId()) return null;
  const pid = Number(pidText);
  if (boot !== readText('/proc/sys/kernel/random/boot_id')) return `this machine has restarted since process ${pid} took it`;
  const now = startTicks(pid);
  if (now === null) return `process ${pid} on this machine is no longer running`;
  if (String(now) !== ticks) return `process ${pid} on this machine is no longer running (that pid now belongs to a process started later)`;
  return null;
}

function machineId(): string | null {
  return readText('/etc/machine-id') ?? readText('/var/lib/dbus/machine-id');
}

/** Field 22 of /proc/<pid>/stat (after the command name, which may hold spaces and parentheses). */
function startTicks(pid: number): number | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[19]);
  return Number.isFinite(ticks) ? ticks : null;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim() || null;
  } catch {
    return null;
  }
}
