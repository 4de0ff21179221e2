import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { d1LocalUrl, d1RemoteUrl, parseDatabaseUrl } from '../src/config/url.js';
import { openD1 } from '../src/drivers/d1/driver.js';
import { localD1File } from '../src/drivers/d1/local.js';
import { createCairn, type CairnEvent } from '../src/index.js';
import { createD1Database, runCli, tempDir, writeMigrations, type TestDatabase } from './support/databases.js';
import { killLeftovers, startCli } from './support/processes.js';

/**
 * What is true of D1 and not of plain SQLite, on a real local D1 (miniflare,
 * the workerd D1 that `wrangler dev` runs). The runner's common contract is
 * in conformance.test.ts, which runs on D1 too.
 */

let db: TestDatabase;
beforeEach(async () => {
  db = await createD1Database();
});
afterEach(async () => {
  await killLeftovers();
  await db.drop();
});

function project(files: Record<string, string>) {
  const root = tempDir('cairn-d1-project-');
  return { root, dir: writeMigrations(root, files) };
}

const cairnFor = (dir: string, onEvent?: (event: CairnEvent) => void) => createCairn({ url: db.url, dir, cwd: join(dir, '..'), envVars: {}, onEvent });
const count = async (table: string) => Number((await db.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n);
const versions = async () => (await db.query<{ version: string }>('SELECT version FROM cairn_migrations ORDER BY version')).map((r) => r.version);

const USERS_AND_POSTS = `-- migrate:up
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE, title TEXT NOT NULL);
INSERT INTO users (id, email) VALUES (1, 'ada@example.com'), (2, 'bob@example.com');
INSERT INTO posts (user_id, title) VALUES (1, 'first'), (1, 'second'), (2, 'third');
`;

describe('D1 URLs', () => {
  it('reads local and remote D1 URLs; the token is never part of one', () => {
    expect(parseDatabaseUrl('d1://local/3f1c-db', '/proj')).toEqual({ scheme: 'd1', d1: { kind: 'local', databaseId: '3f1c-db', persistDir: '/proj/.wrangler/state' }, display: 'd1 local 3f1c-db (.wrangler/state)' });
    expect(parseDatabaseUrl('d1://local/3f1c-db?persist=state/d1', '/proj')).toMatchObject({ d1: { persistDir: '/proj/state/d1' }, display: 'd1 local 3f1c-db (state/d1)' });
    expect(parseDatabaseUrl('d1://acc123/3f1c-db', '/proj')).toEqual({ scheme: 'd1', d1: { kind: 'remote', accountId: 'acc123', databaseId: '3f1c-db' }, display: 'd1 remote acc123/3f1c-db' });
    expect(parseDatabaseUrl('d1://remote/3f1c-db', '/proj')).toMatchObject({ d1: { kind: 'remote', accountId: null } });
    expect(parseDatabaseUrl(d1LocalUrl('my db', '/abs/state'), '/proj')).toMatchObject({ d1: { databaseId: 'my db', persistDir: '/abs/state' } });
    expect(parseDatabaseUrl(d1RemoteUrl(null, 'x'), '/proj')).toMatchObject({ d1: { kind: 'remote', accountId: null, databaseId: 'x' } });
    expect(() => parseDatabaseUrl('d1://acc123', '/proj')).toThrow(/D1 URL is malformed/);
    expect(() => parseDatabaseUrl('d1://acc123/db?token=abc', '/proj')).toThrow(/unknown option token/);
    expect(() => parseDatabaseUrl('d1://acc123/db?persist=x', '/proj')).toThrow(/\?persist= is for local/);
  });
});

describe('D1 refuses what plain SQLite allows', () => {
  it('rejects BEGIN/COMMIT in a migration with its own message, and nothing of the migration remains', async () => {
    const { dir } = project({
      '0001_users.sql': '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n',
      '0002_explicit_transaction.sql': '-- migrate:up\nBEGIN;\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\nCOMMIT;\n',
    });
    // The linter refuses it first (d1-transaction-statements, since a d1:// URL turns on the D1 rules); applied anyway, D1 is the one that says no.
    await expect(cairnFor(dir).up()).rejects.toMatchObject({ code: 'LINT', message: expect.stringContaining('d1-transaction-statements') });
    const result = await cairnFor(dir).up({ unsafe: true });
    expect(result.success).toBe(false);
    expect(result.errors[0]).toMatchObject({ version: '0002', line: 2, rolledBack: true });
    expect(result.errors[0]!.message).toMatch(/please use the state\.storage\.transaction\(\)/);
    expect(await versions()).toEqual(['0001']);
    expect(await db.query("SELECT name FROM sqlite_master WHERE name = 'notes'")).toEqual([]);
    await expect(db.query('SAVEPOINT s1')).rejects.toThrow(/transaction/);
  });

  it('keeps foreign keys on: PRAGMA foreign_keys = off does nothing, and the orphan row is refused', async () => {
    const { dir } = project({
      '0001_users_posts.sql': USERS_AND_POSTS,
      '0002_orphan.sql': '-- migrate:up\nPRAGMA foreign_keys = off;\nINSERT INTO posts (user_id, title) VALUES (999, \'orphan\');\n',
    });
    const result = await cairnFor(dir).up({ unsafe: true }); // the linter flags the pragma (foreign-keys-pragma); D1 is the judge here
    expect(result.errors[0]).toMatchObject({ version: '0002', line: 3, engineCode: 'SQLITE_CONSTRAINT_FOREIGNKEY', rolledBack: true });
    expect(result.errors[0]!.message).toMatch(/FOREIGN KEY constraint failed/);
    expect(await db.query('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }]);
    expect(await count('posts')).toBe(3);
  });

  it('refuses what it does not authorize (ATTACH, most pragmas) and VACUUM', async () => {
    await expect(db.query("ATTACH DATABASE 'other.db' AS other")).rejects.toThrow(/not authorized/);
    await expect(db.query('PRAGMA journal_mode')).rejects.toThrow(/not authorized/);
    await expect(db.query('VACUUM')).rejects.toThrow(/cannot VACUUM from within a transaction/);
  });
});

describe('rebuilding a parent table with ON DELETE CASCADE children', () => {
  const REBUILD = `CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL DEFAULT '');
INSERT INTO users_new (id, email) SELECT id, coalesce(email, '') FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
`;
  const applyUnsafe = (dir: string) => cairnFor(dir).up({ unsafe: true });

  it('loses the child rows with the naive rebuild, which the linter refuses up front', async () => {
    const { dir } = project({ '0001_users_posts.sql': USERS_AND_POSTS, '0002_rebuild_users.sql': `-- migrate:up\n${REBUILD}` });
    await expect(cairnFor(dir).up()).rejects.toMatchObject({ code: 'LINT', message: expect.stringContaining('cascade-on-drop') });
    expect(await db.query("SELECT name FROM sqlite_master WHERE name = 'users'")).toEqual([]); // nothing applied

    expect(await applyUnsafe(dir)).toMatchObject({ success: true, filesExecuted: 2 });
    expect(await count('users')).toBe(2);
    expect(await count('posts')).toBe(0); // DROP TABLE users deleted every user first, and that cascaded
  });

  it('loses them too with PRAGMA defer_foreign_keys = on: it defers checks, not ON DELETE actions (as on plain SQLite)', async () => {
    const { dir } = project({ '0001_users_posts.sql': USERS_AND_POSTS, '0002_rebuild_users.sql': `-- migrate:up\nPRAGMA defer_foreign_keys = on;\n${REBUILD}` });
    expect(await applyUnsafe(dir)).toMatchObject({ success: true, filesExecuted: 2 });
    expect(await count('posts')).toBe(0);
  });

  it("keeps them with the linter's advice: copy the children aside, rebuild, fill the new parent after the rename, put them back", async () => {
    const keep = `-- migrate:up
PRAGMA defer_foreign_keys = on;
CREATE TABLE posts_keep AS SELECT * FROM posts;
CREATE TABLE users_copy AS SELECT * FROM users;
CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL DEFAULT '');
-- cairn:allow drop-table rebuilt right below from users_copy
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
INSERT INTO users (id, email) SELECT id, coalesce(email, '') FROM users_copy;
INSERT INTO posts SELECT * FROM posts_keep;
DROP TABLE posts_keep;
DROP TABLE users_copy;
`;
    const { dir } = project({ '0001_users_posts.sql': USERS_AND_POSTS, '0002_rebuild_users.sql': keep });
    const report = await cairnFor(dir).lint();
    expect(report.files.flatMap((f) => f.findings.map((x) => x.rule))).not.toContain('cascade-on-drop');
    expect(await cairnFor(dir).up()).toMatchObject({ success: true, filesExecuted: 2 });
    expect(await db.query('SELECT user_id, title FROM posts ORDER BY id')).toEqual([
      { user_id: 1, title: 'first' },
      { user_id: 1, title: 'second' },
      { user_id: 2, title: 'third' },
    ]);
    expect(await db.query("SELECT sql FROM sqlite_master WHERE name = 'users'")).toEqual([{ sql: expect.stringContaining("DEFAULT ''") }]);
  });
});

describe('batches', () => {
  it('sends consecutive migrations in one batch, and when one fails keeps those before it and names it exactly', async () => {
    const files: Record<string, string> = {};
    const down = (i: number) => `-- migrate:down\n-- cairn:allow drop-table made by this migration\nDROP TABLE t${i};\n`;
    for (let i = 1; i <= 6; i++) files[`000${i}_t${i}.sql`] = `-- migrate:up\nCREATE TABLE t${i} (id INTEGER PRIMARY KEY);\nINSERT INTO t${i} (id) VALUES (${i});\n${down(i)}`;
    files['0004_t4.sql'] = `-- migrate:up\nCREATE TABLE t4 (id INTEGER PRIMARY KEY);\n\nINSERT INTO t4 (nope) VALUES (4);\n${down(4)}`;
    const { dir } = project(files);
    const events: string[] = [];
    const result = await cairnFor(dir, (e) => (e.type === 'start' || e.type === 'done') && events.push(`${e.type} ${e.version}`)).up();
    expect(result.applied.map((a) => a.version)).toEqual(['0001', '0002', '0003']);
    expect(result.errors[0]).toMatchObject({ version: '0004', line: 4, rolledBack: true, message: expect.stringMatching(/no column named nope/) });
    expect(events).toEqual(['start 0001', 'done 0001', 'start 0002', 'done 0002', 'start 0003', 'done 0003', 'start 0004']);
    expect(await versions()).toEqual(['0001', '0002', '0003']);
    // Rows written in a shared batch get their share of its time afterwards, not 0.
    const [durations] = await db.query<{ total: number }>('SELECT sum(duration_ms) AS total FROM cairn_migrations');
    expect(durations!.total).toBeGreaterThan(0);
    expect(await db.query("SELECT name FROM sqlite_master WHERE name IN ('t4', 't5') ")).toEqual([]);

    writeFileSync(join(dir, '0004_t4.sql'), files['0004_t4.sql']!.replace('nope', 'id'));
    expect((await cairnFor(dir).up()).applied.map((a) => a.version)).toEqual(['0004', '0005', '0006']);
    expect((await cairnFor(dir).down({ to: '0' })).applied).toHaveLength(6);
    expect(await versions()).toEqual([]);
  });
});

describe('batches with a destructive step among them', () => {
  it('backs up before the destructive step and applies everything around it', async () => {
    const files: Record<string, string> = {};
    for (let i = 1; i <= 5; i++) files[`000${i}_t${i}.sql`] = `-- migrate:up\nCREATE TABLE t${i} (id INTEGER PRIMARY KEY);\nINSERT INTO t${i} (id) VALUES (${i});\n`;
    files['0003_t3.sql'] = '-- migrate:up\n-- cairn:allow unbatched-data-change a test table\nDELETE FROM t1 WHERE id > 0;\n';
    const { dir } = project(files);
    const notices: string[] = [];
    const result = await cairnFor(dir, (e) => e.type === 'notice' && notices.push(e.message)).up();
    expect(result.applied.map((a) => a.version)).toEqual(['0001', '0002', '0003', '0004', '0005']);
    expect(notices).toEqual([expect.stringMatching(/^backed up t1 \(1 row\) to \.cairn\/backups\/0003_t3-.* before 0003_t3$/)]);
    const [row] = await db.query<{ details: string }>("SELECT details FROM cairn_migrations WHERE version = '0003'");
    expect(JSON.parse(row!.details).backup.tables).toEqual({ t1: { before: 1, after: 0 } });
  });
});

describe('the lock row', () => {
  const LOCK_COLUMNS = 'id, owner, pid, host, acquired_at, expires_at';
  const hold = (owner: string, pid: number, host: string, expiresAt: number) =>
    db.query(`INSERT INTO cairn_migrations_lock (${LOCK_COLUMNS}) VALUES (1, '${owner} #x', ${pid}, '${host}', '2026-01-01T00:00:00.000Z', ${expiresAt})`);
  const createLockTable = () => db.query(`CREATE TABLE cairn_migrations_lock (id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, acquired_at TEXT NOT NULL, expires_at INTEGER NOT NULL)`);
  const ONE = { '0001_users.sql': '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n' };

  it('waits for a live holder until --lock-timeout, then fails naming it', async () => {
    const { root, dir } = project(ONE);
    await createLockTable();
    await hold('deploy@ci-runner', process.pid, hostname(), Date.now() + 60_000);
    const exit = runCli(['up', '--url', db.url, '--dir', dir, '--lock-timeout', '0.5'], { cwd: root });
    expect(exit.status, exit.stderr).toBe(4);
    expect(exit.stderr).toMatch(/error\[LOCK_TIMEOUT\]: another migration holds the lock on this database: deploy@ci-runner \(pid \d+ on /);
    expect(await db.query('SELECT name FROM sqlite_master WHERE name = \'users\'')).toEqual([]);
  });

  it('takes over an expired lock from another host, and a dead process on this host, saying so', async () => {
    const { dir } = project(ONE);
    await createLockTable();
    await hold('deploy@elsewhere', 4242, 'another-host', Date.now() - 1000);
    const notices: string[] = [];
    const onEvent = (e: CairnEvent) => e.type === 'notice' && notices.push(e.message);
    expect(await cairnFor(dir, onEvent).up()).toMatchObject({ success: true, filesExecuted: 1 });
    expect(notices).toEqual([expect.stringMatching(/^took over a stale migration lock held by deploy@elsewhere \(pid 4242 on another-host.*\): it expired at /)]);
    expect(await db.query('SELECT * FROM cairn_migrations_lock')).toEqual([]); // released

    const gone = spawnSync(process.execPath, ['-e', '0']).pid!; // a pid that no longer runs
    await hold('crashed@here', gone, hostname(), Date.now() + 60_000);
    notices.length = 0;
    await cairnFor(dir, onEvent).up();
    expect(notices).toEqual([expect.stringContaining(`process ${gone} on this host is no longer running`)]);
  });

  it('lets two processes migrate one local D1 at once: each migration runs exactly once', { timeout: 120_000 }, async () => {
    const files: Record<string, string> = {};
    for (let i = 1; i <= 8; i++) files[`000${i}_step.sql`] = `-- migrate:up\nCREATE TABLE step_${i} (id INTEGER PRIMARY KEY);\nINSERT INTO step_${i} (id) VALUES (${i});\n`;
    const { root, dir } = project(files);
    const args = ['up', '--url', db.url, '--dir', dir, '--lock-timeout', '60', '--json'];
    const exits = await Promise.all([startCli(args, root), startCli(args, root)].map((p) => p.exited));
    for (const exit of exits) expect(exit.code, exit.stderr).toBe(0);
    const executed = exits.map((exit) => (JSON.parse(exit.stdout) as { filesExecuted: number }).filesExecuted);
    expect(executed.reduce((a, b) => a + b, 0), `per process: ${executed.join(', ')}`).toBe(8);
    expect(await versions()).toEqual(Object.keys(files).map((f) => f.slice(0, 4)));
    expect(await db.query("SELECT count(*) AS n FROM sqlite_master WHERE name LIKE 'step\\_%' ESCAPE '\\'")).toEqual([{ n: 8 }]);
  });
});

describe('one database with wrangler', () => {
  const WRANGLER = fileURLToPath(new URL('../node_modules/wrangler/bin/wrangler.js', import.meta.url));

  it('`wrangler d1 execute --local` sees what `cairn up --url d1://local/<id>` applied, in the same file', { timeout: 120_000 }, async () => {
    const { root } = project({ '0001_users.sql': "-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\nINSERT INTO users (email) VALUES ('ada@example.com');\n" });
    const id = 'a3a7c0de-0000-4000-8000-00000000d1d1';
    writeFileSync(join(root, 'wrangler.toml'), `name = "app"\ncompatibility_date = "2025-01-01"\n\n[[d1_databases]]\nbinding = "DB"\ndatabase_name = "app-db"\ndatabase_id = "${id}"\n`);
    const up = runCli(['up', '--url', `d1://local/${id}`], { cwd: root });
    expect(up.status, up.stderr).toBe(0);
    expect(up.stdout).toContain(`Migrating d1 local ${id} (.wrangler/state)`);
    expect(existsSync(localD1File(join(root, '.wrangler', 'state'), id))).toBe(true);

    const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1', CLOUDFLARE_API_TOKEN: '' };
    const wrangler = spawnSync(process.execPath, [WRANGLER, 'd1', 'execute', 'DB', '--local', '--json', '--command', 'SELECT u.email, m.version FROM users u, cairn_migrations m'], { cwd: root, env, encoding: 'utf8', timeout: 100_000 });
    expect(wrangler.status, wrangler.stderr).toBe(0);
    expect(JSON.parse(wrangler.stdout)[0].results).toEqual([{ email: 'ada@example.com', version: '0001' }]);

    // And back: a row wrangler writes is in the database Cairn migrates.
    const insert = spawnSync(process.execPath, [WRANGLER, 'd1', 'execute', 'DB', '--local', '--command', "INSERT INTO users (email) VALUES ('from@wrangler')"], { cwd: root, env, encoding: 'utf8', timeout: 100_000 });
    expect(insert.status, insert.stderr).toBe(0);
    const driver = await openD1({ kind: 'local', databaseId: id, persistDir: join(root, '.wrangler', 'state') }, 'test', { create: false });
    try {
      expect(await driver.query({ sql: 'SELECT email FROM users ORDER BY id' })).toEqual([{ email: 'ada@example.com' }, { email: 'from@wrangler' }]);
    } finally {
      await driver.close();
    }
  });
});
