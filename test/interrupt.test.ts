import Database from 'better-sqlite3';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresUnavailable, REQUIRE_PG, runCli, tempDir, writeMigrations, type TestDatabase } from './support/databases.js';
import { killLeftovers, startCli } from './support/processes.js';
import { lockKey } from '../src/drivers/postgres/lock.js';

/** Ctrl-C (SIGINT) and SIGTERM during `up`, `down` and `verify`, sent to a real cairn process while a long statement runs. */
const USERS = '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE users;\n';
const ROWS = '-- migrate:up\nINSERT INTO users (id) VALUES (1), (2);\n-- migrate:down\nDELETE FROM users;\n';

afterEach(killLeftovers);

async function postgres(): Promise<TestDatabase | null> {
  const unavailable = await postgresUnavailable();
  if (unavailable && REQUIRE_PG) throw new Error(`PostgreSQL is required but unreachable: ${unavailable}`);
  if (unavailable) {
    console.warn(`skipped: ${unavailable}`);
    return null;
  }
  return createPostgresDatabase();
}

describe('interrupting cairn on PostgreSQL', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during up cancels the running statement, rolls the step back, releases the lock and exits 130`, { timeout: 60_000 }, async () => {
      const db = await postgres();
      if (!db) return;
      try {
        const root = tempDir();
        const slow = '-- migrate:up\nCREATE TABLE c (id int);\nSELECT pg_sleep(30);\n-- migrate:down\nDROP TABLE c;\n';
        const dir = writeMigrations(root, { '0001_users.sql': USERS, '0002_rows.sql': ROWS, '0003_slow.sql': slow });
        const run = startCli(['up', '--url', db.url], root);
        await run.waitFor(/0003_slow … $/);
        await waitUntilRunning(db, 'pg_sleep');
        process.kill(run.pid, signal);
        const exit = await run.exited;
        expect(exit.code).toBe(130);
        expect(exit.stderr).toContain('error[INTERRUPTED]: interrupted: 0003_slow rolled back, 0001–0002 remain applied');
        // Nothing runs on after the process: no statement, no lock, no half of 0003.
        expect(await db.query("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()")).toEqual([]);
        expect(await db.query("SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).toEqual([]);
        expect(await db.query("SELECT to_regclass('c') AS c")).toEqual([{ c: null }]);
        expect(await db.query('SELECT version FROM cairn_migrations ORDER BY version')).toEqual([{ version: '0001' }, { version: '0002' }]);
        // The next up gets the lock at once and finishes the job.
        writeFileSync(join(dir, '0003_slow.sql'), slow.replace('SELECT pg_sleep(30);\n', ''));
        const next = runCli(['up', '--url', db.url, '--lock-timeout', '1'], { cwd: root });
        expect(next.status).toBe(0);
        expect(next.stdout).toContain('0003_slow … ok');
      } finally {
        await db.drop();
      }
    });
  }

  it('says so in the JSON error shape with --json', { timeout: 60_000 }, async () => {
    const db = await postgres();
    if (!db) return;
    try {
      const root = tempDir();
      writeMigrations(root, { '0001_slow.sql': '-- migrate:up\nSELECT pg_sleep(30);\n' });
      const run = startCli(['up', '--url', db.url, '--json'], root);
      await waitUntilRunning(db, 'pg_sleep');
      process.kill(run.pid, 'SIGINT');
      const exit = await run.exited;
      expect(exit.code).toBe(130);
      expect(JSON.parse(exit.stdout)).toEqual({
        error: {
          code: 'INTERRUPTED',
          message: 'interrupted: 0001_slow rolled back, nothing was applied',
          hint: expect.stringContaining('lock is released'),
          details: { direction: 'up', applied: [], interrupted: '0001', rolledBack: true },
        },
      });
    } finally {
      await db.drop();
    }
  });

  it('SIGINT during down undoes the rollback step and keeps the migration applied', { timeout: 60_000 }, async () => {
    const db = await postgres();
    if (!db) return;
    try {
      const root = tempDir();
      writeMigrations(root, { '0001_users.sql': USERS, '0002_rows.sql': ROWS.replace('DELETE FROM users;', 'DELETE FROM users;\nSELECT pg_sleep(30);') });
      expect(runCli(['up', '--url', db.url], { cwd: root }).status).toBe(0);
      const run = startCli(['down', '--url', db.url], root);
      await waitUntilRunning(db, 'pg_sleep');
      process.kill(run.pid, 'SIGINT');
      const exit = await run.exited;
      expect(exit.code).toBe(130);
      expect(exit.stderr).toContain('interrupted: the rollback of 0002_rows was undone (it stays applied), nothing was rolled back');
      expect(await db.query('SELECT count(*)::int AS n FROM users')).toEqual([{ n: 2 }]);
      expect(await db.query("SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).toEqual([]);
    } finally {
      await db.drop();
    }
  });

  it('SIGINT while waiting for the lock stops the wait at once', { timeout: 60_000 }, async () => {
    const db = await postgres();
    if (!db) return;
    const holder = new pg.Client({ connectionString: db.url });
    try {
      await holder.connect();
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [lockKey('cairn_migrations')]);
      const root = tempDir();
      writeMigrations(root, { '0001_users.sql': USERS });
      const run = startCli(['up', '--url', db.url, '--lock-timeout', '60'], root);
      await waitUntilRunning(db, 'pg_try_advisory_lock', false);
      process.kill(run.pid, 'SIGINT');
      const exit = await run.exited;
      expect(exit.code).toBe(130);
      expect(exit.stderr).toContain('error[INTERRUPTED]: interrupted while waiting for the migration lock; nothing was applied');
    } finally {
      await holder.end();
      await db.drop();
    }
  });

  it('SIGINT during verify cancels the replay and drops the scratch database', { timeout: 60_000 }, async () => {
    const db = await postgres();
    if (!db) return;
    try {
      const root = tempDir();
      writeMigrations(root, { '0001_users.sql': USERS, '0002_slow.sql': '-- migrate:up\nCREATE TABLE c (id int);\nSELECT pg_sleep(30);\n-- migrate:down\nDROP TABLE c;\n' });
      const run = startCli(['verify', '--url', db.url], root);
      await waitUntilRunning(db, 'pg_sleep');
      process.kill(run.pid, 'SIGINT');
      const exit = await run.exited;
      expect(exit.code).toBe(130);
      expect(exit.stderr).toContain('error[INTERRUPTED]: interrupted: verify stopped at 0002_slow after checking 1 migration; the scratch database was dropped');
      expect(await db.query(`SELECT datname FROM pg_database WHERE datname LIKE 'cairn_scratch_${run.pid}_%'`)).toEqual([]);
    } finally {
      await db.drop();
    }
  });
});

describe('interrupting cairn on SQLite', () => {
  it('SIGINT during a long step: the step ends (SQLite cannot be stopped from outside), nothing more runs, the lock row is removed, exit 130', { timeout: 60_000 }, async () => {
    const root = tempDir();
    const big = '-- migrate:up\nCREATE TABLE big AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000000) SELECT x FROM n;\n-- migrate:down\nDROP TABLE big;\n';
    writeMigrations(root, { '0001_users.sql': USERS, '0002_big.sql': big, '0003_rows.sql': ROWS });
    const run = startCli(['up', '--url', 'sqlite:app.db'], root);
    await run.waitFor(/0002_big … $/);
    process.kill(run.pid, 'SIGINT');
    const exit = await run.exited;
    expect(exit.code).toBe(130);
    expect(exit.stderr).toContain('error[INTERRUPTED]: interrupted: stopped before 0003_rows, 0001–0002 remain applied');
    const db = new Database(join(root, 'app.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT * FROM cairn_migrations_lock').all()).toEqual([]);
      expect(db.prepare('SELECT version FROM cairn_migrations ORDER BY version').all()).toEqual([{ version: '0001' }, { version: '0002' }]);
    } finally {
      db.close();
    }
    // No stale lock to take over: the next up says nothing about one and finishes.
    const next = runCli(['up', '--url', 'sqlite:app.db', '--lock-timeout', '1'], { cwd: root });
    expect(next.status).toBe(0);
    expect(next.stderr).not.toContain('stale');
    expect(next.stdout).toContain('0003_rows … ok');
  });

  it('SIGINT during verify stops after the running step and removes the scratch file', { timeout: 60_000 }, async () => {
    const root = tempDir();
    const tmp = tempDir('cairn-tmp-');
    const big = '-- migrate:up\nCREATE TABLE big AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000000) SELECT x FROM n;\n-- migrate:down\nDROP TABLE big;\n';
    writeMigrations(root, { '0001_users.sql': USERS, '0002_big.sql': big, '0003_rows.sql': ROWS });
    const run = startCli(['verify', '--url', 'sqlite:app.db'], root, { TMPDIR: tmp });
    await waitFor(() => readdirSync(tmp).length > 0);
    process.kill(run.pid, 'SIGINT');
    const exit = await run.exited;
    expect(exit.code).toBe(130);
    expect(exit.stderr).toMatch(/error\[INTERRUPTED\]: interrupted: verify stopped at 000\d_\w+ after checking \d migrations?; the scratch database was dropped/);
    expect(readdirSync(tmp)).toEqual([]);
    expect(existsSync(join(root, 'app.db'))).toBe(false);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Until a statement containing `text` runs on the database (from another session). */
async function waitUntilRunning(db: TestDatabase, text: string, active = true): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const rows = await db.query(`SELECT pid FROM pg_stat_activity WHERE ${active ? "state = 'active' AND " : ''}query LIKE '%${text}%' AND query NOT LIKE '%pg_stat_activity%'`);
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no statement with ${text} started within 20 s`);
}
