import { createHash } from 'node:crypto';
import type pg from 'pg';
import { CairnError } from '../../errors.js';
import { lockHeld, pauseBeforeRetry, throwIfInterrupted } from '../lock-holder.js';
import type { HeldLock, LockOptions } from '../types.js';

/**
 * A session advisory lock on the driver's pinned connection. If the process
 * dies, the server ends the session and the lock goes with it: no stale locks.
 * We poll pg_try_advisory_lock rather than block in pg_advisory_lock so that
 * on timeout we can say who holds it.
 */
export async function acquireAdvisoryLock(client: pg.Client, table: string, options: LockOptions): Promise<HeldLock> {
  const key = lockKey(table);
  const deadline = Date.now() + options.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const { rows } = await client.query('SELECT pg_try_advisory_lock($1::bigint) AS locked', [key]);
    if (rows[0]?.locked === true) {
      return { release: async () => void (await client.query('SELECT pg_advisory_unlock($1::bigint)', [key])) };
    }
    if (Date.now() >= deadline) throw await lockTimeout(client, key, Date.now() - (deadline - options.timeoutMs));
    throwIfInterrupted(options.signal);
    await pauseBeforeRetry(attempt);
  }
}

/** A stable 63-bit key per tracking table, so two histories in one database do not block each other. */
export function lockKey(table: string): string {
  return BigInt.asIntN(64, BigInt(`0x${createHash('sha256').update(`cairn:${table}`).digest('hex').slice(0, 16)}`)).toString();
}

/** Who holds the advisory lock of `table`'s history now, described; null when nobody does. */
export async function advisoryLockHolder(client: pg.Client, table: string): Promise<string | null> {
  const holder = await findHolder(client, lockKey(table));
  return holder ? describe(holder) : null;
}

interface Holder {
  pid: number;
  application_name: string;
  client_addr: string | null;
  backend_start: Date;
  state: string;
}

function describe(holder: Holder): string {
  return `${holder.application_name || 'a session'} (server pid ${holder.pid}${holder.client_addr ? ` from ${holder.client_addr}` : ''}, connected since ${holder.backend_start.toISOString()})`;
}

async function findHolder(client: pg.Client, key: string): Promise<Holder | undefined> {
  // pg_locks shows a bigint advisory key as two halves: classid (high) and objid (low).
  const value = BigInt.asUintN(64, BigInt(key));
  const { rows } = await client.query(
    `SELECT a.pid, a.application_name, a.client_addr::text AS client_addr, a.backend_start, a.state
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 1`,
    [(value >> 32n).toString(), (value & 0xffffffffn).toString()],
  );
  return rows[0] as Holder | undefined;
}

async function lockTimeout(client: pg.Client, key: string, waitedMs: number): Promise<CairnError> {
  const holder = await findHolder(client, key);
  const who = holder ? describe(holder) : 'another session';
  return lockHeld(
    who,
    waitedMs,
    holder ? `wait for it to finish or retry with a longer --lock-timeout; if that session is stuck, end it with SELECT pg_terminate_backend(${holder.pid})` : 'retry with a longer --lock-timeout',
    holder ? { pid: holder.pid, applicationName: holder.application_name, state: holder.state } : {},
  );
}
