import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresUnavailable, REQUIRE_PG, runCli, tempDir, writeMigrations } from './support/databases.js';

/** The CLI as a user meets it: real process, real files, exit codes and output. */
const USERS = '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n-- migrate:down\nDROP TABLE users;\n';
const BROKEN = '-- migrate:up\nCREATE TABLE posts (id INTEGER PRIMARY KEY);\n\nINSERT INTO postz (id) VALUES (1);\n-- migrate:down\nDROP TABLE posts;\n';

describe('cairn CLI', () => {
  it('teaches with --help: commands, examples and exit codes', () => {
    const root = tempDir();
    const help = runCli(['--help'], { cwd: root });
    expect(help.status).toBe(0);
    for (const command of ['init', 'new', 'status', 'up', 'down', 'validate', 'baseline', 'repair']) expect(help.stdout).toMatch(new RegExp(`\\n  ${command}\\b`));
    expect(help.stdout).toContain('Exit codes');
    const up = runCli(['up', '--help'], { cwd: root });
    expect(up.stdout).toContain('--dry-run');
    expect(up.stdout).toContain('cairn up --to 0004');
    expect(up.stdout).toContain('--url'); // global options shown on each command
  });

  it('exits 2 on an unknown option or command, saying what was wrong', () => {
    const root = tempDir();
    const result = runCli(['up', '--dryrun'], { cwd: root });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("unknown option '--dryrun'");
    expect(runCli(['upp'], { cwd: root }).status).toBe(2);
    const json = runCli(['up', '--dryrun', '--json'], { cwd: root });
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'USAGE', message: "unknown option '--dryrun'\n(Did you mean --dry-run?)", details: {} } });
  });

  it('refuses an unknown --to before creating the database', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_users.sql': USERS });
    const result = runCli(['up', '--to', '0009'], { cwd: root });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('there is no migration with version 0009');
    expect(existsSync(join(root, 'cairn.db'))).toBe(false);
  });

  it('says there is nothing to roll back without creating the database', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_users.sql': USERS });
    const result = runCli(['down'], { cwd: root });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Nothing to roll back.');
    expect(existsSync(join(root, 'cairn.db'))).toBe(false);
  });

  it('runs the first day: init, new, up, status --json, down', () => {
    const root = tempDir();
    expect(runCli(['init'], { cwd: root }).stdout).toContain('created cairn.config.ts');
    const created = runCli(['new', 'create_users'], { cwd: root });
    expect(created.stdout).toContain('Created migrations/0001_create_users.sql');
    const file = join(root, 'migrations', '0001_create_users.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace('-- migrate:up\n', '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n').replace('-- migrate:down\n', '-- migrate:down\nDROP TABLE users;\n'));

    const up = runCli(['up'], { cwd: root });
    expect(up.status).toBe(0);
    expect(up.stdout).toContain('0001_create_users … ok');
    expect(existsSync(join(root, 'cairn.db'))).toBe(true); // the embedded default from cairn.config.ts

    const status = runCli(['status', '--json'], { cwd: root });
    expect(status.status).toBe(0);
    const report = JSON.parse(status.stdout) as { migrations: { version: string; name: string; state: string }[] };
    expect(report.migrations).toEqual([expect.objectContaining({ version: '0001', name: 'create_users', state: 'applied', classification: { type: 'additive', risk: 'low' }, declaredType: 'additive' })]);

    expect(runCli(['up'], { cwd: root }).stdout).toContain('Nothing to apply');
    const down = runCli(['down', '--json'], { cwd: root });
    expect(JSON.parse(down.stdout)).toMatchObject({ success: true, filesExecuted: 1, applied: [{ version: '0001', direction: 'down' }] });
  });

  it('exits 1 on a failing migration and names file, line and the database message', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_users.sql': USERS, '0002_posts.sql': BROKEN });
    const result = runCli(['up', '--url', 'sqlite:app.db'], { cwd: root });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('migrations/0002_posts.sql:4:1: no such table: postz');
    expect(result.stderr).toContain('rolled back whole');
    const json = runCli(['up', '--url', 'sqlite:app.db', '--json'], { cwd: root });
    expect(json.status).toBe(1);
    // The shape of every --json error, with what the run did beside it.
    expect(JSON.parse(json.stdout)).toMatchObject({
      error: {
        code: 'MIGRATION_FAILED',
        message: expect.stringContaining('migrations/0002_posts.sql:4:1: no such table: postz'),
        hint: 'fix the statement and run `cairn up` again',
        details: { file: 'migrations/0002_posts.sql', line: 4, rolledBack: true },
      },
      success: false,
      filesExecuted: 0,
      applied: [],
    });
    const usage = runCli(['up', '--url', 'sqlite:app.db', '--json', '--to', 'nope'], { cwd: root });
    expect(Object.keys((JSON.parse(usage.stdout) as { error: object }).error)).toEqual(expect.arrayContaining(['code', 'message']));
  });

  it('prints the plan and SQL with --dry-run and creates nothing', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_users.sql': USERS });
    const result = runCli(['up', '--dry-run'], { cwd: root });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('CREATE TABLE users');
    expect(result.stdout).toContain('nothing was changed');
    expect(existsSync(join(root, 'cairn.db'))).toBe(false);
  });

  it('exits 3 on an edited applied file, naming it and the remedy; validate agrees', () => {
    const root = tempDir();
    const dir = writeMigrations(root, { '0001_users.sql': USERS });
    runCli(['up'], { cwd: root });
    writeFileSync(join(dir, '0001_users.sql'), USERS.replace('email TEXT', 'mail TEXT'));
    const up = runCli(['up'], { cwd: root });
    expect(up.status).toBe(3);
    expect(up.stderr).toContain('error[CHECKSUM_MISMATCH]');
    expect(up.stderr).toContain('migrations/0001_users.sql');
    expect(up.stderr).toContain('cairn repair');
    const validate = runCli(['validate', '--json'], { cwd: root });
    expect(validate.status).toBe(3);
    expect(JSON.parse(validate.stdout)).toMatchObject({ valid: false, problems: [{ kind: 'changed', file: 'migrations/0001_users.sql' }] });
    expect(runCli(['repair'], { cwd: root }).stdout).toContain('accept 0001_users');
    expect(runCli(['validate'], { cwd: root }).status).toBe(0);
  });

  it('reports malformed files with file and line, and applies nothing', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_users.sql': USERS, 'teams.sql': 'CREATE TABLE teams (id INTEGER);' });
    const result = runCli(['up'], { cwd: root });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('migrations/teams.sql: not a migration file name');
    expect(existsSync(join(root, 'cairn.db'))).toBe(false);
  });

  it('picks the database: --url, then --env, then DATABASE_URL, then the config file', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_users.sql': USERS });
    writeFileSync(
      join(root, 'cairn.config.ts'),
      `import { defineConfig } from 'cairn';\nexport default defineConfig({\n  database: 'sqlite:from-config.db',\n  environments: { qa: { database: 'sqlite:qa.db' } },\n});\n`,
    );
    const target = (args: string[], env: Record<string, string> = {}) => runCli([...args, 'up', '--dry-run'], { cwd: root, env }).stdout.split('\n')[0];
    expect(target([])).toBe('Plan for sqlite:from-config.db');
    expect(target([], { DATABASE_URL: 'sqlite:from-env.db' })).toBe('Plan for sqlite:from-env.db');
    expect(target(['--env', 'qa'], { DATABASE_URL: 'sqlite:from-env.db' })).toBe('Plan for sqlite:qa.db (environment qa)');
    expect(target(['--url', 'sqlite:flag.db', '--env', 'qa'])).toBe('Plan for sqlite:flag.db (environment qa)');
    const unknown = runCli(['--env', 'prod', 'status'], { cwd: root });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('environment "prod" is not defined');
    expect(unknown.stderr).toContain('defined environments: qa');
  });

  it('explains a broken config file', () => {
    const root = tempDir();
    writeFileSync(join(root, 'cairn.config.ts'), `export default { databse: 'sqlite:x.db' };\n`);
    const result = runCli(['status'], { cwd: root });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown setting "databse"');
    expect(result.stderr).toContain('known settings: database');
  });

  it('never prints a password, even when the connection fails', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_users.sql': USERS });
    const url = 'postgres://app:hunter2secret@127.0.0.1:1/app';
    for (const args of [['status'], ['up'], ['up', '--json'], ['up', '--dry-run']]) {
      const result = runCli(['--url', url, ...args], { cwd: root });
      expect(result.status).toBe(3);
      expect(result.stdout + result.stderr).not.toContain('hunter2secret');
      expect(result.stdout + result.stderr).toContain('postgres://app:***@127.0.0.1:1/app');
    }
  });

  it('rejects a nonsense --lock-timeout', () => {
    const result = runCli(['up', '--lock-timeout', 'soon'], { cwd: tempDir() });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--lock-timeout must be a number of seconds');
  });
});

describe('cairn CLI on PostgreSQL', () => {
  it('applies, reports and hides the password of a working URL', async () => {
    const unavailable = await postgresUnavailable();
    if (unavailable && REQUIRE_PG) throw new Error(`PostgreSQL is required but unreachable: ${unavailable}`);
    if (unavailable) return console.warn(`skipped: ${unavailable}`);
    const db = await createPostgresDatabase();
    try {
      const root = tempDir();
      writeMigrations(root, { '0001_users.sql': USERS, '0002_posts.sql': BROKEN });
      // Trust auth ignores the password, so this URL connects: the secret must still never show.
      const url = db.url.replace('postgres@', 'postgres:topsecretpw@');
      const result = runCli(['up', '--url', url], { cwd: root });
      expect(result.status).toBe(1);
      expect(result.stdout).toContain('postgres://postgres:***@');
      expect(result.stderr).toContain('migrations/0002_posts.sql:4:13: relation "postz" does not exist (42P01)');
      const status = runCli(['status', '--url', url, '--json'], { cwd: root });
      expect((JSON.parse(status.stdout) as { migrations: { state: string }[] }).migrations.map((m) => m.state)).toEqual(['applied', 'pending']);
      expect(result.stdout + result.stderr + status.stdout + status.stderr).not.toContain('topsecretpw');
    } finally {
      await db.drop();
    }
  });

  it('shows the line the database pointed at, with a caret under the token', async () => {
    const unavailable = await postgresUnavailable();
    if (unavailable && REQUIRE_PG) throw new Error(`PostgreSQL is required but unreachable: ${unavailable}`);
    if (unavailable) return console.warn(`skipped: ${unavailable}`);
    const db = await createPostgresDatabase();
    try {
      const root = tempDir();
      writeMigrations(root, { '0001_posts.sql': 'CREATE TABLE posts (id int);\nINSERT INTO posts (id)\n  SELECT id\n    FROM userz\n   WHERE id > 0;\n' });
      const result = runCli(['up', '--url', db.url], { cwd: root });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('migrations/0001_posts.sql:4:10: relation "userz" does not exist (42P01)');
      expect(result.stderr).toContain('      4 |     FROM userz\n        |          ^\n');
    } finally {
      await db.drop();
    }
  });
});
