import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CairnError } from '../src/errors.js';
import { createTestDatabase } from '../src/testing/index.js';
import { PG_ADMIN_URL, postgresUnavailable, REQUIRE_PG, tempDir } from './support/databases.js';

/**
 * `createTestDatabase` (cairn-migrate/testing): a template built once from the
 * migrations, a fresh copy for each test, on real SQLite and PostgreSQL, with
 * real processes (and vitest's own pools) asking at the same time.
 */

const repo = resolve(import.meta.dirname, '..');
const USERS = "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\nINSERT INTO users (id, email) VALUES (1, 'seed@example.com');\n";

/** A project directory with `migrations/0001_users.sql`. */
function project(first = USERS): string {
  const root = tempDir('cairn-testing-');
  mkdirSync(join(root, 'migrations'));
  writeFileSync(join(root, 'migrations/0001_users.sql'), first);
  projects.push(root);
  return root;
}
const projects: string[] = [];

/** Runs SQL on a test database through the engine's own client. */
async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length), { fileMustExist: true });
    try {
      const statement = db.prepare(sql);
      return statement.reader ? (statement.all() as Record<string, unknown>[]) : (statement.run(), []);
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

async function postgresDatabases(prefix: string): Promise<string[]> {
  const rows = await query(PG_ADMIN_URL, `SELECT datname FROM pg_database WHERE starts_with(datname, '${prefix}') ORDER BY datname`);
  return rows.map((row) => String(row.datname));
}

/** As the store names a project: the first hex digits of its path's sha256. */
const projectId = (root: string) => createHash('sha256').update(root).digest('hex').slice(0, 8);

/** A script that makes a test database in `cwd` and prints what it got; SIGKILLs itself after when CRASH is set. */
const SCRIPT = `
import { createTestDatabase } from ${JSON.stringify(join(repo, 'dist/testing/index.js'))};
for (let i = 1; i < Number(process.env.COUNT ?? 1); i++) await (await createTestDatabase({ url: process.env.URL })).close();
const db = await createTestDatabase({ url: process.env.URL });
console.log(JSON.stringify({ url: db.url, built: db.template.built }));
if (process.env.CRASH) process.kill(process.pid, 'SIGKILL');
await db.close();
`;

function run(root: string, url: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  writeFileSync(join(root, 'make.mjs'), SCRIPT);
  return new Promise((done) => {
    const child = spawn(process.execPath, ['make.mjs'], { cwd: root, env: { ...process.env, DATABASE_URL: '', CAIRN_ENV: '', URL: url, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

// The templates these projects left on the server, with the spares kept beside them (test databases are dropped by close()),
// four projects at a time.
afterAll(async () => {
  if (await postgresUnavailable()) return;
  const cleanUp = async (root: string) => {
    // A spare whose process ended while making it is still being made by the server: wait for it, then drop it.
    await until(async () => (await query(PG_ADMIN_URL, `SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'CREATE DATABASE "cairn_spare_${projectId(root)}%'`)).length === 0);
    for (const name of await postgresDatabases(`cairn_tpl_${projectId(root)}`)) await query(PG_ADMIN_URL, `ALTER DATABASE "${name}" IS_TEMPLATE false`).then(() => query(PG_ADMIN_URL, `DROP DATABASE "${name}"`));
    for (const name of await postgresDatabases(`cairn_spare_${projectId(root)}_`)) await query(PG_ADMIN_URL, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    // Test databases that vitest workers, terminated before their close()'s drop in the background finished, left: a user's next
    // run sweeps them; these projects have no next run.
    for (const name of await postgresDatabases(`cairn_testdb_${projectId(root)}_`)) await query(PG_ADMIN_URL, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
  };
  const queue = [...projects];
  await Promise.all([1, 2, 3, 4].map(async () => {
    for (let root = queue.shift(); root !== undefined; root = queue.shift()) await cleanUp(root);
  }));
}, 300_000);

/** Polls `check` every 100 ms until it holds (false after 60 s). */
async function until(check: () => Promise<boolean>): Promise<boolean> {
  for (let waited = 0; waited < 60_000; waited += 100) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

const ENGINES = [
  { kind: 'sqlite', url: 'sqlite:' },
  { kind: 'postgres', url: PG_ADMIN_URL },
] as const;

for (const engine of ENGINES) {
  describe(`createTestDatabase [${engine.kind}]`, () => {
    let skip: string | null = null;
    beforeAll(async () => {
      if (engine.kind !== 'postgres') return;
      skip = await postgresUnavailable();
      if (skip && REQUIRE_PG) throw new Error(`PostgreSQL is required (CAIRN_REQUIRE_PG=1) but unreachable: ${skip}`);
    });

    it('gives each call a database of its own, holding the schema and rows of the migrations; close() removes it', async (context) => {
      if (skip) return context.skip();
      const cwd = project();
      const [a, b] = [await createTestDatabase({ cwd, url: engine.url }), await createTestDatabase({ cwd, url: engine.url })];
      expect(a.template.built).toBe(true);
      expect(b.template.built).toBe(false);
      expect(a.url).not.toBe(b.url);
      await query(a.url, "INSERT INTO users (id, email) VALUES (2, 'only-in-a@example.com')");
      expect((await query(a.url, 'SELECT email FROM users ORDER BY id')).map((r) => r.email)).toEqual(['seed@example.com', 'only-in-a@example.com']);
      expect((await query(b.url, 'SELECT email FROM users ORDER BY id')).map((r) => r.email)).toEqual(['seed@example.com']);
      // The history came along: `cairn up` on a test database has nothing to do.
      expect((await query(b.url, 'SELECT version FROM cairn_migrations')).map((r) => r.version)).toEqual(['0001']);
      await a.close();
      await expect(query(a.url, 'SELECT 1')).rejects.toThrow();
      expect((await query(b.url, 'SELECT count(*) AS n FROM users'))[0]!.n).toEqual(engine.kind === 'sqlite' ? 1 : '1');
      await b.close();
    });

    it('rebuilds the template after a migration is edited, and removes the old one', async (context) => {
      if (skip) return context.skip();
      const cwd = project();
      const before = await createTestDatabase({ cwd, url: engine.url });
      await before.close();
      writeFileSync(join(cwd, 'migrations/0001_users.sql'), USERS.replace('email TEXT NOT NULL', 'email TEXT NOT NULL, phone TEXT'));
      const after = await createTestDatabase({ cwd, url: engine.url });
      expect(after.template.built).toBe(true);
      expect(after.template.key).not.toBe(before.template.key);
      expect(await query(after.url, 'SELECT phone FROM users')).toEqual([{ phone: null }]);
      await after.close();
      const templates = engine.kind === 'sqlite' ? readdirSync(join(cwd, '.cairn/templates')) : await postgresDatabases(`cairn_tpl_${projectId(cwd)}`);
      expect(templates).toEqual([engine.kind === 'sqlite' ? `sqlite-${after.template.key}.db` : `cairn_tpl_${projectId(cwd)}_${after.template.key}`]);
    });

    it('rebuilds after an edit that keeps the size and the mtime, made right after a database was handed out', async (context) => {
      if (skip) return context.skip();
      const cwd = project();
      const file = join(cwd, 'migrations/0001_users.sql');
      const first = await createTestDatabase({ cwd, url: engine.url });
      const second = await createTestDatabase({ cwd, url: engine.url }); // a copy is being made ahead now
      const { mtime } = statSync(file);
      writeFileSync(file, USERS.replaceAll('email', 'phone'));
      utimesSync(file, mtime, mtime); // what a stat sees is unchanged
      const after = await createTestDatabase({ cwd, url: engine.url });
      expect(after.template.built).toBe(true);
      expect(await query(after.url, 'SELECT phone FROM users')).toEqual([{ phone: 'seed@example.com' }]);
      for (const db of [first, second, after]) await db.close();
    });

    it('rebuilds after a migration is added, and after an edit in a subdirectory (diesel layout)', async (context) => {
      if (skip) return context.skip();
      const cwd = project('');
      rmSync(join(cwd, 'migrations/0001_users.sql'));
      mkdirSync(join(cwd, 'migrations/2024-01-01-000000_users'));
      writeFileSync(join(cwd, 'migrations/2024-01-01-000000_users/up.sql'), USERS);
      const before = await createTestDatabase({ cwd, url: engine.url });
      await before.close();
      writeFileSync(join(cwd, 'migrations/2024-01-01-000000_users/up.sql'), USERS.replace('email TEXT NOT NULL', 'email TEXT NOT NULL, phone TEXT'));
      const edited = await createTestDatabase({ cwd, url: engine.url });
      expect(edited.template.built).toBe(true);
      expect(await query(edited.url, 'SELECT phone FROM users')).toEqual([{ phone: null }]);
      await edited.close();
      mkdirSync(join(cwd, 'migrations/2024-01-02-000000_posts'));
      writeFileSync(join(cwd, 'migrations/2024-01-02-000000_posts/up.sql'), 'CREATE TABLE posts (id INTEGER PRIMARY KEY);\n');
      const added = await createTestDatabase({ cwd, url: engine.url });
      expect(added.template.built).toBe(true);
      expect(await query(added.url, 'SELECT count(*) AS n FROM posts')).toHaveLength(1);
      await added.close();
    });

    it('leaves no test database behind when a process that made several ends (the one made ahead included; PostgreSQL keeps its spares)', async (context) => {
      if (skip) return context.skip();
      const cwd = project();
      const tmp = tempDir('cairn-testing-tmp-');
      const result = await run(cwd, engine.url, { COUNT: '3', TMPDIR: tmp });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      if (engine.kind === 'sqlite') expect(readdirSync(tmp)).toEqual([]);
      else {
        expect(await postgresDatabases(`cairn_testdb_${projectId(cwd)}_`)).toEqual([]);
        // At most the two spares, of the template now current, each a whole copy of it.
        const [template] = await postgresDatabases(`cairn_tpl_${projectId(cwd)}_`);
        const spares = await postgresDatabases(`cairn_spare_${projectId(cwd)}_`);
        expect(spares.length).toBeLessThanOrEqual(2);
        for (const spare of spares) expect(spare).toMatch(new RegExp(`^cairn_spare_${template!.slice('cairn_tpl_'.length)}_[01]$`));
      }
    });

    it('builds the template once when many processes ask at the same time', async (context) => {
      if (skip) return context.skip();
      const cwd = project();
      const results = await Promise.all([1, 2, 3, 4, 5].map(() => run(cwd, engine.url)));
      for (const result of results) expect(result.stderr).toBe('');
      const printed = results.map((result) => JSON.parse(result.stdout) as { url: string; built: boolean });
      expect(printed.filter((p) => p.built)).toHaveLength(1);
      expect(new Set(printed.map((p) => p.url)).size).toBe(5);
    });

    it('fails with the migration, file and line when a migration fails, and builds once it is fixed', async (context) => {
      if (skip) return context.skip();
      const cwd = project(`${USERS}INSERT INTO missing_table VALUES (1);\n`);
      const error = await createTestDatabase({ cwd, url: engine.url }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CairnError);
      expect((error as CairnError).code).toBe('MIGRATION_FAILED');
      expect((error as CairnError).message).toContain('0001_users failed at migrations/0001_users.sql:3');
      writeFileSync(join(cwd, 'migrations/0001_users.sql'), USERS);
      const db = await createTestDatabase({ cwd, url: engine.url });
      expect(db.template.built).toBe(true);
      await db.close();
    });

    it('refuses, as up does, a migration the linter finds an error in', async (context) => {
      if (skip) return context.skip();
      const cwd = project();
      writeFileSync(join(cwd, 'migrations/0002_drop.sql'), 'DROP TABLE users;\n');
      const error = await createTestDatabase({ cwd, url: engine.url }).catch((e: unknown) => e);
      expect((error as CairnError).code).toBe('LINT');
    });
  });
}

describe('createTestDatabase [sqlite only]', () => {
  it('deserializes the template into memory for `:memory:`, with the handle open', async () => {
    const cwd = project();
    const db = await createTestDatabase({ cwd, url: ':memory:' });
    expect(db.url).toBe('sqlite::memory:');
    db.db!.prepare("INSERT INTO users (id, email) VALUES (2, 'b@example.com')").run();
    expect(db.db!.prepare('SELECT count(*) AS n FROM users').get()).toEqual({ n: 2 });
    const other = await createTestDatabase({ cwd, url: ':memory:' });
    expect(other.db!.prepare('SELECT count(*) AS n FROM users').get()).toEqual({ n: 1 });
    await db.close();
    await other.close();
    expect(db.db!.open).toBe(false);
  });

  it('builds the template past a data assertion that only production data satisfies (assertions guard production, as in verify)', async () => {
    const cwd = project();
    writeFileSync(join(cwd, 'migrations/0002_drop_legacy.sql'), '-- cairn:assert legacy_migrated: SELECT count(*) > 1 FROM users\nALTER TABLE users ADD COLUMN legacy INTEGER;\n');
    const db = await createTestDatabase({ cwd, url: ':memory:' });
    expect(db.db!.prepare("SELECT name FROM pragma_table_info('users') WHERE name = 'legacy'").all()).toEqual([{ name: 'legacy' }]);
    await db.close();
  });

  it('opens a file copy when asked, and close() closes the handle and deletes the file', async () => {
    const cwd = project();
    const db = await createTestDatabase({ cwd, url: 'sqlite:', open: true });
    expect(db.db!.prepare('SELECT email FROM users').all()).toEqual([{ email: 'seed@example.com' }]);
    await db.close();
    expect(existsSync(db.url.slice('sqlite:'.length))).toBe(false);
  });

  it('takes over the build lock of a process that died holding it', async () => {
    const cwd = project();
    const first = await createTestDatabase({ cwd, url: 'sqlite:' });
    await first.close();
    // As a builder that crashed leaves it: no template, its lock file naming a process that is gone.
    rmSync(join(cwd, `.cairn/templates/sqlite-${first.template.key}.db`));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(join(cwd, `.cairn/templates/sqlite-${first.template.key}.lock`), `${dead}@${hostname()}`);
    const db = await createTestDatabase({ cwd, url: 'sqlite:' });
    expect(db.template).toEqual({ key: first.template.key, built: true });
    expect(readdirSync(join(cwd, '.cairn/templates'))).toEqual([`sqlite-${first.template.key}.db`]);
    await db.close();
  });
});

describe('createTestDatabase [postgres only]', () => {
  it('drops the test databases of a process that died without closing them', async (context) => {
    const unavailable = await postgresUnavailable();
    if (unavailable && !REQUIRE_PG) return context.skip();
    const cwd = project();
    const crashed = await run(cwd, PG_ADMIN_URL, { CRASH: '1' });
    const left = JSON.parse(crashed.stdout) as { url: string };
    const name = new URL(left.url).pathname.slice(1);
    expect(await postgresDatabases(name)).toEqual([name]);
    const next = await run(cwd, PG_ADMIN_URL);
    expect(next.code).toBe(0);
    expect(await postgresDatabases(name)).toEqual([]);
  });
});

describe('createTestDatabase [postgres spares]', () => {
  let skip: string | null = null;
  beforeAll(async () => {
    skip = await postgresUnavailable();
    if (skip && REQUIRE_PG) throw new Error(`PostgreSQL is required (CAIRN_REQUIRE_PG=1) but unreachable: ${skip}`);
  });

  /** Each process takes a test database, writes its own row, waits, then reads the table back (a database handed out twice shows the other's row). */
  const CLAIM = `
import pg from ${JSON.stringify(join(repo, 'node_modules/pg/lib/index.js'))};
import { createTestDatabase } from ${JSON.stringify(join(repo, 'dist/testing/index.js'))};
const db = await createTestDatabase({ url: process.env.URL, spares: Number(process.env.SPARES) });
const client = new pg.Client({ connectionString: db.url });
await client.connect();
const { rows: [{ oid }] } = await client.query('SELECT oid::text FROM pg_database WHERE datname = current_database()');
await client.query('INSERT INTO users (id, email) VALUES ($1, $2)', [100 + Number(process.env.N), 'process ' + process.env.N]);
await new Promise((resolve) => setTimeout(resolve, 1500));
const { rows } = await client.query('SELECT email FROM users ORDER BY id');
await client.end();
console.log(JSON.stringify({ url: db.url, oid, emails: rows.map((row) => row.email) }));
await db.close();
`;
  function claimer(cwd: string, n: number, spares: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
    writeFileSync(join(cwd, 'claim.mjs'), CLAIM);
    return new Promise((done) => {
      const child = spawn(process.execPath, ['claim.mjs'], { cwd, env: { ...process.env, DATABASE_URL: '', CAIRN_ENV: '', URL: PG_ADMIN_URL, SPARES: String(spares), N: String(n) } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('exit', (code) => done({ code, stdout, stderr }));
    });
  }
  const spareOids = async (cwd: string) => (await query(PG_ADMIN_URL, `SELECT oid::text FROM pg_database WHERE starts_with(datname, 'cairn_spare_${projectId(cwd)}_')`)).map((row) => String(row.oid));

  it('hands each of many processes asking at once a database of its own, spares and copies alike', async (context) => {
    if (skip) return context.skip();
    const cwd = project();
    (await createTestDatabase({ cwd, url: PG_ADMIN_URL, spares: 3 }).then((db) => db.close()));
    expect(await until(async () => (await spareOids(cwd)).length === 3)).toBe(true);
    const before = await spareOids(cwd);
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => claimer(cwd, n, 3)));
    for (const result of results) expect(result.stderr).toBe('');
    const printed = results.map((result) => JSON.parse(result.stdout) as { url: string; oid: string; emails: string[] });
    expect(new Set(printed.map((p) => p.oid)).size).toBe(6);
    printed.forEach((p, i) => expect(p.emails).toEqual(['seed@example.com', `process ${i + 1}`]));
    // The three spares were taken (renamed: the same database, under the taker's name); the other three copied or waited for a refill.
    expect(printed.filter((p) => before.includes(p.oid))).toHaveLength(3);
    expect(await postgresDatabases(`cairn_testdb_${projectId(cwd)}_`)).toEqual([]);
  });

  it("gives a process's first call a spare an earlier process left", async (context) => {
    if (skip) return context.skip();
    const cwd = project();
    (await createTestDatabase({ cwd, url: PG_ADMIN_URL }).then((db) => db.close()));
    expect(await until(async () => (await spareOids(cwd)).length === 2)).toBe(true);
    const before = await spareOids(cwd);
    const result = await claimer(cwd, 1, 2);
    expect(result.stderr).toBe('');
    expect(before).toContain((JSON.parse(result.stdout) as { oid: string }).oid);
  });

  it('drops the spares of the old template when a migration changes, and makes none with spares: 0', async (context) => {
    if (skip) return context.skip();
    const cwd = project();
    const first = await createTestDatabase({ cwd, url: PG_ADMIN_URL });
    await first.close();
    expect(await until(async () => (await spareOids(cwd)).length === 2)).toBe(true);
    writeFileSync(join(cwd, 'migrations/0001_users.sql'), USERS.replace('email TEXT NOT NULL', 'email TEXT NOT NULL, phone TEXT'));
    const second = await createTestDatabase({ cwd, url: PG_ADMIN_URL, spares: 0 });
    expect(await query(second.url, 'SELECT phone FROM users')).toEqual([{ phone: null }]);
    await second.close();
    expect(await until(async () => (await spareOids(cwd)).length === 0)).toBe(true);
    const third = await createTestDatabase({ cwd, url: PG_ADMIN_URL, copyAhead: false });
    await third.close();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await spareOids(cwd)).toEqual([]);
  });

  it('close() drops a test database a client is still connected to', async (context) => {
    if (skip) return context.skip();
    const cwd = project();
    const db = await createTestDatabase({ cwd, url: PG_ADMIN_URL });
    const client = new pg.Client({ connectionString: db.url });
    client.on('error', () => undefined);
    await client.connect();
    await db.close();
    await expect(query(db.url, 'SELECT 1')).rejects.toThrow(/does not exist/);
    await client.end().catch(() => undefined);
  });

  it('refuses a spares count that is not a whole number from 0 to 64', async () => {
    const error = await createTestDatabase({ cwd: project(), url: PG_ADMIN_URL, spares: -1 }).catch((e: unknown) => e);
    expect((error as CairnError).code).toBe('CONFIG');
    expect((error as CairnError).message).toContain('spares must be a whole number from 0 to 64, got -1');
  });
});

describe('the examples/testing vitest fixture', () => {
  let root: string;
  beforeAll(() => {
    // A project that installed cairn-migrate: the example and its migrations, the package linked in node_modules.
    root = tempDir('cairn-example-');
    cpSync(join(repo, 'examples/testing'), join(root, 'testing'), { recursive: true });
    cpSync(join(repo, 'examples/migrations'), join(root, 'migrations'), { recursive: true });
    mkdirSync(join(root, 'node_modules'));
    for (const entry of readdirSync(join(repo, 'node_modules'))) if (!entry.startsWith('.')) symlinkSync(join(repo, 'node_modules', entry), join(root, 'node_modules', entry));
    symlinkSync(repo, join(root, 'node_modules/cairn-migrate'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'blog', type: 'module', private: true }));
    projects.push(join(root, 'testing')); // the project directory vitest runs in: no config file, so the working directory
  });

  for (const pool of ['threads', 'forks']) {
    for (const engine of ENGINES) {
      it(`gives every test its own database in vitest's ${pool} pool [${engine.kind}]`, async (context) => {
        if (engine.kind === 'postgres' && (await postgresUnavailable()) && !REQUIRE_PG) return context.skip();
        const output = execFileSync(process.execPath, [join(repo, 'node_modules/vitest/vitest.mjs'), 'run', '--pool', pool, '--reporter', 'verbose'], {
          cwd: join(root, 'testing'),
          env: { ...process.env, TEST_DATABASE_URL: engine.url, DATABASE_URL: '', CAIRN_ENV: '' },
          encoding: 'utf8',
        }).replace(/\x1b\[[0-9;]*m/g, '');
        expect(output).toContain('Tests  6 passed (6)');
        expect(output).toContain('ada 1 sees only the row it wrote');
      });
    }
  }
});

describe('createTestDatabase [pglite, d1 local]', () => {
  for (const url of ['pglite:', 'd1://local/app-db']) {
    it(`copies a template directory per test database for ${url}`, async () => {
      const { openDriver } = await import('../src/drivers/index.js');
      const { parseDatabaseUrl } = await import('../src/config/url.js');
      const cwd = project("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\nINSERT INTO users (id, email) VALUES (1, 'seed@example.com');\n");
      const [a, b] = [await createTestDatabase({ cwd, url }), await createTestDatabase({ cwd, url })];
      expect([a.template.built, b.template.built]).toEqual([true, false]);
      const sql = async (db: string, text: string) => {
        const driver = await openDriver(parseDatabaseUrl(db, cwd), { create: false });
        try {
          return await driver.query({ sql: text });
        } finally {
          await driver.close();
        }
      };
      await sql(a.url, "INSERT INTO users (id, email) VALUES (2, 'only-in-a@example.com')");
      expect((await sql(a.url, 'SELECT email FROM users ORDER BY id')).map((r) => r.email)).toEqual(['seed@example.com', 'only-in-a@example.com']);
      expect((await sql(b.url, 'SELECT email FROM users ORDER BY id')).map((r) => r.email)).toEqual(['seed@example.com']);
      await a.close();
      await b.close();
      expect(readdirSync(join(cwd, '.cairn/templates')).filter((name) => !name.endsWith('.lock'))).toEqual([`${url.startsWith('pglite') ? 'pglite' : 'd1'}-${a.template.key}`]);
    });
  }
});
