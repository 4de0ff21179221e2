import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startD1ApiServer, type D1ApiServer } from './support/d1-api-server.js';
import { tempDir, writeMigrations } from './support/databases.js';
import { killLeftovers, startCli, type Exit } from './support/processes.js';

/**
 * `cairn fleet` on remote D1, against the stand-in for Cloudflare's HTTP API
 * (test/support/d1-api-server.ts, each database a real local D1): the
 * account's databases listed by name prefix, page by page; a 429 or 5xx
 * answer retried per target, the history read before anything is re-sent.
 */

const TOKEN = 'cf-fleet-token-Xy7Qp2Lm9s3cr3t';
let server: D1ApiServer | undefined;
afterEach(async () => {
  await killLeftovers();
  await server?.close();
  server = undefined;
  for (const name of ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_API_BASE_URL']) delete process.env[name];
});

async function cairn(args: readonly string[], cwd: string): Promise<Exit> {
  Object.assign(process.env, { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_API_BASE_URL: server!.base });
  const exit = await startCli(args, cwd).exited;
  expect(exit.stdout + exit.stderr).not.toContain(TOKEN);
  return exit;
}

/** Each step logs itself: a step run twice shows as a count of 2. */
const MIGRATIONS: Record<string, string> = {
  '0001_create_users.sql': "-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\nCREATE TABLE log (step TEXT NOT NULL);\nINSERT INTO log (step) VALUES ('up 0001');\n",
  '0002_create_posts.sql': "-- migrate:up\nCREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);\nINSERT INTO log (step) VALUES ('up 0002');\n",
};
const THIRD = { '0003_add_users_name.sql': "-- migrate:up\nALTER TABLE users ADD COLUMN name TEXT;\nINSERT INTO log (step) VALUES ('up 0003');\n" };

const TENANTS = ['tenant-01', 'tenant-02', 'tenant-03', 'tenant-04', 'tenant-05'];
const id = (n: number) => `d1d1d1d1-0000-4000-8000-${String(n).padStart(12, '0')}`;

async function account(): Promise<{ dir: string; server: D1ApiServer; ids: Record<string, string> }> {
  // Not in name order, and two that are not tenants: one elsewhere, one whose name only contains the prefix.
  const names = ['tenant-03', 'other-1', 'tenant-01', 'tenant-05', 'x-tenant-9', 'tenant-02', 'tenant-04'];
  const databases = names.map((name, i) => ({ id: id(i + 1), name }));
  server = await startD1ApiServer({ token: TOKEN, databases, pageSize: 2 });
  const dir = tempDir('cairn-fleet-d1-remote-');
  writeMigrations(dir, MIGRATIONS);
  writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ fleet: { edge: `d1://${server.accountId}/tenant-*` } }));
  return { dir, server, ids: Object.fromEntries(databases.map((d) => [d.name, d.id])) };
}

async function log(db: D1ApiServer, databaseId: string): Promise<Record<string, number>> {
  const rows = await db.queryOn<{ step: string; n: number }>(databaseId, 'SELECT step, count(*) AS n FROM log GROUP BY step');
  return Object.fromEntries(rows.map((row) => [row.step, row.n]));
}

describe('cairn fleet on remote D1 databases listed by name prefix', () => {
  it('a destructive migration: the Time Travel bookmark is each target\'s backup; --backup-rows copies the rows too', { timeout: 120_000 }, async () => {
    const { dir, server, ids } = await account();
    expect((await cairn(['fleet', 'up'], dir)).code).toBe(0);
    writeMigrations(dir, { '0003_drop_posts.sql': '-- cairn:allow drop-table tested\nDROP TABLE posts;\n' });
    const byBookmark = await cairn(['fleet', 'up', '--group', 'edge', '--concurrency', '2'], dir);
    expect(byBookmark.code, byBookmark.stderr).toBe(0);
    expect(byBookmark.stderr).toContain('rows at risk in 0003_drop_posts (posts) are not copied: the D1 Time Travel bookmark taken before this run is their backup');
    expect(existsSync(join(dir, '.cairn', 'backups'))).toBe(false);
    const [row] = await server.queryOn<{ details: string }>(ids['tenant-01']!, "SELECT details FROM cairn_migrations WHERE version = '0003'");
    expect(JSON.parse(row!.details)).toMatchObject({ backup: { bookmark: expect.any(String), tables: ['posts'] } });

    writeMigrations(dir, { '0004_drop_users.sql': '-- cairn:allow drop-table tested\nDROP TABLE users;\n' });
    const byRows = await cairn(['fleet', 'up', '--backup-rows'], dir);
    expect(byRows.code, byRows.stderr).toBe(0);
    expect(readdirSync(join(dir, '.cairn', 'backups')).filter((name) => name.startsWith('0004_drop_users-'))).toHaveLength(5);
  });

  it('after kill -9 of a run holding a database\'s lock, the next run on this machine takes the lock over at once, and finishes each row once', { timeout: 120_000 }, async () => {
    server = await startD1ApiServer({ token: TOKEN, databases: [{ id: id(1), name: 'tenant-01' }] });
    const dir = tempDir('cairn-fleet-d1-kill-');
    writeMigrations(dir, {
      '0001_items.sql': '-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, counter INTEGER NOT NULL DEFAULT 0);\nWITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 40) INSERT INTO items (id) SELECT i FROM c;\n',
      '0002_backfill.sql': '-- migrate:up\n-- cairn:batch size=1 pause=200ms\nUPDATE items SET counter = counter + 1 WHERE counter >= 0;\n',
    });
    // lockTimeout: a run that waited for the row to expire (5 minutes) would fail with LOCK_TIMEOUT after 20 s instead.
    writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ lockTimeout: 20, fleet: { edge: `d1://${server.accountId}/tenant-*` } }));
    Object.assign(process.env, { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_API_BASE_URL: server.base });
    const first = startCli(['fleet', 'up'], dir);
    const touched = async () => {
      const rows = await server!.queryOn<{ n: number }>(id(1), "SELECT count(*) AS n FROM sqlite_master WHERE name = 'items'");
      return rows[0]!.n > 0 ? Number((await server!.queryOn<{ n: number }>(id(1), 'SELECT count(*) AS n FROM items WHERE counter > 0'))[0]!.n) : 0;
    };
    while ((await touched()) < 3) {
      if (!first.isRunning()) throw new Error(`the first run ended before it was killed: ${(await first.exited).stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    first.kill();
    await first.exited;
    const [row] = await server.queryOn<{ owner: string; pid: number }>(id(1), 'SELECT owner, pid FROM cairn_migrations_lock');
    expect(row).toMatchObject({ pid: first.pid, owner: expect.stringMatching(/ id=[0-9a-f]+\/[0-9a-f-]+\/\d+\/\d+$/) }); // left behind, with who held it

    const second = await cairn(['fleet', 'up'], dir);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(new RegExp(`took over a stale migration lock held by .*\\(pid ${first.pid} on .*: process ${first.pid} on this machine is no longer running; taken over at once, not waiting for it to expire`));
    expect(await server.queryOn(id(1), 'SELECT counter, count(*) AS n FROM items GROUP BY counter')).toEqual([{ counter: 1, n: 40 }]);
    expect(await server.queryOn(id(1), 'SELECT * FROM cairn_migrations_lock')).toEqual([]);
  });

  it('lists the account\'s databases named tenant-* across pages, applies to each exactly once, and leaves the others alone', { timeout: 120_000 }, async () => {
    const { dir, server, ids } = await account();
    const up = await cairn(['fleet', 'up', '--json'], dir);
    expect(up.code, up.stderr).toBe(0);
    const result = JSON.parse(up.stdout) as { total: number; counts: Record<string, number>; targets: { target: string; outcome: string }[] };
    expect(result.targets.map((t) => t.target)).toEqual(TENANTS.map((name) => `d1 remote ${name} (${ids[name]})`));
    expect(result.counts).toEqual({ applied: 5, 'up-to-date': 0, failed: 0, 'not-started': 0 });
    // 6 names contain "tenant-", 2 a page: 3 pages.
    expect(server.listRequests()).toBe(3);
    for (const name of TENANTS) expect(await log(server, ids[name]!)).toEqual({ 'up 0001': 1, 'up 0002': 1 });
    for (const name of ['other-1', 'x-tenant-9']) expect(await server.queryOn(ids[name]!, "SELECT name FROM sqlite_master WHERE name = 'cairn_migrations'")).toEqual([]);

    // A read rate limited once is read again.
    server.fail({ status: 429, databaseId: ids['tenant-02'], retryAfter: 1 });
    const status = await cairn(['fleet', 'status'], dir);
    expect(status.stdout).toMatch(/5 up to date, 0 behind, 0 failed, 0 locked/);
    expect(server.faults()).toEqual([{ databaseId: ids['tenant-02'], status: 429, committed: false }]);
    const verify = await cairn(['fleet', 'verify', '--no-history'], dir);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/in-sync\s+5\n/);

    // A prefix that names nothing, and a local pattern, say so.
    writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ fleet: { edge: `d1://${server.accountId}/nobody-*` } }));
    expect((await cairn(['fleet', 'up'], dir)).stdout).toMatch(/No targets: the fleet groups match no database yet/);
    // A --targets line lists the same way, the account from CLOUDFLARE_ACCOUNT_ID; a bad token is refused with its fix, and not printed.
    writeFileSync(join(dir, 'targets.txt'), 'd1://remote/tenant-0*   # the first nine tenants\n');
    process.env.CLOUDFLARE_ACCOUNT_ID = server.accountId;
    const fromFile = JSON.parse((await cairn(['fleet', 'status', '--targets', 'targets.txt', '--json'], dir)).stdout) as { total: number; counts: Record<string, number> };
    expect(fromFile).toMatchObject({ total: 5, counts: { 'up-to-date': 5 } });
    delete process.env.CLOUDFLARE_ACCOUNT_ID;
    const wrongToken = await startCli(['fleet', 'up', '--targets', 'targets.txt'], dir, { CLOUDFLARE_API_TOKEN: 'not-the-token-4242', CLOUDFLARE_ACCOUNT_ID: server.accountId }).exited;
    expect(wrongToken.code).toBe(3);
    expect(wrongToken.stderr).toMatch(/the D1 API refused the request for D1 databases named tenant-0\* on .*\(HTTP 403\): Authentication error[\s\S]*hint: check CLOUDFLARE_API_TOKEN/);
    expect(wrongToken.stderr + wrongToken.stdout).not.toContain('not-the-token-4242');
    writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ fleet: { edge: 'd1://local/tenant-*' } }));
    const local = await cairn(['fleet', 'up'], dir);
    expect([local.code, local.stderr]).toEqual([2, expect.stringMatching(/local D1 databases cannot be listed by name[\s\S]*hint: .*\{ d1: \['<database_id>'/)]);
  });

  it('a 503 after the batch committed is settled from the history, a 429 before it ran is retried: each migration runs once', { timeout: 120_000 }, async () => {
    const { dir, server, ids } = await account();
    expect((await cairn(['fleet', 'up'], dir)).code).toBe(0);
    writeMigrations(dir, THIRD);
    // tenant-03: 0003's batch commits, then the answer is lost (HTTP 503). tenant-04: rate limited before it runs.
    server.fail({ status: 503, databaseId: ids['tenant-03'], matching: "'up 0003'", committed: true });
    server.fail({ status: 429, databaseId: ids['tenant-04'], matching: "'up 0003'", retryAfter: 1 });

    const up = await cairn(['fleet', 'up', '--json'], dir);
    expect(up.code, up.stderr).toBe(0);
    expect([...server.faults()].sort((a, b) => a.status - b.status)).toEqual([
      { databaseId: ids['tenant-04'], status: 429, committed: false },
      { databaseId: ids['tenant-03'], status: 503, committed: true },
    ]);
    // The step reads the history it wrote in the same batch: committed, so not sent again and not retried.
    expect(up.stderr).toMatch(/tenant-03 \(\S+\): the D1 API did not answer, but the history shows 0003_add_users_name committed: not sending it again/);
    expect(up.stderr).not.toMatch(/retrying d1 remote tenant-03/);
    expect(up.stderr).toMatch(/retrying d1 remote tenant-04 \(\S+\) in [1-9]\.\d s \(1\/3\): CONNECTION: the D1 API is rate limiting requests .*HTTP 429/);
    const result = JSON.parse(up.stdout) as { targets: { target: string; outcome: string; retries?: number }[] };
    const byName = (name: string) => result.targets.find((t) => t.target.startsWith(`d1 remote ${name} `))!;
    expect(byName('tenant-03')).toMatchObject({ outcome: 'applied' });
    expect(byName('tenant-03').retries).toBeUndefined();
    expect(byName('tenant-04')).toMatchObject({ outcome: 'applied', retries: 1 });
    expect(byName('tenant-01').retries).toBeUndefined();
    for (const name of TENANTS) expect(await log(server, ids[name]!), name).toEqual({ 'up 0001': 1, 'up 0002': 1, 'up 0003': 1 });
    for (const name of TENANTS) expect(await server.queryOn(ids[name]!, 'SELECT * FROM cairn_migrations_lock')).toEqual([]);
  });

  it('retries are bounded: a database that keeps failing is reported with its retries, the others finish; the next run completes it', { timeout: 120_000 }, async () => {
    const { dir, server, ids } = await account();
    writeMigrations(dir, THIRD);
    server.fail({ status: 502, databaseId: ids['tenant-05'], count: 100 });
    const up = await cairn(['fleet', 'up', '--retries', '2', '--keep-going'], dir);
    expect(up.code).toBe(3);
    expect(up.stderr.match(/retrying d1 remote tenant-05/g)).toHaveLength(2);
    expect(up.stdout).toMatch(/applied\s+4\n\s+failed\s+1\n/);
    expect(up.stdout).toMatch(/Failed:\n.*\n\s+d1 remote tenant-05 \(\S+\)\s+NO_ANSWER\s+the D1 API at \S+ answered HTTP 502/);
    expect(up.stdout).toMatch(/Retried after a passing failure \(HTTP 429\/5xx\): 1 target, 2 retries/);
    // Bounded: 3 tries of the target, each taking the lock at most 4 times (its own few re-sends of that idempotent batch).
    expect(server.faults().length).toBeGreaterThanOrEqual(3);
    expect(server.faults().length).toBeLessThanOrEqual(12);

    const json = JSON.parse((await cairn(['fleet', 'status', '--json'], dir)).stdout) as { counts: Record<string, number> };
    expect(json.counts).toMatchObject({ 'up-to-date': 4, failed: 1 });
    server.clearFaults();
    const again = await cairn(['fleet', 'up'], dir);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/applied\s+1\n\s+up-to-date\s+4\n/);
    for (const name of TENANTS) expect(await log(server, ids[name]!), name).toEqual({ 'up 0001': 1, 'up 0002': 1, 'up 0003': 1 });
  });
});
