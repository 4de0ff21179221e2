import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDatabaseUrl } from '../src/config/url.js';
import { createPostgresDatabase, postgresUnavailable, REQUIRE_PG, runCli, tempDir, writeMigrations } from './support/databases.js';
import { killLeftovers, startCli } from './support/processes.js';

/**
 * PGlite (PostgreSQL in WASM) as a database (`pglite:./dir`) and as verify's
 * scratch engine, through the real CLI. Each PGlite start costs seconds, so
 * each test walks a whole story on one project.
 */

const USERS = `-- migrate:up
CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now());
-- migrate:down
DROP TABLE users;
`;
const POSTS = `-- migrate:up
CREATE TABLE posts (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id), body text);
-- migrate:down
DROP TABLE posts;
`;
// Line 3 fails after line 2 has changed the schema: the whole file must roll back.
const BROKEN = `-- migrate:up
ALTER TABLE users ADD COLUMN nickname text;
INSERT INTO nowhere VALUES (1);
-- migrate:down
ALTER TABLE users DROP COLUMN nickname;
`;
const SLOW = `-- migrate:up
CREATE TABLE audit (id bigserial PRIMARY KEY);
SELECT pg_sleep(8);
-- migrate:down
DROP TABLE audit;
`;

/** A project whose database is a PGlite data directory. lint.dialect is spelled out: config/load.ts derives it from postgres:// URLs only. */
function pgliteProject(files: Record<string, string>): string {
  const root = tempDir('cairn-pglite-');
  writeMigrations(root, files);
  writeFileSync(join(root, 'cairn.config.json'), JSON.stringify({ database: 'pglite:./pgdata', lint: { dialect: 'postgres' } }));
  return root;
}

/** Columns of a table, read with PGlite itself (no Cairn process may have the directory open). */
async function columns(dataDir: string, table: string): Promise<string[]> {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite(dataDir);
  try {
    const { rows } = await db.query<{ column_name: string }>('SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position', [table]);
    return rows.map((row) => row.column_name);
  } finally {
    await db.close();
  }
}

const states = (root: string) => {
  const status = runCli(['status', '--json'], { cwd: root });
  expect(status.status, status.stderr).toBe(0);
  return (JSON.parse(status.stdout) as { migrations: { version: string; state: string }[] }).migrations.map((m) => `${m.version} ${m.state}`);
};

afterEach(killLeftovers);

describe('pglite: URLs', () => {
  it('reads memory and data-directory forms, relative to the project', () => {
    expect(parseDatabaseUrl('pglite:', '/proj')).toEqual({ scheme: 'pglite', dataDir: null, display: 'pglite::memory:' });
    expect(parseDatabaseUrl('pglite::memory:', '/proj')).toEqual({ scheme: 'pglite', dataDir: null, display: 'pglite::memory:' });
    expect(parseDatabaseUrl('pglite:./data/pg', '/proj')).toEqual({ scheme: 'pglite', dataDir: '/proj/data/pg', display: 'pglite:./data/pg' });
    expect(parseDatabaseUrl('pglite:///var/pg', '/proj')).toMatchObject({ dataDir: '/var/pg' });
  });

  it('reads a data directory that does not exist as empty, without creating it, and refuses one that is not PGlite', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_create_users.sql': USERS });
    const status = runCli(['status', '--url', 'pglite:./nothing-yet'], { cwd: root });
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toContain('1 pending');
    expect(existsSync(join(root, 'nothing-yet'))).toBe(false);

    const wrong = runCli(['status', '--url', 'pglite:./migrations'], { cwd: root });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('pglite:./migrations is not a PGlite data directory');
  });
});

describe('cairn on a PGlite data directory', () => {
  it('applies, rolls a failing migration back whole with its file and line, dumps, rolls back, and a second up does nothing', async () => {
    const root = pgliteProject({ '0001_create_users.sql': USERS, '0002_create_posts.sql': POSTS, '0003_add_nickname.sql': BROKEN });
    const dataDir = join(root, 'pgdata');

    const failed = runCli(['up'], { cwd: root });
    expect(failed.status, failed.stderr).toBe(1);
    expect(failed.stdout).toContain('0001_create_users … ok');
    expect(failed.stdout).toContain('0002_create_posts … ok');
    expect(failed.stderr).toContain('migrations/0003_add_nickname.sql:3:13: relation "nowhere" does not exist (42P01)');
    expect(failed.stderr).toContain('rolled back whole');
    expect(states(root)).toEqual(['0001 applied', '0002 applied', '0003 pending']);
    expect(await columns(dataDir, 'users')).toEqual(['id', 'email', 'created_at']); // line 2's column went with the rollback

    writeFileSync(join(root, 'migrations', '0003_add_nickname.sql'), BROKEN.replace('INSERT INTO nowhere VALUES (1);\n', ''));
    const fixed = runCli(['up'], { cwd: root });
    expect(fixed.status, fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain('Applied 1 migration');
    expect(runCli(['up'], { cwd: root }).stdout).toContain('Nothing to apply');
    const dump = runCli(['dump', '--output', '-'], { cwd: root });
    expect(dump.status, dump.stderr).toBe(0);
    expect(dump.stdout).toContain('CREATE TABLE public.posts (');
    expect(dump.stdout).toContain('nickname text');

    const down = runCli(['down', '--steps', '2'], { cwd: root });
    expect(down.status, down.stderr).toBe(0);
    expect(states(root)).toEqual(['0001 applied', '0002 pending', '0003 pending']);
    expect(await columns(dataDir, 'users')).toEqual(['id', 'email', 'created_at']);
    expect(await columns(dataDir, 'posts')).toEqual([]);
    expect(existsSync(`${dataDir}.cairn.lock`)).toBe(false); // every run let go of the directory
  });

  it('keeps a second process out of the data directory: it waits, times out naming the holder (exit 4), and takes over from a killed one', async () => {
    const root = pgliteProject({ '0001_create_users.sql': USERS, '0002_create_audit.sql': SLOW });

    const holder = startCli(['up'], root);
    await holder.waitFor(/↑ 0002_create_audit/, 60_000);
    const blocked = runCli(['up', '--lock-timeout', '1'], { cwd: root });
    expect(blocked.status, blocked.stderr).toBe(4);
    expect(blocked.stderr).toContain('another process has the PGlite database pglite:./pgdata open');
    expect(blocked.stderr).toContain(`pid ${holder.pid} on `);
    expect((await holder.exited).code).toBe(0);
    expect(states(root)).toEqual(['0001 applied', '0002 applied']);

    // Killed half-way through a migration: the lock file stays behind, PostgreSQL's WAL undoes the half-done step.
    expect(runCli(['down'], { cwd: root }).status).toBe(0);
    const killed = startCli(['up'], root);
    await killed.waitFor(/↑ 0002_create_audit/, 60_000);
    killed.kill();
    await killed.exited;
    expect(existsSync(join(root, 'pgdata.cairn.lock'))).toBe(true);
    writeFileSync(join(root, 'migrations', '0002_create_audit.sql'), SLOW.replace('SELECT pg_sleep(8);\n', '')); // never applied, so it may change
    const next = runCli(['up'], { cwd: root });
    expect(next.status, next.stderr).toBe(0);
    expect(next.stderr).toContain(`took over a stale lock on pglite:./pgdata held by`);
    expect(next.stderr).toContain(`process ${killed.pid} on this host is no longer running`);
    expect(next.stdout).toContain('Applied 1 migration');
  });
});

describe('cairn verify in PGlite', () => {
  // Cairn keeps a fresh PGlite data directory in the OS temp dir to skip initdb next time: here, in one the tests remove.
  // The first verify below makes it, the second starts from it.
  const env = { TMPDIR: tempDir('cairn-pglite-tmp-') };
  const PHONE = `-- migrate:up
ALTER TABLE users ADD COLUMN phone text;
CREATE INDEX users_phone ON users (phone);
-- migrate:down
DROP INDEX users_phone;
ALTER TABLE users DROP COLUMN phone;
`;

  it('replays PostgreSQL migrations in PGlite when no server is configured: passes a correct down, fails a wrong one with the difference', () => {
    const root = tempDir();
    writeMigrations(root, {
      '0001_create_users.sql': USERS,
      '0002_create_posts.sql': POSTS,
      '0003_add_handle.sql': '-- migrate:up\nCREATE EXTENSION IF NOT EXISTS citext;\nALTER TABLE users ADD COLUMN handle citext;\n-- migrate:down\nALTER TABLE users DROP COLUMN handle;\nDROP EXTENSION citext;\n',
      '0004_add_status.sql': `-- migrate:up\nALTER TABLE posts ADD COLUMN status text NOT NULL DEFAULT 'draft';\nCREATE INDEX posts_status ON posts (status);\n-- migrate:down\nDROP INDEX posts_status;\n`,
    });
    writeFileSync(join(root, 'cairn.config.json'), JSON.stringify({ lint: { dialect: 'postgres' } }));

    const result = runCli(['verify'], { cwd: root, env });
    expect(result.status, result.stderr).toBe(1);
    expect(result.stdout).toMatch(/^no PostgreSQL server configured: replaying in PGlite \(embedded PostgreSQL \d+\.\d+\)$/m);
    expect(result.stdout).toMatch(/✓ 0001_create_users +up, down, up/);
    expect(result.stdout).toMatch(/✓ 0002_create_posts +up, down, up/);
    expect(result.stdout).toMatch(/✓ 0003_add_handle +up, down, up/); // contrib extensions are there, as on a server
    expect(result.stdout).toMatch(/✗ 0004_add_status/);
    expect(result.stdout).toContain('down does not restore the schema from before up:');
    expect(result.stdout).toContain('+ column posts.status: text not null default');
    expect(existsSync(join(root, 'cairn.db'))).toBe(false); // the configured (default) database is never touched
    expect(readdirSync(env.TMPDIR).filter((name) => name.startsWith('cairn-pglite-'))).toHaveLength(1);
  });

  it('replays in PGlite with --scratch-url pglite: even when a server is configured; an unreachable server suggests it', async (context) => {
    const unavailable = await postgresUnavailable();
    if (unavailable && !REQUIRE_PG) return context.skip();
    const database = await createPostgresDatabase();
    try {
      const root = tempDir();
      writeMigrations(root, { '0001_create_users.sql': USERS, '0002_add_phone.sql': PHONE });
      const result = runCli(['verify', '--url', database.url, '--scratch-url', 'pglite:', '--json'], { cwd: root, env });
      expect(result.status, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout) as { ok: boolean; scratch: string; notice?: string; migrations: { version: string; down: string }[] };
      expect(report).toMatchObject({ ok: true, scratch: 'pglite::memory: (scratch)' });
      expect(report.notice).toBeUndefined();
      expect(report.migrations.map((m) => `${m.version} ${m.down}`)).toEqual(['0001 verified', '0002 verified']);
      expect(await database.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).toEqual([]);

      const unreachable = runCli(['verify', '--url', 'postgres://nobody:secret@127.0.0.1:1/none'], { cwd: root });
      expect(unreachable.status).toBe(3);
      expect(unreachable.stderr).toContain('cairn verify --scratch-url pglite:');
      expect(unreachable.stderr).not.toContain('secret');
    } finally {
      await database.drop();
    }
  });
});
