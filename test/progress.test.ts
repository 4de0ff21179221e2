import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { lockKey } from '../src/drivers/postgres/lock.js';
import { CLI, createPostgresDatabase, postgresUnavailable, REQUIRE_PG, runCli, tempDir, writeMigrations } from './support/databases.js';

/**
 * Item 18: what takes time says so (linting before `up`, waiting for the lock,
 * verify's replay), on its own line, and nothing of it with --json; and no
 * warning ever lands in the middle of a "  ↑ 0002_x … " step line.
 */
const USERS = '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n-- migrate:down\nDROP TABLE users;\n';
const POSTS = '-- migrate:up\nCREATE TABLE posts (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE posts;\n';
// A lint warning (schema and data mixed) and a statement the database rejects.
const BROKEN = 'ALTER TABLE users ADD COLUMN phone TEXT;\nINSERT INTO postz (id) VALUES (1);\n';

/** The CLI with stdout and stderr into one file, in the order written: what a user sees in a terminal or a CI log. */
function runMerged(args: readonly string[], cwd: string): { status: number; output: string } {
  const file = join(tempDir('cairn-merged-'), 'output.txt');
  const fd = openSync(file, 'w');
  try {
    const result = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, DATABASE_URL: '', CAIRN_ENV: '' }, stdio: ['ignore', fd, fd], timeout: 120_000 });
    return { status: result.status ?? -1, output: readFileSync(file, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

describe('progress of up', () => {
  it('says it is linting, and a failing step line ends with FAILED, never with the lint summary', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_create_users.sql': USERS, '0002_add_phone.sql': BROKEN });
    const { status, output } = runMerged(['up'], root);
    expect(status).toBe(1);
    for (const line of output.split('\n')) expect(line.includes('↑ 0002') && /lint|warning|notice/.test(line), line).toBe(false);
    expect(output).toMatch(/^ {2}↑ 0002_add_phone … FAILED$/m);
    expect(output).toMatch(/^lint: 1 warning in 0002_add_phone/m);
    expect(output).toMatch(/^Linting 2 pending migrations…$/m);
    expect(output.indexOf('Linting')).toBeLessThan(output.indexOf('↑ 0001_create_users'));
  });

  it('a notice during a step starts its own line, and the step still ends with ok', () => {
    const root = tempDir();
    writeMigrations(root, {
      '0001_create_items.sql': 'CREATE TABLE items (id INTEGER PRIMARY KEY, counter INTEGER NOT NULL);\nINSERT INTO items (counter) VALUES (1), (2), (3);\n',
      // SQLite says, in the middle of the batched step, that maxLockWait has no effect there.
      '0002_backfill_items.sql': '-- migrate:up\n-- cairn:batch size=2 maxLockWait=100ms\nUPDATE items SET counter = counter + 1 WHERE counter >= 0;\n',
    });
    const { status, output } = runMerged(['up'], root);
    expect(status).toBe(0);
    expect(output).toMatch(/^notice: .*maxLockWait has no effect on this database/m);
    for (const line of output.split('\n')) if (line.includes('notice:')) expect(line.startsWith('notice:'), line).toBe(true);
    expect(output).toMatch(/^ {4}ok \(\d+ ms\)$/m);
    expect(output).toContain('Applied 2 migrations');
  });

  it('prints no progress with --json: stdout is the one document', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_create_users.sql': USERS, '0002_create_posts.sql': POSTS });
    const result = runCli(['up', '--json'], { cwd: root });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).filesExecuted).toBe(2);
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/Linting|Waiting|↑/);
  });

  it('says whose lock it waits for once the wait passes a second (SQLite lock row of a live process)', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_create_users.sql': USERS });
    expect(runCli(['status'], { cwd: root }).status).toBe(0);
    // A lock row held by this (live) test process, as a running `cairn up` would hold it.
    const db = new Database(join(root, 'cairn.db'));
    db.exec('CREATE TABLE IF NOT EXISTS cairn_migrations_lock (id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, acquired_at TEXT NOT NULL, expires_at INTEGER NOT NULL)');
    db.prepare('INSERT INTO cairn_migrations_lock VALUES (1, ?, ?, ?, ?, ?)').run('deployer@ci #x', process.pid, hostname(), new Date().toISOString(), Date.now() + 600_000);
    db.close();
    const human = runCli(['up', '--lock-timeout', '2'], { cwd: root });
    expect(human.status).toBe(4);
    expect(human.stdout).toMatch(new RegExp(`^Waiting for the lock held by deployer@ci \\(pid ${process.pid} on [^)]+\\)… \\(up to 2 s, --lock-timeout\\)$`, 'm'));
    const json = runCli(['up', '--lock-timeout', '2', '--json'], { cwd: root });
    expect(json.status).toBe(4);
    expect(JSON.parse(json.stdout).error.code).toBe('LOCK_TIMEOUT');
    expect(`${json.stdout}${json.stderr}`).not.toContain('Waiting');
  });

  it('says whose lock it waits for on PostgreSQL (advisory lock held by another session)', async (context) => {
    const why = await postgresUnavailable();
    if (why && !REQUIRE_PG) return context.skip();
    const db = await createPostgresDatabase();
    const holder = new pg.Client({ connectionString: db.url, application_name: 'other-deploy' });
    await holder.connect();
    try {
      const root = tempDir();
      writeMigrations(root, { '0001_create_users.sql': USERS });
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [lockKey('cairn_migrations')]);
      const human = runCli(['up', '--url', db.url, '--lock-timeout', '2'], { cwd: root });
      expect(human.status).toBe(4);
      expect(human.stdout).toMatch(/^Waiting for the lock held by other-deploy \(server pid \d+.*\)… \(up to 2 s, --lock-timeout\)$/m);
      const json = runCli(['up', '--url', db.url, '--lock-timeout', '2', '--json'], { cwd: root });
      expect(json.status).toBe(4);
      expect(`${json.stdout}${json.stderr}`).not.toContain('Waiting');
    } finally {
      await holder.end();
      await db.drop();
    }
  });
});

describe('progress of verify', () => {
  it('says it replays N migrations in a scratch database, with per-migration progress; nothing of it with --json', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_create_users.sql': USERS, '0002_create_posts.sql': POSTS });
    const human = runCli(['verify'], { cwd: root });
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/^Replaying 2 migrations in a scratch database…$/m);
    expect(human.stdout).toMatch(/^ {2}1\/2 0001_create_users$/m);
    expect(human.stdout).toContain('All 2 migrations verified.');
    const json = runCli(['verify', '--json'], { cwd: root });
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).ok).toBe(true);
    expect(`${json.stdout}${json.stderr}`).not.toMatch(/Replaying|1\/2/);
  });
});
