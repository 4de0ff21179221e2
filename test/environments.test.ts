import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCairn } from '../src/cairn.js';
import { isCairnError } from '../src/errors.js';
import { CLI, createPostgresDatabase, postgresUnavailable, REQUIRE_PG, runCli, tempDir, writeMigrations } from './support/databases.js';
import { CREATE_USERS } from './support/fixtures.js';
import { startCli } from './support/processes.js';

/**
 * Environments as a team uses them: qa and production as two real databases
 * in one project, production protected and following qa, and a health check
 * answered by a real HTTP server.
 */
const ADD_PHONE = `-- Migration: add phone to users
-- Type: additive
-- Rollback: drops the column
-- migrate:up
ALTER TABLE users ADD COLUMN phone TEXT;
-- migrate:down
ALTER TABLE users DROP COLUMN phone;
`;

interface ProductionSettings {
  readonly qa?: string;
  readonly production?: string;
  readonly protected?: boolean;
  readonly follows?: string | null;
  readonly healthCheck?: unknown;
}

/** A project with migrations and a cairn.config.ts naming qa and production. */
function project(settings: ProductionSettings = {}, files: Record<string, string> = { '0001_create_users.sql': CREATE_USERS, '0002_add_phone_to_users.sql': ADD_PHONE }): string {
  const root = tempDir('cairn-env-');
  writeMigrations(root, files);
  writeConfig(root, settings);
  return root;
}

function writeConfig(root: string, settings: ProductionSettings): void {
  const production = {
    database: settings.production ?? 'sqlite:production.db',
    ...(settings.protected === false ? {} : { protected: true }),
    ...(settings.follows === null ? {} : { follows: settings.follows ?? 'qa' }),
    ...(settings.healthCheck === undefined ? {} : { healthCheck: settings.healthCheck }),
  };
  const environments = { qa: { database: settings.qa ?? 'sqlite:qa.db' }, production };
  writeFileSync(join(root, 'cairn.config.ts'), `import { defineConfig } from 'cairn';\nexport default defineConfig(${JSON.stringify({ environments }, null, 2)});\n`);
}

/** Versions recorded as applied in a SQLite file (none when the file or table does not exist). */
function appliedIn(path: string): string[] {
  if (!existsSync(path)) return [];
  const db = new Database(path, { readonly: true });
  try {
    const table = db.prepare("SELECT name FROM sqlite_master WHERE name = 'cairn_migrations'").get();
    return table ? db.prepare("SELECT version FROM cairn_migrations WHERE state = 'applied' ORDER BY version").all().map((r) => (r as { version: string }).version) : [];
  } finally {
    db.close();
  }
}

/** Runs the CLI on a real pseudo-terminal (util-linux `script`), typing `answer` at the prompt. */
function runOnTerminal(args: readonly string[], cwd: string, answer: string): { status: number; output: string } {
  const command = [process.execPath, CLI, ...args].map((part) => `'${part}'`).join(' ');
  const result = spawnSync('script', ['-qec', command, '/dev/null'], { cwd, input: `${answer}\n`, encoding: 'utf8', env: { ...process.env, DATABASE_URL: '', CAIRN_ENV: '' }, timeout: 60_000 });
  return { status: result.status ?? -1, output: result.stdout };
}

describe('promotion gate: production follows qa', () => {
  it('counts what wrangler applied on qa (its d1_migrations rows) as applied there', () => {
    const root = project({ protected: false });
    const qa = new Database(join(root, 'qa.db'));
    qa.exec("CREATE TABLE d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL); INSERT INTO d1_migrations (name) VALUES ('0001_create_users.sql')");
    qa.close();
    const up = runCli(['up', '--env', 'production', '--to', '0001'], { cwd: root });
    expect(up.stderr).not.toContain('refusing');
    expect(up.status).toBe(0);
    expect(appliedIn(join(root, 'production.db'))).toEqual(['0001']);
    expect(runCli(['up', '--env', 'production'], { cwd: root }).stderr).toContain('0002_add_phone_to_users.sql: not applied on qa');
  });

  it('refuses what has not run on qa, names it and where, and applies once qa has it', () => {
    const root = project({ protected: false });
    const refused = runCli(['up', '--env', 'production'], { cwd: root });
    expect(refused.status).toBe(3);
    expect(refused.stderr).toContain('refusing to apply to production: 2 migrations have not been applied on qa first');
    expect(refused.stderr).toContain('0001_create_users.sql: not applied on qa (sqlite:qa.db)');
    expect(refused.stderr).toContain('0002_add_phone_to_users.sql: not applied on qa (sqlite:qa.db)');
    expect(refused.stderr).toContain('`cairn up --env qa`');
    expect(appliedIn(join(root, 'production.db'))).toEqual([]);

    // A dry run shows the plan and warns about what a real run would refuse.
    const dry = runCli(['up', '--env', 'production', '--dry-run'], { cwd: root });
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain('up 0001_create_users');
    expect(dry.stderr).toContain('a real run would refuse');

    // qa takes only the first; production may follow that far, and no further.
    expect(runCli(['up', '--env', 'qa', '--to', '0001'], { cwd: root }).status).toBe(0);
    const partly = runCli(['up', '--env', 'production'], { cwd: root });
    expect(partly.status).toBe(3);
    expect(partly.stderr).toContain('1 migration has not been applied on qa first');
    expect(partly.stderr).not.toContain('0001_create_users.sql');
    expect(runCli(['up', '--env', 'production', '--to', '0001'], { cwd: root }).status).toBe(0);
    expect(runCli(['up', '--env', 'qa'], { cwd: root }).status).toBe(0);
    const promoted = runCli(['up', '--env', 'production'], { cwd: root });
    expect(promoted.stderr).not.toContain('error[');
    expect(promoted.status).toBe(0);
    expect(appliedIn(join(root, 'production.db'))).toEqual(['0001', '0002']);
  });

  it('up --to-followed applies what qa has and says what waits; the refusal points at it', () => {
    const third = '-- migrate:up\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE notes;\n';
    const root = project({ protected: false }, { '0001_create_users.sql': CREATE_USERS, '0002_add_phone_to_users.sql': ADD_PHONE, '0003_notes.sql': third });
    expect(runCli(['up', '--env', 'qa', '--to', '0002'], { cwd: root }).status).toBe(0);

    const refused = runCli(['up', '--env', 'production'], { cwd: root });
    expect(refused.status).toBe(3);
    expect(refused.stderr).toContain('0003_notes.sql: not applied on qa');
    expect(refused.stderr).toContain('or apply the 2 before it that ran there (up to 0002) with `cairn up --env production --to-followed`');
    expect(appliedIn(join(root, 'production.db'))).toEqual([]);

    const prefix = runCli(['up', '--env', 'production', '--to-followed'], { cwd: root });
    expect(prefix.status).toBe(0);
    expect(prefix.stderr).toContain('--to-followed: applying up to 0002, what qa has; 0003_notes waits for qa');
    expect(appliedIn(join(root, 'production.db'))).toEqual(['0001', '0002']);

    // Again: nothing more to apply until qa has 0003; then everything.
    const again = runCli(['up', '--env', 'production', '--to-followed'], { cwd: root });
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('0003_notes');
    expect(runCli(['up', '--env', 'qa'], { cwd: root }).status).toBe(0);
    expect(runCli(['up', '--env', 'production', '--to-followed'], { cwd: root }).status).toBe(0);
    expect(appliedIn(join(root, 'production.db'))).toEqual(['0001', '0002', '0003']);

    // Nothing follows on qa: --to-followed is a usage error, and nothing is applied there by it.
    const onQa = runCli(['up', '--env', 'qa', '--to-followed'], { cwd: root });
    expect(onQa.status).toBe(2);
    expect(onQa.stderr).toContain('--to-followed needs an environment that follows another: qa follows none');
  });

  it('refuses a migration whose file changed after it ran on qa', () => {
    const root = project({ protected: false });
    expect(runCli(['up', '--env', 'qa'], { cwd: root }).status).toBe(0);
    writeMigrations(root, { '0002_add_phone_to_users.sql': ADD_PHONE.replace('phone TEXT', 'phone VARCHAR(20)') });
    const refused = runCli(['up', '--env', 'production', '--json'], { cwd: root });
    expect(refused.status).toBe(3);
    const { error } = JSON.parse(refused.stdout) as { error: { code: string; message: string; details: { problems: { version: string; reason: string }[] } } };
    expect(error.code).toBe('PROMOTION');
    expect(error.message).toContain('0002_add_phone_to_users.sql: applied on qa with a different checksum');
    expect(error.details.problems).toEqual([{ version: '0002', name: 'add_phone_to_users', file: 'migrations/0002_add_phone_to_users.sql', reason: 'checksum' }]);
    expect(appliedIn(join(root, 'production.db'))).toEqual([]); // 0001 was fine, but a refused run applies nothing
  });

  it('says which environment it could not reach when the followed database is down', () => {
    const root = project({ protected: false, qa: 'postgres://postgres:pw@127.0.0.1:1/nowhere' });
    const run = runCli(['up', '--env', 'production'], { cwd: root });
    expect(run.status).toBe(3);
    expect(run.stderr).toContain('error[CONNECTION]: cannot read the history of qa (postgres://postgres:***@127.0.0.1:1/nowhere), which production follows');
    expect(appliedIn(join(root, 'production.db'))).toEqual([]);
  });

  it('rejects a follows that names no environment, loops, or names itself', () => {
    const root = project({ follows: 'staging' });
    const unknown = runCli(['status', '--env', 'production'], { cwd: root });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('follows "staging", which is not a defined environment');
    writeFileSync(
      join(root, 'cairn.config.ts'),
      `export default { environments: { qa: { database: 'sqlite:qa.db', follows: 'production' }, production: { database: 'sqlite:p.db', follows: 'qa' }, dev: { follows: 'dev' } } };\n`,
    );
    expect(runCli(['status', '--env', 'production'], { cwd: root }).stderr).toContain('goes round in a circle: production → qa → production');
    expect(runCli(['status', '--env', 'dev'], { cwd: root }).stderr).toContain('cannot follow itself');
  });
});

describe('an environment without a database', () => {
  it('is a config error naming the environment, not a fallback to DATABASE_URL or cairn.db', () => {
    const root = tempDir('cairn-env-');
    writeMigrations(root, { '0001_create_users.sql': CREATE_USERS });
    writeFileSync(
      join(root, 'cairn.config.ts'),
      `export default { environments: { qa: { database: 'sqlite:qa.db' }, production: { database: process.env.PROD_DATABASE_URL, follows: 'qa' }, staging: { protected: true } } };\n`,
    );
    expect(runCli(['up', '--env', 'qa'], { cwd: root }).status).toBe(0);
    // qa has everything, so the gate would pass: production must still not land on qa.db (DATABASE_URL) or cairn.db.
    const unset = runCli(['up', '--env', 'production'], { cwd: root, env: { DATABASE_URL: 'sqlite:qa.db', PROD_DATABASE_URL: '' } });
    expect(unset.status).toBe(2);
    expect(unset.stderr).toContain('environment "production" has no database: its `database` setting is empty');
    expect(unset.stderr).toContain('environments.production');
    const missing = runCli(['status', '--env', 'staging', '--json'], { cwd: root });
    expect(missing.status).toBe(2);
    expect(JSON.parse(missing.stdout).error).toMatchObject({ code: 'CONFIG', details: { environment: 'staging', setting: 'database' } });
    expect(existsSync(join(root, 'cairn.db'))).toBe(false);
    // Named explicitly, the database is used; with no environment, the fallbacks still apply.
    expect(runCli(['up', '--env', 'production', '--url', 'sqlite:p.db'], { cwd: root }).status).toBe(0);
    expect(appliedIn(join(root, 'p.db'))).toEqual(['0001']);
    expect(runCli(['status'], { cwd: root, env: { DATABASE_URL: 'sqlite:qa.db' } }).status).toBe(0);
  });
});

describe('protected environments', () => {
  it('without a terminal refuses unless --yes, and applies nothing', () => {
    const root = project({ follows: null });
    const refused = runCli(['up', '--env', 'production'], { cwd: root });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('production is protected: pass --yes to apply without a prompt');
    expect(refused.stderr).toContain('Environment: production (protected) · sqlite:production.db');
    expect(appliedIn(join(root, 'production.db'))).toEqual([]);

    const applied = runCli(['up', '--env', 'production', '--yes'], { cwd: root });
    expect(applied.status).toBe(0);
    expect(appliedIn(join(root, 'production.db'))).toEqual(['0001', '0002']);

    // Rolling back is a write too; a dry run is not, and never asks.
    expect(runCli(['down', '--env', 'production', '--dry-run'], { cwd: root }).status).toBe(0);
    expect(runCli(['down', '--env', 'production'], { cwd: root }).status).toBe(2);
    expect(runCli(['down', '--env', 'production', '--yes'], { cwd: root }).status).toBe(0);
    expect(appliedIn(join(root, 'production.db'))).toEqual(['0001']);
    // Unprotected qa never asks.
    expect(runCli(['up', '--env', 'qa'], { cwd: root }).status).toBe(0);
  });

  it('on a terminal asks, naming what will run and where; only the environment name confirms', () => {
    const root = project({ follows: null });
    const declined = runOnTerminal(['up', '--env', 'production'], root, 'yes');
    expect(declined.output).toContain('Apply 2 migrations (0001_create_users, 0002_add_phone_to_users) to production (sqlite:production.db)? Type "production" to confirm:');
    expect(declined.output).toContain('not confirmed; nothing applied');
    expect(declined.status).toBe(2);
    expect(appliedIn(join(root, 'production.db'))).toEqual([]);

    const confirmed = runOnTerminal(['up', '--env', 'production'], root, 'production');
    expect(confirmed.status).toBe(0);
    expect(confirmed.output).toContain('Applied 2 migrations');
    expect(appliedIn(join(root, 'production.db'))).toEqual(['0001', '0002']);

    // Nothing pending: nothing to confirm.
    const idle = runOnTerminal(['up', '--env', 'production'], root, '');
    expect(idle.status).toBe(0);
    expect(idle.output).not.toContain('to confirm');
  });

  it('as a library: refuses without yes or confirm; the callback sees the question and decides', async () => {
    const root = project({ follows: null });
    const cairn = createCairn({ cwd: root, env: 'production', envVars: {} });
    const refusal = await cairn.up().catch((error: unknown) => error);
    expect(isCairnError(refusal) && refusal.code).toBe('CONFIRMATION_REQUIRED');
    expect(isCairnError(refusal) && refusal.exitCode).toBe(2);

    const questions: string[] = [];
    const declined = await cairn.up({ confirm: async (question) => (questions.push(question), false) }).catch((error: unknown) => error);
    expect(isCairnError(declined) && declined.message).toBe('not confirmed; nothing applied');
    expect(questions).toEqual(['Apply 2 migrations (0001_create_users, 0002_add_phone_to_users) to production (sqlite:production.db)? Type "production" to confirm:']);
    expect(appliedIn(join(root, 'production.db'))).toEqual([]);

    const result = await cairn.up({ to: '0001', confirm: async () => true });
    expect(result.applied.map((m) => m.version)).toEqual(['0001']);
    await cairn.up({ yes: true });
    expect(appliedIn(join(root, 'production.db'))).toEqual(['0001', '0002']);

    const asked: string[] = [];
    await cairn.down({ confirm: async (question) => (asked.push(question), true) });
    expect(asked[0]).toContain('Roll back 1 migration (0002_add_phone_to_users) on production');
    expect(appliedIn(join(root, 'production.db'))).toEqual(['0001']);
  });
});

describe('banner and redaction on PostgreSQL', () => {
  let unavailable: string | null = null;
  beforeAll(async () => {
    unavailable = await postgresUnavailable();
    if (unavailable && REQUIRE_PG) throw new Error(`PostgreSQL is required (CAIRN_REQUIRE_PG=1) but unreachable: ${unavailable}`);
  });

  it('gates production on qa across two PostgreSQL databases, and never prints the password', async (context) => {
    if (unavailable) return context.skip();
    const qa = await createPostgresDatabase();
    const production = await createPostgresDatabase();
    try {
      // Trust auth ignores the password: the URL connects, and the secret must never show.
      const withPassword = (url: string) => url.replace('postgres@', 'postgres:hunter2secret@');
      const root = project({ qa: withPassword(qa.url), production: withPassword(production.url) });
      const refused = runCli(['up', '--env', 'production', '--yes'], { cwd: root });
      expect(refused.status).toBe(3);
      expect(refused.stderr).toMatch(/Environment: production \(protected, follows qa\) · postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:5432\/cairn_test_/);
      expect(refused.stderr).toMatch(/0001_create_users\.sql: not applied on qa \(postgres:\/\/postgres:\*\*\*@/);
      expect(`${refused.stdout}${refused.stderr}`).not.toContain('hunter2secret');
      expect(await production.query("SELECT to_regclass('users') AS users")).toEqual([{ users: null }]);

      expect(runCli(['up', '--env', 'qa'], { cwd: root }).status).toBe(0);
      const applied = runCli(['up', '--env', 'production', '--yes', '--json'], { cwd: root });
      expect(applied.status).toBe(0);
      expect(applied.stdout).not.toContain('hunter2secret');
      const document = JSON.parse(applied.stdout) as { environment: string; database: string; filesExecuted: number };
      expect(document.environment).toBe('production');
      expect(document.database).toMatch(/^postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:5432\/cairn_test_/);
      expect(document.filesExecuted).toBe(2);
      expect(await production.query('SELECT version FROM cairn_migrations ORDER BY version')).toEqual([{ version: '0001' }, { version: '0002' }]);
    } finally {
      await qa.drop();
      await production.drop();
    }
  });
});

describe('health check', () => {
  let server: Server;
  let base = '';
  let status = 200;
  beforeAll(async () => {
    server = createServer((request, response) => {
      response.statusCode = request.url === '/health' ? status : 404;
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const unprotected = (healthCheck: unknown) => project({ protected: false, follows: null, healthCheck });

  it('after applying, reports status and latency; exit 0', async () => {
    status = 200;
    const root = unprotected(`${base}/health`);
    const run = await startCli(['--env', 'production', 'up'], root).exited;
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`health check ${base}/health: 200 OK in \\d+ ms`));
    // Nothing applied, nothing checked.
    const again = await startCli(['--env', 'production', 'up'], root).exited;
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('health check');
  });

  it('an unhealthy answer exits 5, names what was applied and the down command, and undoes nothing', async () => {
    status = 500;
    const root = unprotected({ url: `${base}/health`, timeout: 5 });
    expect((await startCli(['--env', 'production', 'up', '--to', '0001'], root).exited).code).toBe(5); // 0001 applied (and unhealthy)
    const run = await startCli(['--env', 'production', 'up'], root).exited;
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('error[HEALTH_CHECK]: the health check failed after applying 1 migration to production (0002_add_phone_to_users)');
    expect(run.stderr).toContain('500 Internal Server Error');
    expect(run.stderr).toContain('`cairn down --env production --to 0001`');
    expect(appliedIn(join(root, 'production.db'))).toEqual(['0001', '0002']);
    // --json: the error document carries what was applied and the health report.
    expect(runCli(['down', '--env', 'production', '--to', '0001'], { cwd: root }).status).toBe(0);
    const json = await startCli(['--env', 'production', 'up', '--json'], root).exited;
    const { error } = JSON.parse(json.stdout) as { error: { code: string; details: { applied: { version: string }[]; health: { status: number; ok: boolean } } } };
    expect(error.code).toBe('HEALTH_CHECK');
    expect(error.details.applied.map((m) => m.version)).toEqual(['0002']);
    expect(error.details.health).toMatchObject({ status: 500, ok: false });
    // Skipped on request.
    runCli(['down', '--env', 'production', '--to', '0001'], { cwd: root });
    expect((await startCli(['--env', 'production', 'up', '--skip-health-check'], root).exited).code).toBe(0);
  });

  it('a port nobody listens on exits 5 with "connection refused"', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const root = unprotected(`http://monitor:s3cretpw@127.0.0.1:${port}/health`);
    const run = runCli(['up', '--env', 'production'], { cwd: root });
    expect(run.status).toBe(5);
    expect(run.stderr).toContain(`health check http://monitor:***@127.0.0.1:${port}/health: connection refused`);
    expect(run.stderr).not.toContain('s3cretpw');
    expect(run.stderr).toContain('`cairn down --env production --to 0`');
    expect(appliedIn(join(root, 'production.db'))).toEqual(['0001', '0002']);
  });

  it('rejects a health check that is not an http(s) URL', () => {
    const root = unprotected({ url: 'ftp://example.com/health' });
    const run = runCli(['up', '--env', 'production'], { cwd: root });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('healthCheck needs an http(s) URL');
  });
});
