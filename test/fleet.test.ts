import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { localD1File } from '../src/drivers/d1/local.js';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLI, createPostgresDatabase, postgresUnavailable, REQUIRE_PG, runCli, tempDir, writeMigrations, type TestDatabase } from './support/databases.js';
import { killLeftovers, startCli } from './support/processes.js';

/**
 * `cairn fleet` over many SQLite tenant files, as real processes: every
 * migration exactly once per file, the failure policy, status naming what
 * failed, a kill -9 in the middle, two fleets at once.
 */

afterEach(killLeftovers);

/** Each migration logs itself: a second run of any would show as a count of 2 (and CREATE would fail). */
const MIGRATIONS: Record<string, string> = {
  '0001_users.sql': `-- migrate:up
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
CREATE TABLE applied_log (version TEXT NOT NULL);
INSERT INTO applied_log (version) VALUES ('0001');
-- migrate:down
DROP TABLE applied_log;
DROP TABLE users;
`,
  '0002_posts.sql': `-- migrate:up
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), title TEXT NOT NULL);
INSERT INTO applied_log (version) VALUES ('0002');
-- migrate:down
DROP TABLE posts;
`,
};

/** Fails where two users share an email: the new constraint the data violates. */
const UNIQUE_EMAIL = `-- migrate:up
CREATE UNIQUE INDEX users_email ON users (email);
INSERT INTO applied_log (version) VALUES ('0003');
-- migrate:down
DROP INDEX users_email;
`;

function project(tenants: number, migrations: Record<string, string> = MIGRATIONS): { dir: string; files: string[] } {
  const dir = tempDir('cairn-fleet-');
  writeMigrations(dir, migrations);
  writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ fleet: { tenants: 'tenants/*.db' } }));
  mkdirSync(join(dir, 'tenants'));
  const files = Array.from({ length: tenants }, (_, i) => join(dir, 'tenants', `t${String(i + 1).padStart(4, '0')}.db`));
  for (const file of files) new Database(file).close();
  return { dir, files };
}

function query<Row>(file: string, sql: string): Row[] {
  const db = new Database(file);
  try {
    const statement = db.prepare(sql);
    return (statement.reader ? statement.all() : (statement.run(), [])) as Row[];
  } finally {
    db.close();
  }
}

/** Every tenant has exactly `versions`, each applied once, in its log and in its history. */
function expectExactlyOnce(files: readonly string[], versions: readonly string[]): void {
  for (const file of files) {
    const log = query<{ version: string; n: number }>(file, 'SELECT version, count(*) AS n FROM applied_log GROUP BY version ORDER BY version');
    expect(log, file).toEqual(versions.map((version) => ({ version, n: 1 })));
    const history = query<{ version: string }>(file, "SELECT version FROM cairn_migrations WHERE state = 'applied' ORDER BY version");
    expect(history.map((row) => row.version), file).toEqual(versions);
  }
}

describe('cairn fleet on SQLite tenant files', () => {
  it('applies everything exactly once to 200 files; a failing tenant stops the run, status names it, and after the fix a second run finishes', () => {
    const { dir, files } = project(200);
    const first = runCli(['fleet', 'up'], { cwd: dir });
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/\[200\/200\]/);
    expect(first.stdout).toMatch(/applied\s+200/);
    expectExactlyOnce(files, ['0001', '0002']);

    // Tenant 50's data violates the constraint 0003 adds.
    for (const file of files) query(file, "INSERT INTO users (email) VALUES ('a@example.com')");
    query(files[49]!, "INSERT INTO users (email) VALUES ('a@example.com')");
    writeMigrations(dir, { '0003_unique_email.sql': UNIQUE_EMAIL });
    const failing = runCli(['fleet', 'up', '--concurrency', '2'], { cwd: dir });
    expect(failing.status).toBe(1);
    expect(failing.stderr).toMatch(/tenants\/t0050\.db: MIGRATION_FAILED: .*0003_unique_email\.sql.*UNIQUE/);
    expect(failing.stdout).toMatch(/Failed:\n.*\n\s+tenants\/t0050\.db\s+MIGRATION_FAILED/);
    expect(failing.stdout).toMatch(/not-started\s+\d+/);
    const notStarted = Number(/not-started\s+(\d+)/.exec(failing.stdout)![1]);
    expect(notStarted).toBeGreaterThan(100); // no new target started after the failure (at most the one running beside it finished)
    expect(query(files[0]!, "SELECT count(*) AS n FROM applied_log WHERE version = '0003'")).toEqual([{ n: 1 }]);
    expect(query(files[49]!, "SELECT count(*) AS n FROM applied_log WHERE version = '0003'")).toEqual([{ n: 0 }]);
    expect(query(files[199]!, "SELECT count(*) AS n FROM applied_log WHERE version = '0003'")).toEqual([{ n: 0 }]);

    const status = runCli(['fleet', 'status'], { cwd: dir });
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/0003\s+unique_email\s+\d+\/200/);
    expect(status.stdout).toMatch(/Failed:\n.*\n\s+tenants\/t0050\.db\s+0002\s+0003\s+last fleet up .*MIGRATION_FAILED.*UNIQUE/);
    const json = JSON.parse(runCli(['fleet', 'status', '--json'], { cwd: dir }).stdout) as { counts: Record<string, number>; targets: { target: string; state: string; pending: string[] }[] };
    expect(json.targets.find((t) => t.target === 'tenants/t0050.db')).toMatchObject({ state: 'failed', pending: ['0003'] });
    expect(json.counts).toMatchObject({ failed: 1, behind: notStarted, 'up-to-date': 199 - notStarted });

    // Fix the data; the next run finishes what is behind and repeats nothing.
    query(files[49]!, "DELETE FROM users WHERE id = (SELECT max(id) FROM users)");
    const again = runCli(['fleet', 'up'], { cwd: dir });
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`applied\\s+${notStarted + 1}\\n\\s+up-to-date\\s+${199 - notStarted}\\n`));
    expectExactlyOnce(files, ['0001', '0002', '0003']);
    expect(runCli(['fleet', 'status', '--exit-code'], { cwd: dir }).stdout).toMatch(/200 up to date, 0 behind, 0 failed, 0 locked/);
  });

  it('--keep-going applies to every other tenant and reports every failure; --canary stops before the rest when a canary fails', () => {
    const { dir, files } = project(12, { ...MIGRATIONS, '0003_unique_email.sql': UNIQUE_EMAIL });
    writeMigrations(dir, MIGRATIONS);
    // Two tenants already have duplicate emails: apply 0001 on them first, then their data.
    for (const index of [1, 7]) {
      expect(runCli(['up', '--url', `sqlite:${files[index]!}`, '--to', '0001'], { cwd: dir }).status).toBe(0);
      query(files[index]!, "INSERT INTO users (email) VALUES ('same@example.com'), ('same@example.com')");
    }
    const canary = runCli(['fleet', 'up', '--canary', '3', '--json'], { cwd: dir });
    expect(canary.status).toBe(1);
    const canaryResult = JSON.parse(canary.stdout) as { stopped: string; counts: Record<string, number> };
    expect(canaryResult.stopped).toBe('canary');
    expect(canaryResult.counts).toEqual({ applied: 2, 'up-to-date': 0, failed: 1, 'not-started': 9 });

    const all = runCli(['fleet', 'up', '--keep-going', '--json'], { cwd: dir });
    expect(all.status).toBe(1);
    const result = JSON.parse(all.stdout) as { stopped: null; counts: Record<string, number>; targets: { target: string; outcome: string; error: { code: string } | null }[] };
    expect(result.counts).toEqual({ applied: 8, 'up-to-date': 2, failed: 2, 'not-started': 0 });
    expect(result.targets.filter((t) => t.outcome === 'failed').map((t) => [t.target, t.error?.code])).toEqual([
      ['tenants/t0002.db', 'MIGRATION_FAILED'],
      ['tenants/t0008.db', 'MIGRATION_FAILED'],
    ]);
    // The failing ones keep what came before the failing migration.
    expect(query(files[1]!, 'SELECT version FROM applied_log ORDER BY version')).toEqual([{ version: '0001' }, { version: '0002' }]);
  });

  it('--targets takes one URL a line; mistakes in the selection are errors that say what to do', () => {
    const { dir, files } = project(3);
    writeFileSync(join(dir, 'targets.txt'), `# two of the three\nsqlite:${files[0]!}\n\ntenants/t0003.db   # a bare path, relative to the project\n`);
    const result = JSON.parse(runCli(['fleet', 'up', '--targets', 'targets.txt', '--json'], { cwd: dir }).stdout) as { targets: { target: string; group: string; outcome: string }[] };
    expect(result.targets).toEqual([expect.objectContaining({ target: 'tenants/t0001.db', group: 'targets', outcome: 'applied' }), expect.objectContaining({ target: 'tenants/t0003.db', outcome: 'applied' })]);
    expect(query(files[1]!, "SELECT count(*) AS n FROM sqlite_master WHERE name = 'users'")).toEqual([{ n: 0 }]);

    const unknown = runCli(['fleet', 'up', '--group', 'nope'], { cwd: dir });
    expect([unknown.status, unknown.stderr]).toEqual([2, expect.stringMatching(/fleet group "nope" is not defined\n\s+hint: groups in .*cairn\.config\.json: tenants/)]);
    const url = runCli(['fleet', 'up', '--url', `sqlite:${files[1]!}`], { cwd: dir });
    expect([url.status, url.stderr]).toEqual([2, expect.stringMatching(/--url names one database/)]);
    const none = runCli(['fleet', 'status'], { cwd: tempDir() });
    expect([none.status, none.stderr]).toEqual([2, expect.stringMatching(/no fleet targets[\s\S]*hint: add `fleet: \{ tenants: 'tenants\/\*\.db' \}`/)]);
  });

  it("runs the README's example as written, and prints what the README shows", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Many databases: `cairn fleet`'));
    const [script, shown] = [...section.matchAll(/```(?:sh)?\n([\s\S]*?)```/g)].map((match) => match[1]!);
    const dir = tempDir('cairn-fleet-readme-');
    writeMigrations(dir, MIGRATIONS);
    const result = spawnSync('bash', ['--norc', '--noprofile', '-eo', 'pipefail', '-c', `cairn() { "${process.execPath}" "${CLI}" "$@"; }\n${script}`], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DATABASE_URL: '', CAIRN_ENV: '', BASH_ENV: '' } });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const normalize = (text: string) => text.replace(/\d+(\.\d+)? (ms|s|db\/s|databases\/s)/g, 'N $2').replace(/\[\d\/3\] tenants\/\w+\.db/g, '[n/3] tenants/x.db');
    expect(normalize(result.stdout)).toContain(normalize(shown!.trim()));
    expect(result.stdout).toMatch(/3 up to date, 0 behind, 0 failed, 0 locked/);
  });

  it('kill -9 in the middle of a fleet run, then fleet up again: every tenant fully migrated, none twice', async () => {
    const slow = { ...MIGRATIONS, '0003_bulk.sql': `-- migrate:up\nCREATE TABLE bulk (n INTEGER NOT NULL);\nINSERT INTO bulk (n) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) SELECT x FROM c;\nINSERT INTO applied_log (version) VALUES ('0003');\n` };
    const { dir, files } = project(80, slow);
    const run = startCli(['fleet', 'up', '--concurrency', '3'], dir);
    await run.waitFor(/\[\s*20\/80\]/);
    run.kill();
    const killed = await run.exited;
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stdout).not.toMatch(/\[80\/80\]/);

    const again = runCli(['fleet', 'up'], { cwd: dir });
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/up-to-date\s+\d+/);
    expectExactlyOnce(files, ['0001', '0002', '0003']);
  });

  it('Ctrl-C stops the fleet: no new tenant starts, exit 130; the next run finishes', async () => {
    const slow = { ...MIGRATIONS, '0003_bulk.sql': `-- migrate:up\nCREATE TABLE bulk (n INTEGER NOT NULL);\nINSERT INTO bulk (n) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) SELECT x FROM c;\nINSERT INTO applied_log (version) VALUES ('0003');\n` };
    const { dir, files } = project(40, slow);
    const run = startCli(['fleet', 'up', '--json'], dir);
    // --json prints nothing until the end: wait for the first tenant to be done on disk.
    while (query<{ n: number }>(files[0]!, "SELECT count(*) AS n FROM sqlite_master WHERE name = 'cairn_migrations'")[0]!.n === 0 || query<{ n: number }>(files[0]!, 'SELECT count(*) AS n FROM cairn_migrations')[0]!.n < 3) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    process.kill(run.pid, 'SIGINT');
    const exit = await run.exited;
    expect(exit.code).toBe(130);
    expect(exit.stderr).toMatch(/stopping: interrupted; no new target starts/);
    const result = JSON.parse(exit.stdout) as { stopped: string; counts: Record<string, number> };
    expect(result.stopped).toBe('interrupted');
    expect(result.counts['not-started']).toBeGreaterThan(0);

    expect(runCli(['fleet', 'up'], { cwd: dir }).status).toBe(0);
    expectExactlyOnce(files, ['0001', '0002', '0003']);
  });

  it('fleet status names a tenant whose lock another migration holds right now, and who holds it', async () => {
    const slow = { ...MIGRATIONS, '0003_slow.sql': `-- migrate:up\nCREATE TABLE total (n INTEGER NOT NULL);\nINSERT INTO total (n) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) SELECT sum(x) FROM c;\n` };
    const { dir, files } = project(5, slow);
    const single = startCli(['up', '--url', `sqlite:${files[2]!}`], dir);
    await single.waitFor(/0003_slow … /);
    const status = JSON.parse(runCli(['fleet', 'status', '--json'], { cwd: dir }).stdout) as { counts: Record<string, number>; targets: { target: string; state: string; reason: string }[] };
    expect((await single.exited).code).toBe(0);
    expect(status.targets[2]).toMatchObject({ target: 'tenants/t0003.db', state: 'locked', reason: expect.stringMatching(new RegExp(`held by .*pid ${single.pid}`)) });
    expect(status.counts).toEqual({ 'up-to-date': 0, behind: 4, failed: 0, locked: 1 });
  });

  it('two fleet up at once: each database\'s lock keeps every migration exactly once', async () => {
    const { dir, files } = project(80);
    const [a, b] = [startCli(['fleet', 'up', '--json'], dir), startCli(['fleet', 'up', '--json'], dir)];
    const results = await Promise.all([a.exited, b.exited]);
    for (const exit of results) expect(exit.code, exit.stderr).toBe(0);
    const counts = results.map((exit) => (JSON.parse(exit.stdout) as { counts: Record<string, number> }).counts);
    // Every tenant was migrated by one of the two; the other found it up to date.
    expect(counts[0]!.applied! + counts[1]!.applied!).toBe(80);
    expect(counts[0]!['up-to-date']! + counts[1]!['up-to-date']!).toBe(80);
    expectExactlyOnce(files, ['0001', '0002']);
  });
});

/** The same migrations for PostgreSQL: each tenant schema logs what ran in it. */
const PG_MIGRATIONS: Record<string, string> = {
  '0001_users.sql': `-- migrate:up
CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text);
CREATE TABLE applied_log (version text NOT NULL);
INSERT INTO applied_log (version) VALUES ('0001');
-- migrate:down
DROP TABLE applied_log;
DROP TABLE users;
`,
  '0002_posts.sql': `-- migrate:up
CREATE TABLE posts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text NOT NULL);
INSERT INTO applied_log (version) VALUES ('0002');
-- migrate:down
DROP TABLE posts;
`,
};

/** Fails in a schema where a user has no email: the new constraint the data violates. */
const EMAIL_REQUIRED = `-- migrate:up
SET lock_timeout = '5s';
-- cairn:allow set-not-null-scan tenant tables are small
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
INSERT INTO applied_log (version) VALUES ('0003');
-- migrate:down
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
`;

describe('cairn fleet on PostgreSQL: a schema per tenant, and a list of URLs', () => {
  let unavailable: string | null = null;
  const dropped: TestDatabase[] = [];
  beforeAll(async () => {
    unavailable = await postgresUnavailable();
    if (unavailable && REQUIRE_PG) throw new Error(`PostgreSQL is required (CAIRN_REQUIRE_PG=1) but unreachable: ${unavailable}`);
  });
  beforeEach((context) => {
    if (unavailable) context.skip();
  });
  afterEach(async () => {
    for (const db of dropped.splice(0)) await db.drop();
  });

  /** One database with `schemas` tenant schemas (tenant_01 …), and `regions` more databases listed by URL. */
  async function pgProject(schemas: number, regions = 0): Promise<{ dir: string; server: TestDatabase; tenants: string[]; regionDbs: TestDatabase[] }> {
    const server = await createPostgresDatabase();
    dropped.push(server);
    const tenants = Array.from({ length: schemas }, (_, i) => `tenant_${String(i + 1).padStart(2, '0')}`);
    await server.query(tenants.map((schema) => `CREATE SCHEMA ${schema};`).join('\n'));
    await server.query('CREATE SCHEMA other'); // not a tenant: the pattern leaves it out
    const regionDbs: TestDatabase[] = [];
    for (let i = 0; i < regions; i++) regionDbs.push(await createPostgresDatabase());
    dropped.push(...regionDbs);
    const dir = tempDir('cairn-fleet-pg-');
    writeMigrations(dir, PG_MIGRATIONS);
    const fleet = { tenants: { url: server.url, schemas: 'tenant\\_%' }, ...(regions > 0 ? { regions: regionDbs.map((db) => db.url) } : {}) };
    writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ fleet }));
    return { dir, server, tenants, regionDbs };
  }

  async function expectSchemasOnce(server: TestDatabase, tenants: readonly string[], versions: readonly string[]): Promise<void> {
    const union = tenants.map((schema) => `SELECT '${schema}' AS tenant, version, count(*)::int AS n FROM ${schema}.applied_log GROUP BY version`).join(' UNION ALL ');
    const rows = await server.query<{ tenant: string; version: string; n: number }>(`${union} ORDER BY tenant, version`);
    expect(rows).toEqual(tenants.flatMap((tenant) => versions.map((version) => ({ tenant, version, n: 1 }))));
    const history = tenants.map((schema) => `SELECT '${schema}' AS tenant, count(*)::int AS n FROM ${schema}.cairn_migrations WHERE state = 'applied'`).join(' UNION ALL ');
    expect(await server.query(`${history} ORDER BY tenant`)).toEqual(tenants.map((tenant) => ({ tenant, n: versions.length })));
  }

  it('50 schemas and 2 databases: everything exactly once, each schema its own history; a failing schema stops the run, status names it; after the fix it finishes', async () => {
    const { dir, server, tenants, regionDbs } = await pgProject(50, 2);
    const first = runCli(['fleet', 'up', '--json'], { cwd: dir });
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ success: true, total: 52, counts: { applied: 52 } });
    await expectSchemasOnce(server, tenants, ['0001', '0002']);
    expect(await server.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema IN ('public', 'other')")).toEqual([{ n: 0 }]);
    for (const db of regionDbs) expect(await db.query('SELECT version FROM applied_log ORDER BY version')).toEqual([{ version: '0001' }, { version: '0002' }]);

    await server.query("INSERT INTO tenant_20.users (email) VALUES (NULL)");
    writeMigrations(dir, { '0003_email_required.sql': EMAIL_REQUIRED });
    const failing = runCli(['fleet', 'up', '--group', 'tenants', '--concurrency', '2'], { cwd: dir });
    expect(failing.status).toBe(1);
    expect(failing.stdout).toMatch(/Failed:\n.*\n\s+\S+\?schema=tenant_20\s+MIGRATION_FAILED\s+.*0003_email_required\.sql:4:1: column "email" of relation "users" contains null values/);
    expect(failing.stdout).toMatch(/not-started\s+\d+/);

    const status = JSON.parse(runCli(['fleet', 'status', '--json'], { cwd: dir }).stdout) as { counts: Record<string, number>; versions: { version: string; applied: number }[]; targets: { target: string; state: string; reason: string | null }[] };
    const failed = status.targets.filter((t) => t.state === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.target).toMatch(/\?schema=tenant_20$/);
    expect(failed[0]!.reason).toMatch(/MIGRATION_FAILED.*null values/);
    expect(status.versions.find((v) => v.version === '0003')!.applied).toBe(status.counts['up-to-date']);
    expect(status.counts.behind).toBeGreaterThan(0); // the regions and the schemas never started

    await server.query('DELETE FROM tenant_20.users WHERE email IS NULL');
    const again = runCli(['fleet', 'up'], { cwd: dir });
    expect(again.status, again.stderr).toBe(0);
    await expectSchemasOnce(server, tenants, ['0001', '0002', '0003']);
    expect(runCli(['fleet', 'status'], { cwd: dir }).stdout).toMatch(/52 up to date, 0 behind, 0 failed, 0 locked/);
  });

  it('kill -9 in the middle, then fleet up again; and two fleet up at once: every schema fully migrated, each migration once', async () => {
    const slow = { ...PG_MIGRATIONS, '0003_slow.sql': "-- migrate:up\nSELECT pg_sleep(0.05);\nINSERT INTO applied_log (version) VALUES ('0003');\n" };
    const { dir, server, tenants } = await pgProject(50);
    writeMigrations(dir, slow);
    const run = startCli(['fleet', 'up', '--concurrency', '2'], dir);
    // Never more than --concurrency connections of this run on the server at once.
    let most = 0;
    let reached = false;
    const waited = run.waitFor(/\[\s*10\/50\]/).finally(() => (reached = true));
    const database = new URL(server.url).pathname.slice(1);
    while (!reached) {
      const [row] = await server.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = '${database}' AND application_name LIKE 'cairn%pid ${run.pid}'`);
      most = Math.max(most, row!.n);
    }
    await waited;
    run.kill();
    expect((await run.exited).signal).toBe('SIGKILL');
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);

    const [a, b] = [startCli(['fleet', 'up', '--json'], dir), startCli(['fleet', 'up', '--json'], dir)];
    const results = await Promise.all([a.exited, b.exited]);
    for (const exit of results) expect(exit.code, exit.stderr).toBe(0);
    await expectSchemasOnce(server, tenants, ['0001', '0002', '0003']);
  });
});

describe('cairn fleet on local D1 databases (miniflare)', () => {
  it('names local D1 databases by their wrangler bindings too', { timeout: 120_000 }, () => {
    const dir = tempDir('cairn-fleet-d1-bindings-');
    writeMigrations(dir, MIGRATIONS);
    writeFileSync(join(dir, 'wrangler.toml'), 'name = "app"\n\n[[d1_databases]]\nbinding = "EU"\ndatabase_name = "tenant-eu"\ndatabase_id = "eu-0000-1111"\n\n[[d1_databases]]\nbinding = "US"\ndatabase_name = "tenant-us"\ndatabase_id = "us-0000-2222"\n');
    writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ migrations: 'migrations', fleet: { edge: { d1: ['EU', 'tenant-us', 'plain-id'] } } }));
    const up = runCli(['fleet', 'up'], { cwd: dir });
    expect(up.status, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/applied\s+3/);
    expectExactlyOnce(['eu-0000-1111', 'us-0000-2222', 'plain-id'].map((id) => localD1File(join(dir, '.wrangler', 'state'), id)), ['0001', '0002']);
  });

  it('20 D1 databases: everything exactly once; a failing one stops the run and status names it; after the fix it finishes', { timeout: 180_000 }, () => {
    const dir = tempDir('cairn-fleet-d1-');
    writeMigrations(dir, MIGRATIONS);
    const ids = Array.from({ length: 20 }, (_, i) => `tenant-${String(i + 1).padStart(2, '0')}`);
    writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ fleet: { edge: { d1: ids, persistTo: '.state' } } }));
    const file = (id: string) => localD1File(join(dir, '.state'), id);
    const first = runCli(['fleet', 'up'], { cwd: dir });
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/applied\s+20/);
    expectExactlyOnce(ids.map(file), ['0001', '0002']);

    query(file(ids[4]!), "INSERT INTO users (email) VALUES ('same@example.com'), ('same@example.com')");
    writeMigrations(dir, { '0003_unique_email.sql': UNIQUE_EMAIL });
    const failing = runCli(['fleet', 'up', '--concurrency', '1'], { cwd: dir });
    expect(failing.status).toBe(1);
    expect(failing.stdout).toMatch(/Failed:\n.*\n\s+d1 local tenant-05 \(\.state\)\s+MIGRATION_FAILED\s+.*UNIQUE/);
    expect(failing.stdout).toMatch(/applied\s+4\n\s+failed\s+1\n\s+not-started\s+15/);
    expect(runCli(['fleet', 'status'], { cwd: dir }).stdout).toMatch(/Failed:\n.*\n\s+d1 local tenant-05 \(\.state\)\s+0002\s+0003\s+last fleet up .*UNIQUE/);

    query(file(ids[4]!), 'DELETE FROM users');
    const again = runCli(['fleet', 'up'], { cwd: dir });
    expect(again.status, again.stderr).toBe(0);
    expectExactlyOnce(ids.map(file), ['0001', '0002', '0003']);
  });
});
