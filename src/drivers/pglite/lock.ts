import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { CairnError } from '../../errors.js';
import type { LockOptions } from '../types.js';
import { deadHolderReason, describeHolder, pauseBeforeRetry, throwIfInterrupted } from '../lock-holder.js';

/**
 * PGlite is PostgreSQL in this process, without a postmaster: it does nothing
 * to stop a second process from opening the same data directory, and when two
 * do, one silently loses its writes (tried: both open, both commit, the later
 * close wins). So a data directory gets an exclusive lock file beside it,
 * `<dir>.cairn.lock`, created with O_EXCL and held from before PGlite opens
 * the directory until after it has closed it.
 *
 * The file names its holder (pid, host, owner). A holder on this host whose
 * pid is gone is stale: the lock is taken over and the takeover reported.
 * A holder on another host (a shared disk) is never assumed dead.
 */
interface Holder {
  readonly owner: string;
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

export interface DirLock {
  /** Removes the lock file if it is still ours. Synchronous, so it can run at process exit. */
  release(): void;
}

/** A lock file that is still empty this long after it was made belongs to a process that died between creating and writing it. */
const UNWRITTEN_GRACE_MS = 10_000;

export function lockFileFor(dataDir: string): string {
  return `${dataDir.replace(/[/\\]+$/, '')}.cairn.lock`;
}

export async function acquireDirLock(dataDir: string, display: string, options: LockOptions): Promise<DirLock> {
  const path = lockFileFor(dataDir);
  const me: Holder = { owner: options.owner, pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const text = JSON.stringify(me);
  const started = Date.now();
  let holder: Holder | null = null;
  for (let attempt = 0; ; attempt++) {
    if (create(path, text)) {
      const release = () => {
        if (readText(path) === text) rmSync(path, { force: true });
        process.removeListener('exit', release);
      };
      // A process that exits without closing (an uncaught error) should not leave the lock for the next run to clean up.
      process.once('exit', release);
      return { release };
    }
    // Null when it was released between our attempt and our look: the next attempt takes it.
    const seen = readText(path);
    holder = seen === null ? holder : parse(seen);
    const stale = seen === null ? null : staleReason(holder, path);
    if (stale && seen !== null && takeOver(path, seen)) {
      options.onNotice?.(`took over a stale lock on ${display} held by ${holder ? describeHolder(holder) : 'an unknown process'}: ${stale}`);
      continue;
    }
    if (Date.now() - started >= options.timeoutMs) {
      const waited = ((Date.now() - started) / 1000).toFixed(1);
      throw new CairnError('LOCK_TIMEOUT', `another process has the PGlite database ${display} open${holder ? `: ${describeHolder(holder)}` : ''} (waited ${waited} s)`, {
        hint: `a PGlite data directory serves one process at a time; wait for it to finish, or retry with a longer --lock-timeout. If no Cairn process is running${holder ? ` (pid ${holder.pid} on ${holder.host})` : ''}, delete ${path}`,
        details: holder ? { holder: holder.owner, pid: holder.pid, host: holder.host, since: holder.since, lockFile: path } : { lockFile: path },
      });
    }
    throwIfInterrupted(options.signal);
    await pauseBeforeRetry(attempt);
  }
}

/** O_EXCL: exactly one process can create the file. */
function create(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new CairnError('CONNECTION', `cannot create the lock file ${path}: ${(error as Error).message}`, {
      hint: 'Cairn locks a PGlite data directory with a file beside it: check that you may write to that directory',
    });
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Removes a stale lock file, but only the one we judged: it is first renamed
 * aside (atomic), and if what was renamed is no longer what we read (another
 * process took over and locked in between), it is linked back into place.
 */
function takeOver(path: string, seen: string): boolean {
  const aside = `${path}.${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    renameSync(path, aside);
  } catch {
    return false; // someone else moved it first
  }
  if (readText(aside) === seen) {
    unlinkSync(aside);
    return true;
  }
  try {
    linkSync(aside, path);
  } catch {
    // the path was taken again meanwhile; that holder wins
  }
  unlinkSync(aside);
  return false;
}

function staleReason(holder: Holder | null, path: string): string | null {
  if (!holder) {
    const age = ageMs(path);
    return age !== null && age > UNWRITTEN_GRACE_MS ? 'the lock file is empty or unreadable' : null;
  }
  return deadHolderReason(holder);
}


function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function ageMs(path: string): number | null {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

function parse(text: string): Holder | null {
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    return typeof value.pid === 'number' && typeof value.host === 'string' ? { owner: String(value.owner ?? 'unknown'), pid: value.pid, host: value.host, since: String(value.since ?? '?') } : null;
  } catch {
    return null;
  }
}

