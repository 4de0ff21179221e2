import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresUnavailable, REQUIRE_PG, runCli, tempDir, writeMigrations } from './support/databases.js';

/** What users of dbmate, Flyway and wrangler type out of habit, and what Cairn answers. */
const USERS = '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE users;\n';

describe('habits from other tools', () => {
  it("answers another tool's command name with Cairn's", () => {
    const root = tempDir();
    for (const [theirs, ours] of [['migrate', 'up'], ['rollback', 'down'], ['info', 'status']]) {
      const result = runCli([theirs!], { cwd: root });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(`unknown command '${theirs}' (did you mean \`cairn ${ours}\`?)`);
    }
    expect(runCli(['upp'], { cwd: root }).stderr).not.toContain('did you mean `cairn');
  });

  it('status --exit-code exits 1 while a migration is pending and 0 once none is', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_users.sql': USERS });
    const pending = runCli(['status', '--exit-code'], { cwd: root });
    expect(pending.status).toBe(1);
    expect(pending.stdout).toContain('1 pending');
    expect(runCli(['status'], { cwd: root }).status).toBe(0);
    expect(runCli(['up'], { cwd: root }).status).toBe(0);
    expect(runCli(['status', '--exit-code'], { cwd: root }).status).toBe(0);
  });

  it('accepts --local with --d1 as wrangler does, and refuses it with --remote', () => {
    const root = tempDir();
    const both = runCli(['--d1', 'DB', '--local', '--remote', 'status'], { cwd: root });
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('--local and --remote contradict each other');
    const local = runCli(['--d1', 'DB', '--local', 'status'], { cwd: root });
    expect(local.stderr).not.toContain("unknown option '--local'");
  });

  it('`cairn create` answers a golang-migrate habit (a name) with `cairn new`', () => {
    const result = runCli(['create', 'add_users'], { cwd: tempDir() });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('run `cairn new add_users`');
  });

  it('create and drop a SQLite file (drop asks: --yes without a terminal)', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_users.sql': USERS });
    expect(runCli(['create', '--url', 'sqlite:app.db'], { cwd: root }).stdout).toContain('Created sqlite:app.db');
    expect(runCli(['up', '--url', 'sqlite:app.db'], { cwd: root }).status).toBe(0);
    const unconfirmed = runCli(['drop', '--url', 'sqlite:app.db'], { cwd: root });
    expect(unconfirmed.status).toBe(2);
    expect(unconfirmed.stderr).toContain('pass --yes');
    expect(existsSync(join(root, 'app.db'))).toBe(true);
    expect(runCli(['drop', '--yes', '--url', 'sqlite:app.db'], { cwd: root }).stdout).toContain('Dropped sqlite:app.db');
    expect(existsSync(join(root, 'app.db'))).toBe(false);
    expect(runCli(['drop', '--yes', '--url', 'sqlite:app.db'], { cwd: root }).stdout).toContain('does not exist; nothing to do');
  });
});

describe.skipIf(!REQUIRE_PG && (await postgresUnavailable()) !== null)('dbmate habits on a PostgreSQL server', () => {
  const base = 'postgres://postgres:not-printed@127.0.0.1:5432';
  const exists = async (name: string) => {
    const client = new pg.Client({ connectionString: `${base}/postgres` });
    await client.connect();
    try {
      return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rows.length === 1;
    } finally {
      await client.end();
    }
  };

  it('up names `cairn create` for a missing database; up --create creates it; drop removes it', async () => {
    const name = `cairn_habit_${process.pid}`;
    const url = `${base}/${name}`;
    const root = tempDir();
    writeMigrations(root, { '0001_users.sql': USERS });
    const missing = runCli(['up', '--url', url], { cwd: root });
    expect(missing.status).toBe(3);
    expect(missing.stderr).toContain('create it with `cairn create` (or `cairn up --create`)');
    expect(await exists(name)).toBe(false);

    const created = runCli(['up', '--create', '--url', url], { cwd: root });
    expect(created.status).toBe(0);
    expect(created.stderr).toContain(`notice: created database ${name}`);
    expect(created.stdout + created.stderr).not.toContain('not-printed');
    expect(runCli(['create', '--url', url], { cwd: root }).stdout).toContain('exists already; nothing to do');

    const dropped = runCli(['drop', '--yes', '--json', '--url', url], { cwd: root });
    expect(dropped.status).toBe(0);
    expect(JSON.parse(dropped.stdout)).toEqual({ database: `postgres://postgres:***@127.0.0.1:5432/${name}`, name, dropped: true });
    expect(await exists(name)).toBe(false);
  });
});
