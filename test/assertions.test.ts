import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createCairn } from '../src/cairn.js';
import { startD1ApiServer, type D1ApiServer } from './support/d1-api-server.js';
import { runCli, tempDir, writeMigrations } from './support/databases.js';
import { describeEachDatabase } from './support/each-database.js';
import { killLeftovers, startCli } from './support/processes.js';

/**
 * `-- cairn:assert` guards (docs/assertions.md): checked inside the
 * migration's own transaction (D1: its batch) before its statements, so a
 * false one applies nothing, and the failure names the assertion, its SQL and
 * what it returned.
 */
const ORDERS = "-- migrate:up\nCREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT NOT NULL, email TEXT);\nINSERT INTO orders (id, status, email) VALUES (1, 'paid', 'a@x'), (2, 'legacy', 'b@x'), (3, 'paid', NULL), (4, 'paid', NULL);\n";
const GUARDED = [
  '-- Migration: drop the legacy status',
  "-- cairn:assert no_legacy_orders: SELECT count(*) = 0 FROM orders WHERE status = 'legacy'",
  '-- cairn:assert-unique orders(email)',
  '-- migrate:up',
  'CREATE TABLE order_archive (id INTEGER PRIMARY KEY);',
  "UPDATE orders SET status = 'closed' WHERE status = 'paid';",
  '',
].join('\n');
const LATER = '-- migrate:up\nCREATE TABLE later (id INTEGER PRIMARY KEY);\n';

describeEachDatabase('assertions before a migration runs', (current) => {
  const tables = async () => (await createCairn({ url: current().url, cwd: root, envVars: {} }).status()).migrations.map((m) => `${m.version}:${m.state}`);
  let root = '';
  const exists = (table: string) => current().query(`SELECT 1 AS one FROM ${table}`).then(() => true, () => false);

  it('a false assertion applies nothing of its migration and names it, its SQL and what it returned; the one before stays applied', async () => {
    root = tempDir();
    writeMigrations(root, { '0001_orders.sql': ORDERS, '0002_drop_legacy.sql': GUARDED, '0003_later.sql': LATER });
    const cairn = createCairn({ url: current().url, cwd: root, envVars: {} });

    const result = await cairn.up();
    expect(result.success).toBe(false);
    expect(result.applied.map((s) => s.version)).toEqual(['0001']);
    expect(result.errors[0]).toMatchObject({
      version: '0002',
      file: join('migrations', '0002_drop_legacy.sql'),
      line: 2,
      rolledBack: true,
      message: expect.stringMatching(/^assertion "no_legacy_orders" does not hold: SELECT count\(\*\) = 0 FROM orders WHERE status = 'legacy' returned (false|0)$/),
    });
    expect(result.errors[0]!.hint).toContain('nothing of 0002_drop_legacy ran');
    expect(await current().query("SELECT count(*) AS n FROM orders WHERE status = 'paid'")).toEqual([{ n: expect.anything() }]);
    expect(Number((await current().query<{ n: unknown }>("SELECT count(*) AS n FROM orders WHERE status = 'closed'"))[0]!.n)).toBe(0);
    expect(await exists('order_archive')).toBe(false);
    expect(await tables()).toEqual(['0001:applied', '0002:pending', '0003:pending']);

    // Make it hold: the second assertion (assert-unique; NULLs never collide) holds already.
    await current().query("UPDATE orders SET status = 'paid' WHERE status = 'legacy'");
    const again = await cairn.up();
    expect(again.success, again.errors[0]?.message).toBe(true);
    expect(again.applied.map((s) => s.version)).toEqual(['0002', '0003']);
    expect(Number((await current().query<{ n: unknown }>("SELECT count(*) AS n FROM orders WHERE status = 'closed'"))[0]!.n)).toBe(4);
  });

  it('assert-unique fails on a duplicate; a no-transaction migration is checked before anything of it runs, and is not recorded as failed', async () => {
    root = tempDir();
    const unique = '-- cairn:no-transaction\n-- cairn:assert-unique orders(status)\nCREATE TABLE never (id INTEGER PRIMARY KEY);\n';
    writeMigrations(root, { '0001_orders.sql': ORDERS, '0002_unique.sql': unique });
    const cairn = createCairn({ url: current().url, cwd: root, envVars: {} });
    const result = await cairn.up();
    expect(result.errors[0]).toMatchObject({ version: '0002', line: 2, rolledBack: true, message: expect.stringContaining('assertion "orders(status) is unique" does not hold') });
    expect(await tables()).toEqual(['0001:applied', '0002:pending']);
    expect(await exists('never')).toBe(false);
  });

  it('an assertion whose SQL fails is reported as such, with the engine\'s message', async () => {
    root = tempDir();
    writeMigrations(root, { '0001_orders.sql': ORDERS, '0002_bad.sql': '-- cairn:assert typo: SELECT count(*) = 0 FROM orderz\nCREATE TABLE never (id INTEGER PRIMARY KEY);\n' });
    const result = await createCairn({ url: current().url, cwd: root, envVars: {} }).up();
    expect(result.errors[0]).toMatchObject({ version: '0002', line: 1, message: expect.stringMatching(/^assertion "typo" could not be evaluated: .*orderz/) });
    expect(await tables()).toEqual(['0001:applied', '0002:pending']);
  });

  it('--dry-run evaluates them and says which would fail, applying nothing', async () => {
    root = tempDir();
    writeMigrations(root, { '0001_orders.sql': ORDERS });
    const cairn = createCairn({ url: current().url, cwd: root, envVars: {} });
    expect((await cairn.up()).success).toBe(true);
    writeMigrations(root, { '0002_drop_legacy.sql': GUARDED });
    const dry = await cairn.up({ dryRun: true });
    expect(dry.plan[0]!.assertions!.map((a) => [a.name, a.holds])).toEqual([
      ['no_legacy_orders', false],
      ['orders(email) is unique', true],
    ]);
    expect(await tables()).toEqual(['0001:applied', '0002:pending']);
  });

  it('verify reads assertions in its empty scratch database: a false one is skipped, not a failure; one whose query fails is', async () => {
    root = tempDir();
    const copy = [
      '-- cairn:assert has_orders: SELECT count(*) > 0 FROM orders',
      '-- cairn:assert-unique orders(email)',
      '-- migrate:up',
      'CREATE TABLE order_copy (id INTEGER PRIMARY KEY);',
      'INSERT INTO order_copy (id) SELECT id FROM orders;',
      '-- migrate:down',
      '-- cairn:allow drop-table made by this migration',
      'DROP TABLE order_copy;',
      '',
    ].join('\n');
    const table = '-- migrate:up\nCREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT NOT NULL, email TEXT);\n-- migrate:down\n-- cairn:allow drop-table made by this migration\nDROP TABLE orders;\n';
    writeMigrations(root, { '0001_orders.sql': table, '0002_copy.sql': copy });
    const cairn = createCairn({ url: current().url, cwd: root, envVars: {} });
    const report = await cairn.verify({ schema: false });
    expect(report.ok, JSON.stringify(report.migrations)).toBe(true);
    expect(report.migrations[1]).toMatchObject({ ok: true, down: 'verified', steps: ['up', 'down', 'up'] });
    expect(report.migrations[1]!.assertions!.map((a) => [a.name, a.result])).toEqual([
      ['has_orders', 'skipped'],
      ['orders(email) is unique', 'holds'],
    ]);
    // In the real database the same assertion still guards: there it is about the data.
    const up = await cairn.up();
    expect(up.errors[0]).toMatchObject({ version: '0002', message: expect.stringContaining('assertion "has_orders" does not hold') });

    writeMigrations(root, { '0003_typo.sql': '-- cairn:assert typo: SELECT count(*) = 0 FROM orderz\nCREATE TABLE later (id INTEGER PRIMARY KEY);\n' });
    const broken = await cairn.verify({ schema: false });
    expect(broken.ok).toBe(false);
    expect(broken.migrations[2]).toMatchObject({ ok: false, problems: [{ kind: 'up-fails', message: expect.stringMatching(/^up fails at .*0003_typo\.sql:1: assertion "typo" could not be evaluated: .*orderz/) }] });
    expect(broken.migrations[2]!.assertions).toEqual([expect.objectContaining({ name: 'typo', result: 'failed' })]);
  });
}, { d1: true });

describe('assertions from the command line', () => {
  it('exits 1 with file, line, the SQL and the value; --dry-run says which would fail; a malformed one is refused before anything runs', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_orders.sql': ORDERS, '0002_drop_legacy.sql': GUARDED });
    const url = ['--url', 'sqlite:app.db'];

    const before = runCli(['up', '--dry-run', ...url], { cwd: root });
    expect(before.stdout).toContain('-- line 2: assertion "no_legacy_orders" cannot be evaluated before the migrations above ran (no such table: orders)');
    expect(runCli(['up', '--to', '0001', ...url], { cwd: root }).status).toBe(0);
    const dry = runCli(['up', '--dry-run', ...url], { cwd: root });
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain('-- line 2: assertion "no_legacy_orders" FAILS: returned 0');
    expect(dry.stdout).toContain('-- line 3: assertion "orders(email) is unique" holds (returned 1)');
    expect(dry.stderr).toContain('`cairn up` would stop at this assertion, applying nothing of that migration: 0002_drop_legacy ("no_legacy_orders", line 2)');

    const up = runCli(['up', ...url], { cwd: root });
    expect(up.status).toBe(1);
    expect(up.stderr).toContain(`${join('migrations', '0002_drop_legacy.sql')}:2:1: assertion "no_legacy_orders" does not hold: SELECT count(*) = 0 FROM orders WHERE status = 'legacy' returned 0`);
    expect(up.stderr).toContain("    2 | -- cairn:assert no_legacy_orders: SELECT count(*) = 0 FROM orders WHERE status = 'legacy'");
    expect(up.stderr).toContain('nothing of 0002_drop_legacy ran: the assertion guards it');

    writeFileSync(join(root, 'migrations', '0003_bad.sql'), '-- cairn:assert-unique users\nSELECT 1;\n');
    const bad = runCli(['up', ...url], { cwd: root });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(`${join('migrations', '0003_bad.sql')}:1: "cairn:assert-unique" needs a table and its columns, got "users" (write -- cairn:assert-unique <table>(<column>, …)`);
  });

  it('verify says a false assertion was skipped in its scratch database, and exits 0', () => {
    const root = tempDir();
    writeMigrations(root, {
      '0001_orders.sql': 'CREATE TABLE orders (id INTEGER PRIMARY KEY);\n',
      '0002_archive.sql': '-- cairn:assert has_orders: SELECT count(*) > 0 FROM orders\nCREATE TABLE archive (id INTEGER PRIMARY KEY);\n',
    });
    const verify = runCli(['verify', '--url', 'sqlite:app.db'], { cwd: root });
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toContain('assertion "has_orders" (line 1) skipped: false in the scratch database, which has no production data');
    expect(verify.stdout).toContain('All 2 migrations verified');
  });

  it('lint: a drop-table guarded by assert-empty is a warning, so up runs it while the table is empty and refuses it once it is not', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_sessions.sql': 'CREATE TABLE sessions (id INTEGER PRIMARY KEY);\n', '0002_drop_sessions.sql': '-- cairn:assert-empty sessions\nDROP TABLE sessions;\n' });
    const url = ['--url', 'sqlite:app.db'];
    expect(runCli(['up', '--to', '0001', ...url], { cwd: root }).status).toBe(0);
    const lint = runCli(['lint', ...url], { cwd: root });
    expect(lint.status).toBe(0);
    expect(lint.stdout).toContain('0002_drop_sessions.sql:2:12 warning drop-table dropping table "sessions" breaks code that still reads or writes it (no rows are lost: -- cairn:assert-empty on line 1');

    const sqlite = new Database(join(root, 'app.db'));
    sqlite.exec('INSERT INTO sessions (id) VALUES (1)');
    const refused = runCli(['up', ...url], { cwd: root });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('assertion "sessions is empty" does not hold: SELECT NOT EXISTS (SELECT 1 FROM sessions) returned 0');
    expect(sqlite.prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 1 });

    sqlite.exec('DELETE FROM sessions');
    sqlite.close();
    const dropped = runCli(['up', ...url], { cwd: root });
    expect(dropped.status, dropped.stderr).toBe(0);
    expect(dropped.stdout).toContain('0002_drop_sessions … ok');
  });
});

describe('assertions on remote D1 (the API test server)', () => {
  let server: D1ApiServer | undefined;
  afterEach(async () => {
    await killLeftovers();
    await server?.close();
    for (const name of ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_API_BASE_URL']) delete process.env[name];
  });

  it('a false assertion fails the batch: the step before stays applied, the guarded one leaves nothing, exit 1', { timeout: 60_000 }, async () => {
    server = await startD1ApiServer({ token: 'tok-assert' });
    Object.assign(process.env, { CLOUDFLARE_API_TOKEN: 'tok-assert', CLOUDFLARE_API_BASE_URL: server.base });
    const root = tempDir();
    const dir = writeMigrations(root, { '0001_orders.sql': ORDERS, '0002_drop_legacy.sql': GUARDED, '0003_later.sql': LATER });
    const url = `d1://${server.accountId}/${server.databaseId}`;
    const up = await startCli(['up', '--url', url, '--dir', dir], root).exited;
    expect(up.code).toBe(1);
    expect(up.stderr).toContain('assertion "no_legacy_orders" does not hold');
    expect(await server.query('SELECT version FROM cairn_migrations ORDER BY version')).toEqual([{ version: '0001' }]);
    expect(await server.query("SELECT name FROM sqlite_master WHERE name IN ('order_archive', 'later')")).toEqual([]);

    await server.query("UPDATE orders SET status = 'paid' WHERE status = 'legacy'");
    const again = await startCli(['up', '--url', url, '--dir', dir], root).exited;
    expect(again.code, again.stderr).toBe(0);
    expect(await server.query('SELECT version FROM cairn_migrations ORDER BY version')).toEqual([{ version: '0001' }, { version: '0002' }, { version: '0003' }]);
  });
});
