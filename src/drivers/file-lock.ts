import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CairnError } from '../errors.js';
import { processAlive } from './lock-holder.js';

/**
 * A lock between processes on one machine: a file created exclusively (O_EXCL),
 * holding `pid@host`. A holder that died (its pid is gone on this host) left a
 * stale file, which the next taker removes; a live holder is waited for, up to
 * `timeoutMs`. Hand-written rather than proper-lockfile, whose staleness is an
 * mtime it keeps touching: a long build would need the timer, a dead pid is certain.
 */
export async function acquireFileLock(path: string, options: { readonly timeoutMs: number; readonly what: string }): Promise<() => void> {
  const me = `${process.pid}@${hostname()}`;
  const deadline = Date.now() + options.timeoutMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, me);
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readHolder(path);
    if (holder && holder.host === hostname() && !processAlive(holder.pid)) {
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new CairnError('LOCK_TIMEOUT', `timed out after ${Math.round(options.timeoutMs / 1000)}s waiting for ${options.what} (held by ${holder ? `${holder.pid}@${holder.host}` : 'another process'})`, {
        hint: `if no such process is running, delete ${path}`,
        details: { lock: path },
      });
    }
    await sleep(wait);
  }
}

function readHolder(path: string): { pid: number; host: string } | null {
  try {
    const [pid, host] = readFileSync(path, 'utf8').split('@');
    // Written in one call right after the create: an empty file is a holder still writing it.
    return pid && host ? { pid: Number(pid), host } : null;
  } catch {
    return null;
  }
}
