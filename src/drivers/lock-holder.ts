import { readFileSync } from 'node:fs';
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
