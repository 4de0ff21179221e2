import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createCairn } from '../src/cairn.js';
import { createWranglerTableSql } from '../src/wrangler/table.js';
import { runCli, tempDir, writeMigrations } from './support/databases.js';
import { describeEachDatabase } from './support/each-database.js';

/**
 * Cairn and wrangler on one database: Cairn adopts what `wrangler d1
 * migrations apply` did, and keeps wrangler's d1_migrations in step, so
 * `wrangler d1 migrations list` agrees with `cairn status` either way round.
 * Wrangler is the real one from npm (a dev dependency), run offline on the
 * local database (--local) in a temp project with its own HOME.
 */
const WRANGLER = fileURLToPath(new URL('../node_modules/wrangler/bin/wrangler.js', import.meta.url));

const USERS = '-- Migration number: 0001 \t 2024-01-01T00:00:00.000Z\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n';
const POSTS = '-- Migration number: 0002 \t 2024-01-02T00:00:00.000Z\nCREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);\n';
const TAGS = '-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n-- migrate:down\nDROP TABLE tags;\n';

const WRANGLER_TOML = `name = "shop"
compatibility_date = "2024-09-01"

[[d1_databases]]
binding = "DB"
database_name = "shop-dev"
database_id = "00000000-0000-4000-8000-00000000000a"

[env.qa]

[[env.qa.d1_databases]]
binding = "DB"
database_name = "shop-qa"
database_id = "00000000-0000-4000-8000-00000000000b"
`;

interface Status {
  databaseSource: string;
  wranglerTable: string | null;
  migrations: { version: string; name: string; state: string; method: string | null; appliedBy: string | null; appliedAt: string | null }[];
}

/** A Worker project: wrangler.toml, migrations/, and a HOME of its own so wrangler writes nothing outside it. */
function workerProject(files: Record<string, string>): string {
  const root = tempDir('cairn-worker-');
  writeFileSync(join(root, 'wrangler.toml'), WRANGLER_TOML);
  writeMigrations(root, files);
  mkdirSync(join(root, '.home'));
  return root;
}

function isolated(root: string): Record<string, string> {
  return { HOME: join(root, '.home'), XDG_CONFIG_HOME: join(root, '.home'), WRANGLER_SEND_METRICS: 'false', CI: '1', CLOUDFLARE_API_TOKEN: '', CLOUDFLARE_ACCOUNT_ID: '' };
}

function wrangler(root: string, args: readonly string[]): { status: number; output: string } {
  const result = spawnSync(process.execPath, [WRANGLER, ...args], { cwd: root, env: { ...process.env, ...isolated(root) }, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status ?? -1, output: `${result.stdout}\n${result.stderr}` };
}

function cairn(root: string, args: readonly string[]) {
  return runCli(args, { cwd: root, env: isolated(root) });
}

function status(root: string, args: readonly string[]): Status {
  const result = cairn(root, ['status', '--json', ...args]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout) as Status;
}

/** What `wrangler d1 migrations list` says is still to apply. */
function wranglerPending(root: string, args: readonly string[] = []): string[] {
  const listed = wrangler(root, ['d1', 'migrations', 'list', 'DB', '--local', ...args]);
  expect(listed.status, listed.output).toBe(0);
  if (listed.output.includes('No migrations to apply')) return [];
  return [...listed.output.matchAll(/│ (\d{4}_\w+\.sql)\s*│/g)].map((m) => m[1]!);
}

describe('adopting a database that has a d1_migrations table (plain SQLite file)', () => {
  function migratedByWrangler(extraRow?: string): { root: string; db: string } {
    const root = tempDir();
    writeMigrations(root, { '0001_create_users.sql': USERS, '0002_create_posts.sql': POSTS, '0003_create_tags.sql': TAGS });
    const db = join(root, 'app.db');
    const sqlite = new Database(db);
    sqlite.exec(createWranglerTableSql('d1_migrations'));
    sqlite.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL); CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);');
    const insert = sqlite.prepare('INSERT INTO d1_migrations (name, applied_at) VALUES (?, ?)');
    insert.run('0001_create_users.sql', '2024-01-01 10:00:00');
    insert.run('0002_create_posts.sql', '2024-01-02 11:30:00');
    if (extraRow) insert.run(extraRow, '2024-01-03 09:00:00');
    sqlite.close();
    return { root, db };
  }

  const rows = (db: string, sql: string) => {
    const sqlite = new Database(db, { readonly: true });
    try {
      return sqlite.prepare(sql).all();
    } finally {
      sqlite.close();
    }
  };

  it('shows what wrangler applied, applies only the rest, and imports the history once', () => {
    const { root, db } = migratedByWrangler();
    const url = ['--url', 'sqlite:app.db'];

    const before = status(root, url);
    expect(before.wranglerTable).toBe('d1_migrations');
    expect(before.migrations.map((m) => [m.version, m.state, m.method, m.appliedBy, m.appliedAt])).toEqual([
      ['0001', 'applied', 'adopted', 'wrangler', '2024-01-01T10:00:00.000Z'],
      ['0002', 'applied', 'adopted', 'wrangler', '2024-01-02T11:30:00.000Z'],
      ['0003', 'pending', null, null, null],
    ]);
    expect(cairn(root, ['status', ...url]).stdout).toMatch(/0001 +create_users +applied .* applied by wrangler/);

    const up = cairn(root, ['up', ...url]);
    expect(up.status).toBe(0);
    expect(up.stdout).toContain('0003_create_tags … ok');
    expect(up.stdout).not.toContain('0001_create_users');
    expect(up.stderr).toContain('notice: adopted 2 migrations applied by wrangler (d1_migrations): 0001_create_users, 0002_create_posts');
    expect(rows(db, 'SELECT version, method, applied_by, applied_at FROM cairn_migrations ORDER BY version')).toEqual([
      { version: '0001', method: 'adopted', applied_by: 'wrangler', applied_at: '2024-01-01T10:00:00.000Z' },
      { version: '0002', method: 'adopted', applied_by: 'wrangler', applied_at: '2024-01-02T11:30:00.000Z' },
      expect.objectContaining({ version: '0003', method: 'run' }),
    ]);
    // Kept in step: wrangler would not run 0003 again.
    expect(rows(db, 'SELECT name FROM d1_migrations ORDER BY id')).toEqual([{ name: '0001_create_users.sql' }, { name: '0002_create_posts.sql' }, { name: '0003_create_tags.sql' }]);

    const again = cairn(root, ['up', ...url]);
    expect(again.stdout).toContain('Nothing to apply');
    expect(again.stderr).not.toContain('adopted');
    expect(rows(db, 'SELECT count(*) AS n FROM cairn_migrations')).toEqual([{ n: 3 }]);

    // down removes wrangler's row too, so the migration is not adopted back as applied.
    expect(cairn(root, ['down', ...url]).status).toBe(0);
    expect(rows(db, 'SELECT name FROM d1_migrations ORDER BY id')).toEqual([{ name: '0001_create_users.sql' }, { name: '0002_create_posts.sql' }]);
    expect(status(root, url).migrations.map((m) => m.state)).toEqual(['applied', 'applied', 'pending']);
  });

  it('reports a name in wrangler\'s table with no file as missing, and `repair` forgets it in both tables', () => {
    const { root, db } = migratedByWrangler('0004_drop_legacy.sql');
    const url = ['--url', 'sqlite:app.db'];
    expect(status(root, url).migrations.at(-1)).toMatchObject({ version: '0004', name: 'drop_legacy', state: 'missing', method: 'adopted' });
    const up = cairn(root, ['up', ...url]);
    expect(up.status).toBe(3);
    expect(up.stderr).toContain('applied migration has no file any more:\n  0004_drop_legacy');
    expect(cairn(root, ['repair', ...url]).status).toBe(0);
    expect(rows(db, "SELECT name FROM d1_migrations WHERE name LIKE '0004%'")).toEqual([]);
    expect(cairn(root, ['up', ...url]).status).toBe(0);
  });

  it('leaves wrangler\'s table out of dump, verify and drift, as it does its own history', () => {
    const { root } = migratedByWrangler();
    const url = ['--url', 'sqlite:app.db'];
    expect(cairn(root, ['up', ...url]).status).toBe(0);
    const dump = cairn(root, ['dump', ...url]);
    expect(dump.status, dump.stderr).toBe(0);
    expect(readFileSync(join(root, 'schema.sql'), 'utf8')).not.toContain('d1_migrations');
    const verify = cairn(root, ['verify', ...url]);
    expect(verify.status, verify.stdout).toBe(0);
    expect(verify.stdout).toMatch(/✓ schema\.sql matches/);
    const drift = cairn(root, ['drift', ...url]);
    expect(drift.status, drift.stdout).toBe(0);
  });

  it('baseline writes wrangler\'s rows too, so wrangler would not run what the database already has', () => {
    const { root, db } = migratedByWrangler();
    expect(cairn(root, ['baseline', '--to', '0003', '--url', 'sqlite:app.db']).status).toBe(0);
    expect(rows(db, 'SELECT name FROM d1_migrations ORDER BY id').map((r) => (r as { name: string }).name)).toEqual(['0001_create_users.sql', '0002_create_posts.sql', '0003_create_tags.sql']);
  });
});

describe('a database Cairn migrated before wrangler\'s table was there', () => {
  it('gets a d1_migrations row for each applied migration once the table exists, so wrangler would not run them again', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_create_users.sql': USERS, '0002_create_posts.sql': POSTS, '0003_create_tags.sql': TAGS });
    const url = ['--url', 'sqlite:app.db'];
    expect(cairn(root, ['up', '--to', '0002', ...url]).status).toBe(0);
    const db = join(root, 'app.db');
    const sqlite = new Database(db);
    sqlite.exec(createWranglerTableSql('d1_migrations'));
    sqlite.close();

    const up = cairn(root, ['up', ...url]);
    expect(up.status).toBe(0);
    expect(up.stderr).toContain('notice: recorded 2 migrations applied by Cairn in d1_migrations, so wrangler will not run them again');
    const names = new Database(db, { readonly: true });
    try {
      expect(names.prepare('SELECT name FROM d1_migrations ORDER BY id').all()).toEqual([{ name: '0001_create_users.sql' }, { name: '0002_create_posts.sql' }, { name: '0003_create_tags.sql' }]);
    } finally {
      names.close();
    }
    expect(cairn(root, ['up', ...url]).stderr).not.toContain('recorded');
  });
});

describeEachDatabase('wrangler\'s table in the same atomic unit as each step', (current, kind) => {
  it('a failing step leaves no row in either table; a no-transaction step writes its row when it completes', async () => {
    const db = current();
    const root = tempDir();
    const serial = kind === 'postgres' ? 'SERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
    await db.query(`CREATE TABLE d1_migrations (id ${serial}, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)`);
    await db.query('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)');
    await db.query("INSERT INTO d1_migrations (name) VALUES ('0001_create_users.sql')");
    writeMigrations(root, { '0001_create_users.sql': USERS, '0002_create_posts.sql': 'CREATE TABLE posts (id INTEGER PRIMARY KEY);\nINSERT INTO postz (id) VALUES (1);\n' });
    const cairn = createCairn({ url: db.url, cwd: root, envVars: {} });
    const names = async () => (await db.query<{ name: string }>('SELECT name FROM d1_migrations ORDER BY id')).map((r) => r.name);

    const failed = await cairn.up();
    expect(failed.success).toBe(false);
    expect(failed.errors[0]).toMatchObject({ version: '0002', rolledBack: true });
    expect(await names()).toEqual(['0001_create_users.sql']);
    expect((await cairn.status()).migrations.map((m) => [m.version, m.state, m.method])).toEqual([
      ['0001', 'applied', 'adopted'],
      ['0002', 'pending', null],
    ]);

    writeMigrations(root, { '0002_create_posts.sql': '-- cairn:no-transaction\nCREATE TABLE posts (id INTEGER PRIMARY KEY);\n' });
    expect((await cairn.up()).success).toBe(true);
    expect(await names()).toEqual(['0001_create_users.sql', '0002_create_posts.sql']);
    expect((await cairn.status()).migrations.map((m) => [m.version, m.state, m.method])).toEqual([
      ['0001', 'applied', 'adopted'],
      ['0002', 'applied', 'run'],
    ]);
  });
});

describe('cairn and wrangler on one local D1 database', () => {
  it('adopts a database migrated by `wrangler d1 migrations apply --local`, then applies only a new file', () => {
    const root = workerProject({ '0001_create_users.sql': USERS, '0002_create_posts.sql': POSTS });
    const applied = wrangler(root, ['d1', 'migrations', 'apply', 'DB', '--local']);
    expect(applied.status, applied.output).toBe(0);

    const report = status(root, ['--d1', 'DB']);
    expect(report.databaseSource).toBe('wrangler');
    expect(report.migrations.map((m) => [m.version, m.state, m.method])).toEqual([
      ['0001', 'applied', 'adopted'],
      ['0002', 'applied', 'adopted'],
    ]);
    expect(cairn(root, ['status', '--d1', 'DB']).stdout).toContain('from wrangler.toml binding DB (local)');

    writeMigrations(root, { '0003_create_tags.sql': TAGS });
    const up = cairn(root, ['up', '--d1', 'DB']);
    expect(up.status, up.stderr).toBe(0);
    expect(up.stdout).toContain('0003_create_tags … ok');
    expect(up.stdout).not.toMatch(/0001_create_users … |0002_create_posts … /);
    expect(up.stderr).toContain('adopted 2 migrations applied by wrangler');
    expect(wranglerPending(root)).toEqual([]);
  });

  it('keeps wrangler in step: after `cairn up` wrangler has nothing to apply; after `cairn down` it lists that one again', () => {
    const root = workerProject({ '0001_create_users.sql': USERS, '0002_create_tags.sql': TAGS });
    expect(wranglerPending(root)).toEqual(['0001_create_users.sql', '0002_create_tags.sql']);

    const up = cairn(root, ['up', '--d1', 'DB']);
    expect(up.status, up.stderr).toBe(0);
    expect(up.stdout).toContain('Applied 2 migrations');
    expect(wranglerPending(root)).toEqual([]);

    const down = cairn(root, ['down', '--d1', 'DB']);
    expect(down.status, down.stderr).toBe(0);
    expect(down.stdout).toContain('0002_create_tags');
    expect(wranglerPending(root)).toEqual(['0002_create_tags.sql']);
    expect(status(root, ['--d1', 'DB']).migrations.map((m) => m.state)).toEqual(['applied', 'pending']);
  });

  it("--env qa uses [env.qa]'s binding: a database of its own", () => {
    const root = workerProject({ '0001_create_users.sql': USERS });
    const up = cairn(root, ['up', '--d1', 'DB', '--env', 'qa']);
    expect(up.status, up.stderr).toBe(0);
    expect(up.stdout).toContain('00000000-0000-4000-8000-00000000000b');
    expect(wranglerPending(root, ['--env', 'qa'])).toEqual([]);
    // The top-level database was not touched.
    expect(wranglerPending(root)).toEqual(['0001_create_users.sql']);
    expect(status(root, ['--d1', 'DB']).migrations.map((m) => m.state)).toEqual(['pending']);
  });
});
