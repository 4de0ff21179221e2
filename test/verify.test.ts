import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createCairn } from '../src/index.js';
import { runCli, tempDir, writeMigrations } from './support/databases.js';
import { CREATE_USERS } from './support/fixtures.js';
import { describeEachDatabase, it } from './support/each-database.js';

/** cairn verify on real engines: a scratch database is made, used and dropped; the configured one is never touched. */
const USERS = CREATE_USERS;
const POSTS = `-- migrate:up
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), status TEXT NOT NULL DEFAULT 'draft');
CREATE INDEX posts_status ON posts (status);
-- migrate:down
DROP INDEX posts_status;
DROP TABLE posts;
`;

describeEachDatabase('cairn verify', (current) => {
  const verifyIn = (files: Record<string, string>, options: { generated?: boolean } = {}) => {
    const root = tempDir();
    const dir = writeMigrations(root, files);
    return createCairn({ url: current().url, dir, cwd: root, envVars: {} }).verify(options);
  };

  it('passes downs that undo their ups, and leaves the configured database untouched', async () => {
    const report = await verifyIn({ '0001_create_users.sql': USERS, '0002_create_posts.sql': POSTS });
    expect(report.ok).toBe(true);
    expect(report.migrations.map((m) => [m.version, m.ok, m.down, m.steps.join(',')])).toEqual([
      ['0001', true, 'verified', 'up,down,up'],
      ['0002', true, 'verified', 'up,down,up'],
    ]);
    expect(report.scratch).toContain('(scratch)');
    const tables =
      current().kind === 'sqlite'
        ? await current().query("SELECT name FROM sqlite_master WHERE type = 'table'")
        : await current().query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
    expect(tables).toEqual([]);
  });

  it('fails a down that forgets an index, with the difference', async () => {
    const forgetful = `-- migrate:up
ALTER TABLE users ADD COLUMN phone TEXT;
CREATE INDEX users_phone ON users (phone);
-- migrate:down
ALTER TABLE users DROP COLUMN phone;
`;
    const report = await verifyIn({ '0001_create_users.sql': USERS, '0002_add_phone.sql': forgetful.replace('ALTER TABLE users DROP COLUMN phone;', 'DROP INDEX users_phone;') });
    expect(report.ok).toBe(false);
    const failed = report.migrations[1]!;
    expect(failed).toMatchObject({ version: '0002', ok: false, down: 'failed' });
    expect(failed.problems[0]!.message).toBe('down does not restore the schema from before up');
    expect(failed.problems[0]!.differences.map((d) => [d.kind, d.key])).toContainEqual(['added', 'column users.phone']);
  });

  it('reports an up that fails with its file and line, and stops there', async () => {
    const broken = '-- migrate:up\nCREATE TABLE a (id INTEGER);\nINSERT INTO nowhere VALUES (1);\n';
    const report = await verifyIn({ '0001_create_users.sql': USERS, '0002_broken.sql': broken, '0003_create_posts.sql': POSTS });
    expect(report.ok).toBe(false);
    expect(report.migrations[1]!.problems[0]!.message).toMatch(/^up fails at migrations\/0002_broken.sql:3: .*nowhere/);
    expect(report.notReached).toEqual(['0003']);
  });

  it('tells a down that is not needed (additive) from one that is missing, and runs idempotent files twice', async () => {
    const additive = 'CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);\n';
    const destructive = "-- migrate:up\n-- cairn:allow unbatched-data-change test data\nDELETE FROM users;\n";
    const idempotent = '-- cairn:idempotent\n-- migrate:up\nCREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY);\n';
    const notIdempotent = '-- cairn:idempotent\n-- migrate:up\nCREATE TABLE audit (id INTEGER PRIMARY KEY);\n';
    // Without generated downs (test/generated-down.test.ts covers those), as a team that turns them off sees it.
    const files = { '0001_create_users.sql': USERS, '0002_create_tags.sql': additive, '0003_clear_users.sql': destructive, '0004_create_notes.sql': idempotent, '0005_create_audit.sql': notIdempotent };
    const report = await verifyIn(files, { generated: false });
    expect(report.migrations.map((m) => [m.version, m.ok, m.down])).toEqual([
      ['0001', true, 'verified'],
      ['0002', true, 'not-needed'],
      ['0003', true, 'missing'],
      ['0004', true, 'not-needed'],
      ['0005', false, 'not-needed'],
    ]);
    expect(report.migrations[3]!.steps).toEqual(['up', 'up again']);
    expect(report.migrations[4]!.problems[0]!.message).toMatch(/^marked -- cairn:idempotent, but a second up fails: .*audit.*already exists/);
  });
});

describeEachDatabase('cairn verify with schema.sql and --from', (current) => {
  const TAGS = '-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);\n-- migrate:down\nDROP TABLE tags;\n';
  const project = () => {
    const root = tempDir();
    writeMigrations(root, { '0001_create_users.sql': USERS, '0002_create_posts.sql': POSTS, '0003_create_tags.sql': TAGS });
    return { root, env: { DATABASE_URL: current().url } };
  };

  it('passes when schema.sql matches the final schema, and fails with the differences when it does not', async () => {
    const { root, env } = project();
    expect(runCli(['up'], { cwd: root, env }).status).toBe(0);
    expect(runCli(['dump'], { cwd: root, env }).status).toBe(0);

    const ok = runCli(['verify'], { cwd: root, env });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/✓ schema\.sql matches the schema after the last migration/);

    // A fourth migration nobody dumped: the committed schema.sql is behind.
    writeFileSync(join(root, 'migrations', '0004_add_phone.sql'), '-- migrate:up\nALTER TABLE users ADD COLUMN phone TEXT;\n-- migrate:down\nALTER TABLE users DROP COLUMN phone;\n');
    const stale = runCli(['verify'], { cwd: root, env });
    expect(stale.status).toBe(1);
    expect(stale.stdout).toMatch(/✗ schema\.sql does not match the schema the migrations produce \(it is as of 0003_create_tags; the newest migration is 0004_add_phone\)/);
    expect(stale.stdout).toMatch(/- column users\.phone: /);
    expect(stale.stdout).toMatch(/run `cairn dump` against a database migrated to the newest version, or fix the migrations/);
    expect(stale.stdout).toMatch(/All 4 migrations verified, but schema\.sql does not match/);

    const json = JSON.parse(runCli(['verify', '--json'], { cwd: root, env }).stdout);
    expect(json.ok).toBe(false);
    expect(json.schema).toMatchObject({ file: 'schema.sql', ok: false, asOf: '0003_create_tags' });
    expect(json.schema.differences).toContainEqual(expect.objectContaining({ key: 'column users.phone', kind: 'removed' }));

    expect(runCli(['verify', '--no-schema'], { cwd: root, env }).status).toBe(0);
    const elsewhere = runCli(['verify', '--schema', 'nowhere.sql'], { cwd: root, env });
    expect(elsewhere.status).toBe(2);
    expect(elsewhere.stderr).toMatch(/--schema .*nowhere\.sql does not exist/);
  });

  it('--from applies the earlier migrations up only and verifies from there', async () => {
    const { root } = project();
    const report = await createCairn({ url: current().url, cwd: root, envVars: {} }).verify({ from: '0003' });
    expect(report.ok).toBe(true);
    expect(report.from).toEqual({ version: '0003', baseline: null, baselined: 0, applied: 2 });
    expect(report.migrations.map((m) => [m.version, m.steps.join(',')])).toEqual([['0003', 'up,down,up']]);
  });

  it('--from with --baseline starts from a dump and applies only what lies between', async () => {
    const { root, env } = project();
    expect(runCli(['up', '--to', '0001'], { cwd: root, env }).status).toBe(0);
    expect(runCli(['dump', '--output', 'baseline.sql'], { cwd: root, env }).status).toBe(0);
    expect(readFileSync(join(root, 'baseline.sql'), 'utf8')).toMatch(/^-- cairn: schema as of 0001_create_users\n/);

    const cli = runCli(['verify', '--from', '0003', '--baseline', 'baseline.sql'], { cwd: root, env });
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    expect(cli.stdout).toMatch(/from 0003: the 2 migrations before it brought in unverified \(baseline\.sql loaded, 1 recorded as baselined, then 1 applied up only\)/);
    expect(cli.stdout).toMatch(/✓ 0003_create_tags/);
    expect(cli.stdout).not.toMatch(/0002_create_posts/);

    const newer = runCli(['verify', '--from', '0001', '--baseline', 'baseline.sql'], { cwd: root, env });
    expect(newer.status).toBe(2);
    expect(newer.stderr).toMatch(/--baseline baseline\.sql is as of 0001_create_users, not older than --from 0001/);
  });

  it('refuses an unknown --from, naming the versions there are', async () => {
    const { root, env } = project();
    const result = runCli(['verify', '--from', '0042'], { cwd: root, env });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--from 0042: there is no migration with that version/);
    expect(result.stderr).toMatch(/known versions: 0001 … 0003/);
  });
});

it('says so, without the password, when the scratch database cannot be created', async () => {
  const root = tempDir();
  writeMigrations(root, { '0001_create_users.sql': USERS });
  const cairn = createCairn({ url: 'postgres://nobody:pw@127.0.0.1:1/none', dir: join(root, 'migrations'), cwd: root, envVars: {} });
  await expect(cairn.verify()).rejects.toMatchObject({ code: 'CONNECTION', message: expect.stringContaining('postgres://nobody:***@127.0.0.1:1/none') });
});
