import { join } from 'node:path';
import { expect } from 'vitest';
import { createCairn } from '../src/index.js';
import { tempDir, writeMigrations } from './support/databases.js';
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
  const verifyIn = (files: Record<string, string>) => {
    const root = tempDir();
    const dir = writeMigrations(root, files);
    return createCairn({ url: current().url, dir, cwd: root, envVars: {} }).verify();
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
    const report = await verifyIn({ '0001_create_users.sql': USERS, '0002_create_tags.sql': additive, '0003_clear_users.sql': destructive, '0004_create_notes.sql': idempotent, '0005_create_audit.sql': notIdempotent });
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

it('says so, without the password, when the scratch database cannot be created', async () => {
  const root = tempDir();
  writeMigrations(root, { '0001_create_users.sql': USERS });
  const cairn = createCairn({ url: 'postgres://nobody:pw@127.0.0.1:1/none', dir: join(root, 'migrations'), cwd: root, envVars: {} });
  await expect(cairn.verify()).rejects.toMatchObject({ code: 'CONNECTION', message: expect.stringContaining('postgres://nobody:***@127.0.0.1:1/none') });
});
