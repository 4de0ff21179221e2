import { createHash, createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CairnError } from '../../errors.js';
import { loadOptional } from '../optional.js';
import type { SqlCommand } from '../types.js';
import { D1QueryError, isBusy, type BatchOptions, type D1Transport, type Row } from './transport.js';

/**
 * A local D1 through miniflare: the real workerd D1, on the same files that
 * `wrangler dev` and `wrangler d1 execute --local` use. Wrangler opens
 * `<persist>/v3/d1` with the binding's database_id (its preview_database_id
 * when set) as the object name, and so do we, so both see one database.
 *
 * Statements reach D1 through a tiny worker inside workerd that calls
 * `env.DB.batch()`: one HTTP round trip per batch, about half what
 * miniflare's binding proxy costs (measured: 4 ms against 8 ms a batch).
 */
const WORKER = `export default {
  async fetch(request, env) {
    const statements = await request.json();
    try {
      const results = await env.DB.batch(statements.map((s) => env.DB.prepare(s.sql).bind(...s.params)));
      return Response.json({ results: results.map((r) => r.results ?? []) });
    } catch (error) {
      return Response.json({ error: String(error && error.message ? error.message : error) });
    }
  },
};`;

/** The directory under wrangler's --persist-to that holds D1 databases. */
export function d1PersistPath(persistDir: string): string {
  return join(persistDir, 'v3', 'd1');
}

/**
 * The SQLite file miniflare keeps a local D1 in: the Durable Object id it derives
 * from the database id (miniflare's durableObjectNamespaceIdFromName), under the
 * D1 object's directory. Used to tell whether the database exists yet.
 */
export function localD1File(persistDir: string, databaseId: string): string {
  const uniqueKey = 'miniflare-D1DatabaseObject';
  const key = createHash('sha256').update(uniqueKey).digest();
  const nameHmac = createHmac('sha256', key).update(databaseId).digest().subarray(0, 16);
  const hmac = createHmac('sha256', key).update(nameHmac).digest().subarray(0, 16);
  return join(d1PersistPath(persistDir), uniqueKey, `${Buffer.concat([nameHmac, hmac]).toString('hex')}.sqlite`);
}

export interface LocalD1Options {
  /** False for read-only commands: a database that does not exist yet reads as empty and is not created. */
  readonly create: boolean;
}

export async function openLocalD1(databaseId: string, persistDir: string, display: string, options: LocalD1Options): Promise<D1Transport> {
  // Like the SQLite driver's in-memory stand-in: an empty throw-away D1, so `status` creates nothing.
  const scratch = !options.create && !existsSync(localD1File(persistDir, databaseId)) ? mkdtempSync(join(tmpdir(), 'cairn-d1-empty-')) : null;
  const { Miniflare } = await loadOptional('miniflare', 'a local D1 database', () => import('miniflare'));
  let mf: InstanceType<typeof Miniflare>;
  try {
    mf = await start(() => new Miniflare({ modules: true, script: WORKER, d1Databases: { DB: databaseId }, d1Persist: d1PersistPath(scratch ?? persistDir) }));
  } catch (error) {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    throw new CairnError('CONNECTION', `cannot start a local D1 (miniflare) for ${display}: ${(error as Error).message}`, {
      hint: 'miniflare runs workerd, which needs a supported OS and CPU; check that `npx wrangler d1 execute <binding> --local --command "SELECT 1"` works here',
      cause: error,
    });
  }

  async function once(statements: readonly SqlCommand[]): Promise<Row[][]> {
    const body = JSON.stringify(statements.map((s) => ({ sql: s.sql, params: s.params ?? [] })));
    const response = await mf.dispatchFetch('http://d1.local/', { method: 'POST', body });
    const answer = (await response.json()) as { results?: Row[][]; error?: string };
    if (answer.error !== undefined) throw new D1QueryError(answer.error);
    return answer.results ?? [];
  }

  return {
    async batch(statements, batchOptions: BatchOptions = {}) {
      // Another process writing the same file (wrangler dev, a second cairn) makes D1 fail at once with
      // SQLITE_BUSY, and the batch is rolled back whole: wait and retry, like SQLite's busy timeout.
      const deadline = Date.now() + (batchOptions.busyTimeoutMs ?? 5000);
      for (let attempt = 0; ; attempt++) {
        try {
          return await once(statements);
        } catch (error) {
          // Usually a D1 error; when the lock bites while workerd commits, an internal error that says SQLITE_BUSY.
          if (!isBusy(error instanceof Error ? error.message : String(error)) || Date.now() >= deadline) throw error;
          await sleep(Math.min(5 + attempt * 5, 50) + Math.random() * 10);
        }
      }
    },
    async close() {
      await mf.dispose();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/**
 * workerd fails to start when another process holds the database file's write
 * lock at that moment (a second `cairn`, `wrangler dev`): try again for a few
 * seconds, as a busy batch is.
 */
async function start<T extends { ready: Promise<unknown>; dispose(): Promise<void> }>(create: () => T): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (let attempt = 0; ; attempt++) {
    const mf = create();
    try {
      await mf.ready;
      return mf;
    } catch (error) {
      await mf.dispose().catch(() => undefined);
      if (Date.now() >= deadline) throw error;
      await sleep(50 + attempt * 50 + Math.random() * 50);
    }
  }
}
