import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, tempDir, writeMigrations } from './support/databases.js';
import { killLeftovers, startCli } from './support/processes.js';

/**
 * `cairn fleet down`, `fleet verify` and `fleet lint` over SQLite tenant
 * files, as real processes: the same bounded, canary-first, resumable run as
 * `fleet up`, each down exactly once, drift named per tenant, lint once.
 */

afterEach(killLeftovers);

/** Every up and every down logs itself in `log`: a step run twice shows as a count of 2. */
const MIGRATIONS: Record<string, string> = {
  '0001_create_users.sql': `-- migrate:up
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
CREATE UNIQUE INDEX users_email_unique ON users (email);
CREATE TABLE log (step TEXT NOT NULL);
INSERT INTO log (step) VALUES ('up 0001');
-- migrate:down
DROP TABLE log;
DROP TABLE users;
`,
  '0002_create_posts.sql': `-- migrate:up
CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
INSERT INTO log (step) VALUES ('up 0002');
-- migrate:down
DROP TABLE posts;
INSERT INTO log (step) VALUES ('down 0002');
`,
  // The down puts the uniqueness back: a tenant that has two users with one email since cannot go down.
  '0003_drop_email_unique.sql': `-- migrate:up
DROP INDEX users_email_unique;
INSERT INTO log (step) VALUES ('up 0003');
-- migrate:down
CREATE UNIQUE INDEX users_email_unique ON users (email);
INSERT INTO log (step) VALUES ('down 0003');
`,
};

function project(tenants: number, migrations: Record<string, string> = MIGRATIONS): { dir: string; files: string[] } {
  const dir = tempDir('cairn-fleet-cmd-');
  writeMigrations(dir, migrations);
  writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ fleet: { tenants: 'tenants/*.db' } }));
  mkdirSync(join(dir, 'tenants'));
  const files = Array.from({ length: tenants }, (_, i) => join(dir, 'tenants', `t${String(i + 1).padStart(3, '0')}.db`));
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

/** The tenant's log, step by step with how many times each ran, and the versions its history has applied. */
function state(file: string): { log: Record<string, number>; applied: string[] } {
  const log = Object.fromEntries(query<{ step: string; n: number }>(file, 'SELECT step, count(*) AS n FROM log GROUP BY step').map((row) => [row.step, row.n]));
  const applied = query<{ version: string }>(file, "SELECT version FROM cairn_migrations WHERE state = 'applied' ORDER BY version").map((row) => row.version);
  return { log, applied };
}

describe('cairn fleet down', () => {
  it('rolls every tenant back to --to, each down once; a tenant whose down fails stops the run; after the fix a second run finishes and repeats nothing', () => {
    const { dir, files } = project(30);
    expect(runCli(['fleet', 'up'], { cwd: dir }).status).toBe(0);
    // Tenant 10 has, since 0003, two users with one email: its down cannot put the unique index back.
    query(files[9]!, "INSERT INTO users (email) VALUES ('same@example.com'), ('same@example.com')");

    const failing = runCli(['fleet', 'down', '--to', '0001', '--concurrency', '1'], { cwd: dir });
    expect(failing.status).toBe(1);
    expect(failing.stderr).toMatch(/tenants\/t010\.db: MIGRATION_FAILED: .*0003_drop_email_unique\.sql.*UNIQUE/);
    expect(failing.stderr).toMatch(/stopping: tenants\/t010\.db failed; the targets already running finish, no new one starts/);
    expect(failing.stdout).toMatch(/rolled-back\s+9\n\s+failed\s+1\n\s+not-started\s+20\n/);
    expect(failing.stdout).toMatch(/20 targets were not started: fix the failure and run `cairn fleet down --to 0001` again/);
    expect(state(files[0]!).applied).toEqual(['0001']);
    // The failing down rolled back whole: tenant 10 keeps everything; the ones never started too.
    expect(state(files[9]!)).toEqual({ log: { 'up 0001': 1, 'up 0002': 1, 'up 0003': 1 }, applied: ['0001', '0002', '0003'] });
    expect(state(files[29]!).applied).toEqual(['0001', '0002', '0003']);

    query(files[9]!, "DELETE FROM users WHERE email = 'same@example.com' AND id = (SELECT max(id) FROM users)");
    const again = runCli(['fleet', 'down', '--to', '0001', '--json'], { cwd: dir });
    expect(again.status, again.stderr).toBe(0);
    const result = JSON.parse(again.stdout) as { success: boolean; counts: Record<string, number>; targets: { target: string; outcome: string; rolledBack: string[] }[] };
    expect(result).toMatchObject({ success: true, counts: { 'rolled-back': 21, unchanged: 9, failed: 0, 'not-started': 0 } });
    expect(result.targets[9]).toMatchObject({ target: 'tenants/t010.db', outcome: 'rolled-back', rolledBack: ['0003_drop_email_unique', '0002_create_posts'] });
    for (const file of files) expect(state(file), file).toEqual({ log: { 'up 0001': 1, 'up 0002': 1, 'up 0003': 1, 'down 0003': 1, 'down 0002': 1 }, applied: ['0001'] });

    // The same command once more changes nothing; fleet up brings them all back.
    expect(runCli(['fleet', 'down', '--to', '0001'], { cwd: dir }).stdout).toMatch(/unchanged\s+30\n/);
    expect(runCli(['fleet', 'status'], { cwd: dir }).stdout).toMatch(/0 up to date, 30 behind/);
  });

  it('--canary stops before the rest when a canary fails; a bad --to is refused before any tenant is touched', () => {
    const { dir, files } = project(8);
    expect(runCli(['fleet', 'up'], { cwd: dir }).status).toBe(0);
    query(files[1]!, "INSERT INTO users (email) VALUES ('x@example.com'), ('x@example.com')");
    const canary = JSON.parse(runCli(['fleet', 'down', '--to', '0002', '--canary', '2', '--json'], { cwd: dir }).stdout) as { stopped: string; counts: Record<string, number> };
    expect(canary).toMatchObject({ stopped: 'canary', counts: { 'rolled-back': 1, unchanged: 0, failed: 1, 'not-started': 6 } });

    const unknown = runCli(['fleet', 'down', '--to', '0009'], { cwd: dir });
    expect([unknown.status, unknown.stderr]).toEqual([2, expect.stringMatching(/there is no migration with version 0009/)]);
    const missing = runCli(['fleet', 'down'], { cwd: dir });
    expect([missing.status, missing.stderr]).toEqual([2, expect.stringMatching(/required option '--to <version>'/)]);
    expect(files.slice(2).map((file) => state(file).applied)).toEqual(Array(6).fill(['0001', '0002', '0003']));
  });

  it('kill -9 in the middle of a fleet down, then the same command again: every tenant at --to, each down run once', async () => {
    const slow = {
      ...MIGRATIONS,
      '0004_create_bulk.sql': `-- migrate:up\nCREATE TABLE bulk (n INTEGER NOT NULL);\nINSERT INTO log (step) VALUES ('up 0004');\n-- migrate:down\nINSERT INTO log (step) SELECT 'scratch' FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) SELECT x FROM c);\nDELETE FROM log WHERE step = 'scratch';\nDROP TABLE bulk;\nINSERT INTO log (step) VALUES ('down 0004');\n`,
    };
    const { dir, files } = project(60, slow);
    expect(runCli(['fleet', 'up'], { cwd: dir }).status).toBe(0);
    const run = startCli(['fleet', 'down', '--to', '0003', '--concurrency', '3'], dir);
    await run.waitFor(/\[\s*15\/60\]/);
    run.kill();
    const killed = await run.exited;
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stdout).not.toMatch(/\[60\/60\]/);

    const again = runCli(['fleet', 'down', '--to', '0003'], { cwd: dir });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/unchanged\s+\d+/);
    for (const file of files) expect(state(file), file).toEqual({ log: { 'up 0001': 1, 'up 0002': 1, 'up 0003': 1, 'up 0004': 1, 'down 0004': 1 }, applied: ['0001', '0002', '0003'] });
  });
});

describe('two fleet down at once', () => {
  it("each database's lock keeps every down exactly once", async () => {
    const { dir, files } = project(40);
    expect(runCli(['fleet', 'up'], { cwd: dir }).status).toBe(0);
    const [a, b] = [startCli(['fleet', 'down', '--to', '0001', '--json'], dir), startCli(['fleet', 'down', '--to', '0001', '--json'], dir)];
    const results = await Promise.all([a.exited, b.exited]);
    for (const exit of results) expect(exit.code, exit.stderr).toBe(0);
    const counts = results.map((exit) => (JSON.parse(exit.stdout) as { counts: Record<string, number> }).counts);
    // Every tenant was rolled back by one of the two; the other found nothing newer than 0001.
    expect(counts[0]!['rolled-back']! + counts[1]!['rolled-back']!).toBe(40);
    expect(counts[0]!.unchanged! + counts[1]!.unchanged!).toBe(40);
    for (const file of files) expect(state(file), file).toEqual({ log: { 'up 0001': 1, 'up 0002': 1, 'up 0003': 1, 'down 0003': 1, 'down 0002': 1 }, applied: ['0001'] });
  });
});

describe('cairn fleet verify', () => {
  it('verifies the history once, then names each tenant whose schema differs from what its own history gives', () => {
    const { dir, files } = project(12);
    expect(runCli(['fleet', 'up'], { cwd: dir }).status).toBe(0);
    // Tenants behind are not drifted: each is compared with its own history.
    expect(runCli(['down', '--url', `sqlite:${files[2]!}`, '--to', '0001'], { cwd: dir }).status).toBe(0);
    // Changes made by hand on two tenants.
    query(files[3]!, 'CREATE INDEX users_by_email ON users (email)');
    query(files[8]!, 'ALTER TABLE posts ADD COLUMN body TEXT');

    const first = runCli(['fleet', 'verify', '--concurrency', '1'], { cwd: dir });
    expect(first.status).toBe(3);
    expect(first.stdout).toMatch(/^History: ok, 3 migrations replayed in sqlite:.* \(up, down, up\)$/m);
    expect(first.stdout).toMatch(/Drifted \(what the migrations give → what the database has\):\n\s+tenants\/t004\.db\n\s+\+ index users_by_email: /);
    expect(first.stdout).toMatch(/in-sync\s+3\n\s+drifted\s+1\n\s+not-started\s+8\n/);
    expect(first.stderr).toMatch(/stopping: tenants\/t004\.db drifted/);

    // A drifted canary stops the run before the rest, even with --keep-going.
    const canary = JSON.parse(runCli(['fleet', 'verify', '--no-history', '--canary', '5', '--keep-going', '--concurrency', '1', '--json'], { cwd: dir }).stdout) as { stopped: string; counts: Record<string, number> };
    expect(canary).toMatchObject({ stopped: 'canary', counts: { 'in-sync': 3, drifted: 1, failed: 0, 'not-started': 8 } });

    const all = runCli(['fleet', 'verify', '--keep-going', '--json'], { cwd: dir });
    expect(all.status).toBe(3);
    const result = JSON.parse(all.stdout) as { ok: boolean; history: { engine: string; targets: number; report: { ok: boolean } }[]; counts: Record<string, number>; targets: { target: string; outcome: string; differences: { key: string; kind: string }[] }[] };
    expect(result.history).toEqual([expect.objectContaining({ engine: 'sqlite', targets: 12, report: expect.objectContaining({ ok: true }) })]);
    expect(result.counts).toEqual({ 'in-sync': 10, drifted: 2, failed: 0, 'not-started': 0 });
    expect(result.targets.filter((t) => t.outcome === 'drifted').map((t) => [t.target, t.differences.map((d) => `${d.kind} ${d.key}`)])).toEqual([
      ['tenants/t004.db', ['added index users_by_email']],
      ['tenants/t009.db', expect.arrayContaining(['added column posts.body'])],
    ]);

    // Undo the hand-made changes: every tenant in sync, exit 0.
    query(files[3]!, 'DROP INDEX users_by_email');
    query(files[8]!, 'ALTER TABLE posts DROP COLUMN body');
    const clean = runCli(['fleet', 'verify', '--no-history'], { cwd: dir });
    expect(clean.status, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).not.toMatch(/History:/);
    expect(clean.stdout).toMatch(/in-sync\s+12\n/);
  });

  it('a down that does not undo its up fails the history check, named once for the fleet', () => {
    const broken = { ...MIGRATIONS, '0004_add_users_name.sql': '-- migrate:up\nALTER TABLE users ADD COLUMN name TEXT;\n-- migrate:down\nSELECT 1;\n' };
    const { dir } = project(3, broken);
    expect(runCli(['fleet', 'up'], { cwd: dir }).status).toBe(0);
    const result = runCli(['fleet', 'verify'], { cwd: dir });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^History: FAILED, 4 migrations replayed/m);
    expect(result.stdout).toMatch(/✗ 0004_add_users_name: .*down/);
    expect(result.stdout.match(/History:/g)).toHaveLength(1);
    expect(result.stdout).toMatch(/in-sync\s+3\n/);
  });
});

describe('the lint check of fleet up', () => {
  it('refuses an error finding on every target, nothing applied; --unsafe applies it and records why in each history', () => {
    const { dir, files } = project(12);
    expect(runCli(['fleet', 'up'], { cwd: dir }).status).toBe(0);
    writeMigrations(dir, { '0004_drop_posts.sql': 'DROP TABLE posts;\n' });
    const refused = runCli(['fleet', 'up', '--keep-going', '--json'], { cwd: dir });
    expect(refused.status).toBe(1);
    const result = JSON.parse(refused.stdout) as { counts: Record<string, number>; targets: { error: { code: string; message: string } | null }[] };
    expect(result.counts).toEqual({ applied: 0, 'up-to-date': 0, failed: 12, 'not-started': 0 });
    for (const target of result.targets) expect(target.error).toMatchObject({ code: 'LINT', message: expect.stringMatching(/0004_drop_posts\.sql:1:\d+ error drop-table/) });
    for (const file of files) expect(query(file, "SELECT count(*) AS n FROM sqlite_master WHERE name = 'posts'")).toEqual([{ n: 1 }]);

    expect(runCli(['fleet', 'up', '--unsafe'], { cwd: dir }).status).toBe(0);
    for (const file of files) expect(query<{ details: string }>(file, "SELECT details FROM cairn_migrations WHERE version = '0004'")[0]!.details).toMatch(/drop-table/);
  });
});

describe('cairn fleet lint', () => {
  it('lints once per engine among the groups, not once per database, and opens or lists none; an error finding exits 1', () => {
    const { dir } = project(40, { ...MIGRATIONS, '0004_drop_posts.sql': 'DROP TABLE posts;\n' });
    const sqliteOnly = runCli(['fleet', 'lint', '--json'], { cwd: dir });
    expect(sqliteOnly.status).toBe(1);
    const report = JSON.parse(sqliteOnly.stdout) as { errors: number; engines: { engine: string; groups: string[]; report: { files: { file: string; findings: { rule: string }[] }[] } }[] };
    expect(report.engines.map((e) => [e.engine, e.groups])).toEqual([['sqlite', ['tenants']]]);
    expect(report.engines[0]!.report.files.find((f) => f.file.endsWith('0004_drop_posts.sql'))!.findings.map((f) => f.rule)).toContain('drop-table');

    // A PostgreSQL server that does not exist, tenant schemas on it, and D1 databases of an account with no token: one report each, none reached.
    writeFileSync(
      join(dir, 'cairn.config.json'),
      JSON.stringify({ fleet: { tenants: 'tenants/*.db', regions: ['postgres://app@db.invalid:5432/app'], schemas: { url: 'postgres://app@db.invalid:5432/app', schemas: 'tenant_%' }, cloud: 'd1://0123456789abcdef0123456789abcdef/tenant-*' } }),
    );
    const mixed = runCli(['fleet', 'lint', '--json'], { cwd: dir, env: { CLOUDFLARE_API_TOKEN: '' } });
    expect(mixed.stderr).toBe('');
    expect((JSON.parse(mixed.stdout) as typeof report).engines.map((e) => [e.engine, e.groups])).toEqual([
      ['sqlite', ['tenants']],
      ['postgres', ['regions', 'schemas']],
      ['d1', ['cloud']],
    ]);
    const text = runCli(['fleet', 'lint'], { cwd: dir });
    expect(text.stdout).toMatch(/^sqlite \(group tenants\):$/m);
    expect(text.stdout).toMatch(/^postgres \(groups regions, schemas\):$/m);
    expect(text.stdout).toMatch(/drop-table/);
  });

  it('--pending lints only what some target has not applied yet, reading their histories', () => {
    const { dir, files } = project(5, { ...MIGRATIONS, '0004_drop_posts.sql': 'DROP TABLE posts;\n' });
    type Report = { errors: number; pending: { engine: string; versions: string[] }[]; engines: { report: { files: { file: string }[] } }[] };
    const before = runCli(['fleet', 'lint', '--pending', '--json'], { cwd: dir });
    expect(before.status).toBe(1);
    expect((JSON.parse(before.stdout) as Report).pending).toEqual([{ engine: 'sqlite', versions: ['0001', '0002', '0003', '0004'], unreadable: [] }]);

    // Applied everywhere (over the finding, with --unsafe): nothing pending, nothing to refuse.
    expect(runCli(['fleet', 'up', '--unsafe'], { cwd: dir }).status).toBe(0);
    expect(runCli(['fleet', 'lint'], { cwd: dir }).status).toBe(1);
    const none = runCli(['fleet', 'lint', '--pending'], { cwd: dir });
    expect(none.status, none.stderr).toBe(0);
    expect(none.stdout).toContain('Nothing pending on any target: nothing to lint.');

    // A new migration, applied on one tenant only: still pending on the four others, and the only file linted.
    writeMigrations(dir, { '0005_tags.sql': 'CREATE TABLE tags (id INTEGER PRIMARY KEY);\n' });
    expect(runCli(['up', '--url', `sqlite:${files[0]}`], { cwd: dir }).status).toBe(0);
    const one = runCli(['fleet', 'lint', '--pending', '--json'], { cwd: dir });
    expect(one.status, one.stderr).toBe(0);
    const report = JSON.parse(one.stdout) as Report;
    expect(report.pending[0]!.versions).toEqual(['0005']);
    expect(report.engines[0]!.report.files.map((f) => f.file)).toEqual([join('migrations', '0005_tags.sql')]);
    expect(runCli(['fleet', 'lint', '--pending'], { cwd: dir }).stdout).toContain('Pending on some target: 0005');
  });
});

describe('cairn fleet down and verify on local D1 databases (miniflare)', () => {
  it('rolls each D1 database back once and finds the one changed by hand', { timeout: 120_000 }, async () => {
    const { localD1File } = await import('../src/drivers/d1/local.js');
    const dir = tempDir('cairn-fleet-cmd-d1-');
    writeMigrations(dir, MIGRATIONS);
    const ids = ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-d'];
    writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ fleet: { edge: { d1: ids, persistTo: '.state' } } }));
    const file = (id: string) => localD1File(join(dir, '.state'), id);
    expect(runCli(['fleet', 'up'], { cwd: dir }).status).toBe(0);

    query(file('tenant-c'), 'CREATE INDEX by_email ON users (email)');
    const verify = JSON.parse(runCli(['fleet', 'verify', '--keep-going', '--json'], { cwd: dir }).stdout) as { counts: Record<string, number>; targets: { outcome: string; differences: { key: string }[] }[] };
    expect(verify.counts).toEqual({ 'in-sync': 3, drifted: 1, failed: 0, 'not-started': 0 });
    expect(verify.targets[2]).toMatchObject({ outcome: 'drifted', differences: [expect.objectContaining({ key: 'index by_email' })] });

    const down = runCli(['fleet', 'down', '--to', '0002'], { cwd: dir });
    expect(down.status, down.stderr).toBe(0);
    expect(down.stdout).toMatch(/rolled-back\s+4\n/);
    for (const id of ids) expect(state(file(id))).toEqual({ log: { 'up 0001': 1, 'up 0002': 1, 'up 0003': 1, 'down 0003': 1 }, applied: ['0001', '0002'] });
  });
});
