import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CairnError } from '../../errors.js';
import type { LockOptions, SqlCommand } from '../types.js';
import { D1QueryError, isBusy, type BatchOptions, type Row } from './transport.js';
import { createLockTable, deadHolderReason, describeLockRow, holderGone, LOCK_ROW_COLUMNS, lockHeld, lockToken, pauseBeforeRetry, throwIfInterrupted, type LockRow } from '../lock-holder.js';
import { quoteIdentifier } from '../../sql/quote.js';

/**
 * D1 has neither advisory locks nor BEGIN IMMEDIATE, and several machines may
 * migrate one remote database, so the lock is a row with an owner and an
 * expiry, taken by one batch (D1 runs batches one at a time): the upsert
 * replaces the row only when it is free or expired. The batch reads the row
 * before and after, so we learn atomically whether we got it and whom we
 * replaced. Times are the database's clock, so machines with skewed clocks
 * agree on expiry. Every migration batch refreshes the row (`heartbeat`).
 *
 * A holder on this host whose process is gone is taken over at once. For a
 * local database (its files are on this host) the host name and pid say so;
 * for a remote one two machines can share a host name, so the owner carries
 * the holder's identity (machine id, boot, pid, process start time:
 * lock-holder.ts) and only a holder that ran on this very machine and is
 * certainly gone is replaced early (after a kill -9, say); otherwise expiry frees it.
 */
export const D1_LOCK_TTL_MS = 5 * 60 * 1000;
const NOW = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";
const ISO_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

type Batch = (statements: readonly SqlCommand[], options?: BatchOptions) => Promise<Row[][]>;

interface D1LockRow extends LockRow {
  now: number;
}

export interface D1Lock {
  /** The statement that extends the lock; the driver appends it to every batch. */
  heartbeat(): SqlCommand;
  release(): Promise<void>;
}

export interface D1LockOptions extends LockOptions {
  /** True when the database's files are on this host, so a dead pid here frees the lock. */
  readonly local: boolean;
}

export async function acquireD1Lock(batch: Batch, lockTable: string, options: D1LockOptions): Promise<D1Lock> {
  const table = quoteIdentifier(lockTable);
  const token = lockToken(options.owner);
  const select = `SELECT ${LOCK_ROW_COLUMNS}, ${NOW} AS now FROM ${table} WHERE id = 1`;
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  let holder: D1LockRow | undefined;
  let deadOwner: string | null = null;
  let deadReason = '';
  let transientFailures = 0;
  for (let attempt = 0; ; attempt++) {
    let results: Row[][];
    let busy = false;
    try {
      results = await batch(
        [
          { sql: createLockTable(table) },
          { sql: select },
          {
            sql: `INSERT INTO ${table} (id, owner, pid, host, acquired_at, expires_at) VALUES (1, ?, ?, ?, ${ISO_NOW}, ${NOW} + ${D1_LOCK_TTL_MS})
ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, pid = excluded.pid, host = excluded.host, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
WHERE ${table}.expires_at < ${NOW} OR ${table}.owner = ?`,
            params: [token, process.pid, hostname(), deadOwner],
          },
          { sql: select },
        ],
        // Busy with another process's write means held, for now: wait in this loop, not in the transport.
        { busyTimeoutMs: Math.max(0, Math.min(deadline - Date.now(), 1000)) },
      );
    } catch (error) {
      // A remote API's passing failure: the same batch again (same token), which is safe even if the first one took the lock.
      if (isTransient(error) && ++transientFailures <= 3 && Date.now() < deadline) {
        await sleep(Math.min(250 * 2 ** Math.min(attempt, 4), 2000));
        continue;
      }
      if (!(error instanceof D1QueryError && isBusy(error.message))) throw error;
      busy = true; // another process is writing (maybe inside its migration step): a plain read can still name the holder
      results = [[], [], [], await batch([{ sql: select }]).then(([rows]) => rows ?? [], () => [])];
    }
    const [, before, , after] = results;
    const previous = before?.[0] as D1LockRow | undefined;
    holder = (after?.[0] as D1LockRow | undefined) ?? (busy ? holder : undefined);
    if (holder?.owner === token) {
      if (previous) {
        const why = previous.owner === deadOwner ? `${deadReason}; taken over at once, not waiting for it to expire at ${new Date(previous.expires_at).toISOString()}` : `it expired at ${new Date(previous.expires_at).toISOString()}`;
        options.onNotice?.(`took over a stale migration lock held by ${describeLockRow(previous)}: ${why}`);
      }
      return {
        heartbeat: () => ({ sql: `UPDATE ${table} SET expires_at = ${NOW} + ${D1_LOCK_TTL_MS} WHERE id = 1 AND owner = ?`, params: [token] }),
        // Idempotent, so re-sent on a passing failure: a lock left behind would hold up the next run for its whole lifetime.
        release: async () => {
          for (let tries = 1; ; tries++) {
            try {
              return void (await batch([{ sql: `DELETE FROM ${table} WHERE id = 1 AND owner = ?`, params: [token] }]));
            } catch (error) {
              if (!isTransient(error) || tries >= 4) throw error;
              await sleep(250 * 2 ** tries);
            }
          }
        },
      };
    }
    const gone = !holder || holder.owner === deadOwner ? null : ((options.local ? deadHolderReason(holder) : null) ?? (holder.host === hostname() ? holderGone(holder.owner) : null));
    if (holder && gone) {
      deadOwner = holder.owner; // replace exactly that holder, and only if it is still the one there
      deadReason = gone;
      continue;
    }
    if (Date.now() >= deadline) {
      throw lockHeld(
        holder ? describeLockRow(holder) : null,
        Date.now() - started,
        holder
          ? `wait for it to finish, or retry with a longer --lock-timeout; if that process is gone, the lock frees itself at ${new Date(holder.expires_at).toISOString()} (at once, when it ran on this machine)`
          : 'retry with a longer --lock-timeout',
        holder ? { holder: holder.owner.replace(/ #.*$/, ''), pid: holder.pid, host: holder.host, since: holder.acquired_at } : {},
      );
    }
    throwIfInterrupted(options.signal);
    await pauseBeforeRetry(attempt);
  }
}

/** A failure the database's transport marks as passing (a remote API's 429 or 5xx, a dropped connection). */
function isTransient(error: unknown): boolean {
  return error instanceof CairnError && error.details.transient === true;
}
