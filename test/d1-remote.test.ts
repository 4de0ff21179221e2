import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startD1ApiServer, type D1ApiServer } from './support/d1-api-server.js';
import { tempDir, writeMigrations } from './support/databases.js';
import { killLeftovers, startCli, type Exit } from './support/processes.js';

/**
 * The remote D1 driver over HTTP, against a local server that speaks D1's
 * API and executes on a real local D1 (test/support/d1-api-server.ts). The
 * CLI runs as a real process (async: the server lives in this one), with the
 * token in CLOUDFLARE_API_TOKEN and the API address in CLOUDFLARE_API_BASE_URL.
 */

const TOKEN = 'cf-test-token-Zq8ZbT1x4Kp0s3cr3t';
let server: D1ApiServer;
beforeEach(async () => {
  server = await startD1ApiServer({ token: TOKEN }); // a fresh database for each test
});
afterEach(async () => {
  await killLeftovers();
  await server.close();
  for (const name of ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_API_BASE_URL', 'CLOUDFLARE_ACCOUNT_ID']) delete process.env[name];
});

/** Runs the CLI with these Cloudflare variables (startCli passes this process's environment on). */
async function cairn(args: readonly string[], cwd: string, env: Record<string, string>): Promise<Exit> {
  Object.assign(process.env, env);
  return startCli(args, cwd).exited;
}

const api = (token = TOKEN) => ({ CLOUDFLARE_API_TOKEN: token, CLOUDFLARE_API_BASE_URL: server.base });
const url = () => `d1://${server.accountId}/${server.databaseId}`;

const USERS = "-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\nINSERT INTO users (email) VALUES ('ada@example.com');\n-- migrate:down\n-- cairn:allow drop-table made by this migration\nDROP TABLE users;\n";
const TAGS = '-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT NOT NULL);\n-- migrate:down\n-- cairn:allow drop-table made by this migration\nDROP TABLE tags;\n';
const BROKEN = '-- migrate:up\nCREATE TABLE comments (id INTEGER PRIMARY KEY);\nINSERT INTO comments (id) VALUES (1);\nINSERT INTO no_such_table (id) VALUES (1);\n';

describe('remote D1 over the HTTP API', () => {
  it('applies, reports and rolls back migrations; the token never appears in what Cairn prints', { timeout: 60_000 }, async () => {
    const root = tempDir('cairn-d1-remote-');
    const dir = writeMigrations(root, { '0001_users.sql': USERS, '0002_tags.sql': TAGS });
    const before = server.requests();

    const up = await cairn(['up', '--url', url(), '--dir', dir], root, api());
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain(`Migrating d1 remote ${server.accountId}/${server.databaseId}`);
    expect(up.stdout).toMatch(/Applied 2 migrations/);
    expect(await server.query('SELECT email FROM users')).toEqual([{ email: 'ada@example.com' }]);
    expect(await server.query('SELECT version, state FROM cairn_migrations ORDER BY version')).toEqual([
      { version: '0001', state: 'applied' },
      { version: '0002', state: 'applied' },
    ]);
    expect(await server.query('SELECT * FROM cairn_migrations_lock')).toEqual([]); // released at the end
    // Both migrations went in one batch: lock, history check, the tables check of a first run (NON_EMPTY_DATABASE),
    // the batch, its durations, unlock — not a request per statement.
    expect(server.requests() - before).toBeLessThanOrEqual(10);

    const status = await cairn(['status', '--url', url(), '--dir', dir, '--json'], root, api());
    expect(JSON.parse(status.stdout).migrations.map((m: { state: string }) => m.state)).toEqual(['applied', 'applied']);

    const down = await cairn(['down', '--url', url(), '--dir', dir], root, api());
    expect(down.code, down.stderr).toBe(0);
    expect(await server.query("SELECT name FROM sqlite_master WHERE name = 'tags'")).toEqual([]);
    expect(await server.query('SELECT version FROM cairn_migrations')).toEqual([{ version: '0001' }]);

    for (const exit of [up, status, down]) expect(exit.stdout + exit.stderr).not.toContain(TOKEN);
  });

  it('leaves nothing of a failing migration and keeps the ones before it', { timeout: 60_000 }, async () => {
    const root = tempDir('cairn-d1-remote-');
    const dir = writeMigrations(root, { '0001_tags.sql': TAGS.replace(/tags/g, 'labels'), '0002_broken.sql': BROKEN, '0003_users.sql': USERS.replace(/users/g, 'people') });
    const up = await cairn(['up', '--url', url(), '--dir', dir], root, api());
    expect(up.code).toBe(1);
    expect(up.stderr).toMatch(/error\[MIGRATION_FAILED\]: migrations\/0002_broken\.sql:4:\d+: no such table: no_such_table: SQLITE_ERROR/);
    expect(up.stderr).toMatch(/rolled back whole, nothing of it remains/);
    expect(await server.query("SELECT name FROM sqlite_master WHERE name IN ('labels', 'comments', 'people') ORDER BY name")).toEqual([{ name: 'labels' }]);
    expect(await server.query("SELECT version FROM cairn_migrations WHERE version IN ('0001', '0002', '0003')")).toEqual([{ version: '0001' }]);
  });

  it('takes the account from CLOUDFLARE_ACCOUNT_ID with d1://remote/<database_id>', { timeout: 60_000 }, async () => {
    const root = tempDir('cairn-d1-remote-');
    const dir = writeMigrations(root, {});
    const status = await cairn(['status', '--url', `d1://remote/${server.databaseId}`, '--dir', dir], root, { ...api(), CLOUDFLARE_ACCOUNT_ID: server.accountId });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`d1 remote (CLOUDFLARE_ACCOUNT_ID)/${server.databaseId}`);
  });

  it('says clearly when the token is refused or missing, without printing it', { timeout: 60_000 }, async () => {
    const root = tempDir('cairn-d1-remote-');
    const dir = writeMigrations(root, { '0001_users.sql': USERS });
    const wrong = 'cf-wrong-token-Hk2Lm9Pq7Rs4Tu6V';
    const refused = await cairn(['up', '--url', url(), '--dir', dir], root, api(wrong));
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^error\[CONNECTION\]: the D1 API refused the request for d1 remote .* \(HTTP 403\): Authentication error \[code 10000\]$/m);
    expect(refused.stderr).toMatch(/hint: check CLOUDFLARE_API_TOKEN/);
    expect(refused.stdout + refused.stderr).not.toContain(wrong);

    const missing = await cairn(['up', '--url', url(), '--dir', dir], root, { CLOUDFLARE_API_TOKEN: '', CLOUDFLARE_API_BASE_URL: server.base });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/error\[CONFIG\]: CLOUDFLARE_API_TOKEN is not set/);

    const unknown = await cairn(['up', '--url', `d1://${server.accountId}/no-such-database`, '--dir', dir], root, api());
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/could not be found/);
    expect(await server.query("SELECT name FROM sqlite_master WHERE name = 'users'")).toEqual([]);
  });
});
