import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createCairn, CairnError } from '../src/index.js';
import { tempDir, writeMigrations, type TestDatabase } from './support/databases.js';
import { CREATE_USERS } from './support/fixtures.js';
import { describeEachDatabase, it } from './support/each-database.js';

/** The runner's contract, run against every driver on a real database. */
const USERS = CREATE_USERS;
const POSTS = `-- migrate:up
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), title TEXT NOT NULL);
INSERT INTO users (id, email) VALUES (1, 'ada@example.com');
-- migrate:down
DROP TABLE posts;
DELETE FROM users WHERE id = 1;
`;
const TAGS = `-- UP
CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT NOT NULL);
-- DOWN
DROP TABLE tags;
`;

async function tables(db: TestDatabase): Promise<string[]> {
  const rows =
    db.kind !== 'postgres'
      ? await db.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name")
      : await db.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name");
  return rows.map((r) => r.name);
}

async function history(db: TestDatabase): Promise<{ version: string; state: string; method: string }[]> {
  return db.query('SELECT version, state, method FROM cairn_migrations ORDER BY version');
}

function project(files: Record<string, string>) {
  const root = tempDir();
  const dir = writeMigrations(root, files);
  return { root, dir };
}

describeEachDatabase('runner', (current, kind) => {
  const cairnFor = (dir: string, extra: Parameters<typeof createCairn>[0] = {}) => createCairn({ url: current().url, dir, cwd: join(dir, '..'), envVars: {}, ...extra });

  it('applies pending migrations in order and records each with its checksum', async () => {
    const { dir } = project({ '0001_create_users.sql': USERS, '0002_create_posts.sql': POSTS, '0003_create_tags.sql': TAGS });
    const result = await cairnFor(dir).up();
    expect(result).toMatchObject({ success: true, filesExecuted: 3, errors: [] });
    expect(result.applied.map((a) => a.version)).toEqual(['0001', '0002', '0003']);
    expect(await tables(current())).toEqual(['cairn_migrations', 'posts', 'tags', 'users'].concat(kind !== 'postgres' ? ['cairn_migrations_lock'] : []).sort());
    const rows = await current().query<{ version: string; checksum: string; state: string; applied_by: string }>('SELECT version, checksum, state, applied_by FROM cairn_migrations ORDER BY version');
    expect(rows.map((r) => r.state)).toEqual(['applied', 'applied', 'applied']);
    expect(rows[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]!.applied_by).toContain('@');
  });

  it('does nothing on a second up', async () => {
    const { dir } = project({ '0001_create_users.sql': USERS, '0002_create_posts.sql': POSTS });
    const cairn = cairnFor(dir);
    await cairn.up();
    const again = await cairn.up();
    expect(again).toMatchObject({ success: true, filesExecuted: 0, applied: [] });
    expect(await current().query('SELECT id FROM users')).toHaveLength(1);
  });

  it('applies up to --to and no further', async () => {
    const { dir } = project({ '0001_create_users.sql': USERS, '0002_create_posts.sql': POSTS, '0003_create_tags.sql': TAGS });
    const cairn = cairnFor(dir);
    expect((await cairn.up({ to: '0002' })).filesExecuted).toBe(2);
    expect((await cairn.status()).migrations.map((m) => m.state)).toEqual(['applied', 'applied', 'pending']);
    await expect(cairn.up({ to: '0009' })).rejects.toMatchObject({ code: 'TARGET' });
  });

  it('rolls back newest first with down, by steps and to a version', async () => {
    const { dir } = project({ '0001_create_users.sql': USERS, '0002_create_posts.sql': POSTS, '0003_create_tags.sql': TAGS });
    const cairn = cairnFor(dir);
    await cairn.up();
    const one = await cairn.down();
    expect(one.applied.map((a) => [a.version, a.direction])).toEqual([['0003', 'down']]);
    expect(await tables(current())).not.toContain('tags');
    const rest = await cairn.down({ to: '0' });
    expect(rest.applied.map((a) => a.version)).toEqual(['0002', '0001']);
    expect(await history(current())).toEqual([]);
    expect((await tables(current())).filter((t) => !t.startsWith('cairn_'))).toEqual([]);
    expect((await cairn.up()).filesExecuted).toBe(3);
  });

  it('refuses to roll back a migration without a down section, before running anything', async () => {
    const { dir } = project({ '0001_create_users.sql': USERS, '0002_create_tags.sql': 'CREATE TABLE tags (id INTEGER PRIMARY KEY);\n' });
    const cairn = cairnFor(dir);
    await cairn.up();
    const error = await cairn.down({ steps: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CairnError);
    expect(error).toMatchObject({ code: 'NO_DOWN', message: expect.stringContaining('migrations/0002_create_tags.sql') });
    expect((await history(current())).length).toBe(2);
  });

  it('stops at a failing migration, rolls it back whole, keeps the earlier ones, and names file and line', async () => {
    const broken = `-- migrate:up\nCREATE TABLE comments (id INTEGER PRIMARY KEY);\nINSERT INTO comments (id) VALUES (1);\n\nINSERT INTO no_such_table (id) VALUES (1);\n-- migrate:down\nDROP TABLE comments;\n`;
    const { dir } = project({ '0001_create_users.sql': USERS, '0002_add_comments.sql': broken, '0003_create_tags.sql': TAGS });
    const result = await cairnFor(dir).up();
    expect(result.success).toBe(false);
    expect(result.filesExecuted).toBe(1);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ version: '0002', file: 'migrations/0002_add_comments.sql', line: 5, rolledBack: true });
    expect(result.errors[0]!.message).toMatch(/no_such_table/);
    expect(await tables(current())).not.toContain('comments');
    expect(await tables(current())).not.toContain('tags');
    expect((await history(current())).map((h) => h.version)).toEqual(['0001']);
  });

  it('points at the line inside a multi-line statement where the engine reports a position', async () => {
    const { dir } = project({ '0001_bad.sql': 'CREATE TABLE a (\n  id INTEGER PRIMARY KEY,\n  name TEXT NOT NULL\n);\nSELECT id,\n  nme\nFROM a;\n' });
    const result = await cairnFor(dir).up();
    expect(result.errors[0]!.message).toMatch(/nme/);
    // PostgreSQL and D1 ("at offset 13") report a character position, SQLite only the statement.
    expect(result.errors[0]!.line).toBe(kind === 'sqlite' ? 5 : 6);
  });

  it('runs a no-transaction migration outside a transaction and records it after it succeeds', async () => {
    // D1 runs every statement in a transaction of its own, so it refuses VACUUM; PRAGMA optimize is allowed.
    const body = { postgres: 'CREATE INDEX CONCURRENTLY users_id_idx ON users (id);', sqlite: 'VACUUM;', d1: 'PRAGMA optimize;' }[kind];
    const { dir } = project({ '0001_create_users.sql': USERS, '0002_maintenance.sql': `-- cairn:no-transaction\n-- migrate:up\n${body}\n` });
    const result = await cairnFor(dir).up();
    expect(result.errors).toEqual([]);
    expect(result.plan[1]).toMatchObject({ transaction: false });
    expect(await history(current())).toEqual([
      { version: '0001', state: 'applied', method: 'run' },
      { version: '0002', state: 'applied', method: 'run' },
    ]);
  });

  it('records a no-transaction migration that fails half-way as failed, and up refuses until repair', async () => {
    const half = `-- cairn:no-transaction\n-- migrate:up\nCREATE TABLE first_half (id INTEGER);\nINSERT INTO missing_table VALUES (1);\nCREATE TABLE second_half (id INTEGER);\n`;
    const { dir } = project({ '0001_create_users.sql': USERS, '0002_half.sql': half });
    const cairn = cairnFor(dir);
    const result = await cairn.up();
    expect(result.errors[0]).toMatchObject({ version: '0002', line: 4, rolledBack: false });
    expect(await tables(current())).toContain('first_half');
    expect(await tables(current())).not.toContain('second_half');
    const status = await cairn.status();
    expect(status.migrations[1]).toMatchObject({ version: '0002', state: 'failed', error: expect.stringMatching(/missing_table/) });
    await expect(cairn.up()).rejects.toMatchObject({ code: 'FAILED_MIGRATION', message: expect.stringContaining('migrations/0002_half.sql:4') });

    // The human undoes the partial change and fixes the file; repair clears the record; up runs it again.
    await current().query('DROP TABLE first_half');
    writeFileSync(join(dir, '0002_half.sql'), half.replace('INSERT INTO missing_table VALUES (1);\n', ''));
    const repaired = await cairn.repair();
    expect(repaired.cleared.map((c) => c.version)).toEqual(['0002']);
    expect((await cairn.up()).filesExecuted).toBe(1);
    expect(await tables(current())).toEqual(expect.arrayContaining(['first_half', 'second_half']));
  });

  it('refuses every migrating command when an applied file was edited, and repair accepts it after review', async () => {
    const { dir } = project({ '0001_create_users.sql': USERS, '0002_create_tags.sql': TAGS });
    const cairn = cairnFor(dir);
    await cairn.up({ to: '0001' });
    writeFileSync(join(dir, '0001_create_users.sql'), USERS.replace('email TEXT NOT NULL', 'email TEXT'));
    expect((await cairn.status()).migrations.map((m) => m.state)).toEqual(['changed', 'pending']);
    for (const attempt of [() => cairn.up(), () => cairn.down(), () => cairn.baseline({ to: '0002' })]) {
      await expect(attempt()).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH', message: expect.stringContaining('migrations/0001_create_users.sql') });
    }
    expect(await tables(current())).not.toContain('tags');
    const validation = await cairn.validate();
    expect(validation.valid).toBe(false);
    expect(validation.problems[0]).toMatchObject({ kind: 'changed', file: 'migrations/0001_create_users.sql' });
    expect((await cairn.repair({ dryRun: true })).accepted).toHaveLength(1);
    expect((await cairn.status()).migrations[0]!.state).toBe('changed');
    const repaired = await cairn.repair();
    expect(repaired.accepted.map((a) => a.version)).toEqual(['0001']);
    expect((await cairn.up()).filesExecuted).toBe(1);
  });

  it('accepts a checksum regardless of line endings', async () => {
    const { dir } = project({ '0001_create_users.sql': USERS });
    const cairn = cairnFor(dir);
    await cairn.up();
    writeFileSync(join(dir, '0001_create_users.sql'), readFileSync(join(dir, '0001_create_users.sql'), 'utf8').replace(/\n/g, '\r\n'));
    expect((await cairn.status()).migrations[0]!.state).toBe('applied');
  });

  it('reports a deleted applied file as missing and refuses to migrate', async () => {
    const { dir } = project({ '0001_create_users.sql': USERS, '0002_create_tags.sql': TAGS });
    const cairn = cairnFor(dir);
    await cairn.up();
    rmSync(join(dir, '0002_create_tags.sql'));
    expect((await cairn.status()).migrations.map((m) => m.state)).toEqual(['applied', 'missing']);
    await expect(cairn.down()).rejects.toMatchObject({ code: 'MISSING_MIGRATION' });
    expect((await cairn.repair()).forgotten.map((f) => f.version)).toEqual(['0002']);
    expect((await cairn.status()).migrations.map((m) => m.state)).toEqual(['applied']);
  });

  it('refuses out-of-order files unless allowed', async () => {
    const { dir } = project({ '0001_create_users.sql': USERS, '0003_create_tags.sql': TAGS });
    await cairnFor(dir).up();
    writeFileSync(join(dir, '0002_create_posts.sql'), POSTS);
    const status = await cairnFor(dir).status();
    expect(status.migrations[1]).toMatchObject({ version: '0002', state: 'pending', outOfOrder: true });
    await expect(cairnFor(dir).up()).rejects.toMatchObject({ code: 'OUT_OF_ORDER', message: expect.stringContaining('0002_create_posts.sql') });
    expect(await tables(current())).not.toContain('posts');
    const allowed = await cairnFor(dir, { allowOutOfOrder: true }).up();
    expect(allowed.applied.map((a) => a.version)).toEqual(['0002']);
  });

  it('baselines an existing database without running anything', async () => {
    const { dir } = project({ '0001_create_users.sql': USERS, '0002_create_posts.sql': POSTS, '0003_create_tags.sql': TAGS });
    // The database was built by hand before Cairn: users and posts exist.
    await current().query('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)');
    await current().query('CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT NOT NULL)');
    const cairn = cairnFor(dir);
    const baseline = await cairn.baseline({ to: '0002' });
    expect(baseline.marked.map((m) => m.version)).toEqual(['0001', '0002']);
    expect(await history(current())).toEqual([
      { version: '0001', state: 'applied', method: 'baseline' },
      { version: '0002', state: 'applied', method: 'baseline' },
    ]);
    expect(await current().query('SELECT id FROM users')).toEqual([]); // 0002's INSERT did not run
    expect((await cairn.up()).applied.map((a) => a.version)).toEqual(['0003']);
    expect((await cairn.baseline({ to: '0003' })).marked).toEqual([]);
  });

  it('reads without creating anything: status and dry runs leave the database untouched', async () => {
    const { dir } = project({ '0001_create_users.sql': USERS });
    const cairn = cairnFor(dir);
    expect((await cairn.status()).migrations.map((m) => m.state)).toEqual(['pending']);
    const plan = await cairn.up({ dryRun: true });
    expect(plan).toMatchObject({ dryRun: true, filesExecuted: 0 });
    expect(plan.plan[0]!.statements.map((s) => s.line)).toEqual([5, 6]);
    expect(await tables(current())).toEqual([]);
  });

  it('lints what it is about to apply and refuses error findings before applying anything', async () => {
    const dropLabel = '-- migrate:up\nALTER TABLE tags DROP COLUMN label;\n-- migrate:down\nALTER TABLE tags ADD COLUMN label TEXT;\n';
    const { dir } = project({ '0001_create_users.sql': USERS, '0002_create_tags.sql': TAGS, '0003_drop_label.sql': dropLabel });
    const cairn = cairnFor(dir);
    const error = await cairn.up().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LINT', message: expect.stringContaining('migrations/0003_drop_label.sql:2:18 error drop-column') });
    expect(await history(current())).toEqual([]);
    expect((await cairn.up({ dryRun: true })).lint.flatMap((f) => f.findings.map((x) => x.rule))).toContain('drop-column');

    const unsafe = await cairn.up({ unsafe: true });
    expect(unsafe).toMatchObject({ success: true, filesExecuted: 3, unsafe: true });
    const rows = await current().query<{ version: string; details: string | null }>('SELECT version, details FROM cairn_migrations ORDER BY version');
    expect(rows.map((r) => [r.version, r.details && JSON.parse(r.details)])).toEqual([
      ['0001', null],
      ['0002', null],
      ['0003', expect.objectContaining({ unsafe: true, findings: ['drop-column@2'] })],
    ]);
  });

  it('applies a finding allowed in the file with a reason', async () => {
    const allowed = '-- migrate:up\n-- cairn:allow drop-column the app stopped reading email in release 12\nALTER TABLE users DROP COLUMN email;\n';
    const { dir } = project({ '0001_create_users.sql': USERS.replace('CREATE UNIQUE INDEX users_email ON users (email);\n', ''), '0002_drop_email.sql': allowed });
    const result = await cairnFor(dir).up();
    expect(result).toMatchObject({ success: true, filesExecuted: 2, unsafe: false });
    expect(result.lint[1]!.allowed).toEqual([expect.objectContaining({ rule: 'drop-column', reason: 'the app stopped reading email in release 12' })]);
  });

  it('keeps two histories apart with a custom table name', async () => {
    const { dir } = project({ '0001_create_users.sql': USERS });
    await cairnFor(dir, { table: 'app_schema_history' }).up();
    expect(await tables(current())).toContain('app_schema_history');
    expect(await tables(current())).not.toContain('cairn_migrations');
  });
}, { d1: true });
