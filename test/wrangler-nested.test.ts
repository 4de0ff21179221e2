import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from './support/databases.js';

/**
 * wrangler's `migrations_pattern` (4.98+): nested layouts such as drizzle's
 * `migrations/0001_init/migration.sql`, recorded in d1_migrations by their path
 * relative to migrations_dir. The wrangler in devDependencies predates the
 * pattern, so "migrated by wrangler" is what its `d1 migrations apply` sends
 * for such a layout (the migration, then its row named by the relative path),
 * run through the real wrangler's `d1 execute --local` on the local D1.
 */
const WRANGLER = fileURLToPath(new URL('../node_modules/wrangler/bin/wrangler.js', import.meta.url));

const TOML = (pattern: string, dir: string | null = 'migrations') => `name = "shop"
compatibility_date = "2024-09-01"

[[d1_databases]]
binding = "DB"
database_name = "shop-dev"
database_id = "00000000-0000-4000-8000-00000000000a"
${dir === null ? '' : `migrations_dir = "${dir}"\n`}migrations_pattern = "${pattern}"
`;

const INIT = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n';
const POSTS = '-- migrate:up\nCREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);\n';
const POSTS_DOWN = 'DROP TABLE posts;\n';

function project(toml: string, files: Record<string, string>): string {
  const root = tempDir('cairn-nested-');
  writeFileSync(join(root, 'wrangler.toml'), toml);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  mkdirSync(join(root, '.home'), { recursive: true });
  return root;
}

const isolated = (root: string) => ({ HOME: join(root, '.home'), XDG_CONFIG_HOME: join(root, '.home'), WRANGLER_SEND_METRICS: 'false', CI: '1', CLOUDFLARE_API_TOKEN: '', CLOUDFLARE_ACCOUNT_ID: '' });

function wranglerSql(root: string, sql: string): string {
  writeFileSync(join(root, '.home', 'run.sql'), sql);
  const result = spawnSync(process.execPath, [WRANGLER, 'd1', 'execute', 'DB', '--local', '--json', `--file=${join(root, '.home', 'run.sql')}`], { cwd: root, env: { ...process.env, ...isolated(root) }, encoding: 'utf8', timeout: 120_000 });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

function wranglerNames(root: string): string[] {
  const out = JSON.parse(wranglerSql(root, 'SELECT name FROM d1_migrations ORDER BY id;')) as { results: { name: string }[] }[];
  return out[0]!.results.map((r) => r.name);
}

const cairn = (root: string, args: readonly string[]) => runCli(args, { cwd: root, env: isolated(root) });

describe('a nested migrations_pattern layout (migrations/<NNNN_name>/migration.sql)', () => {
  it('adopts what wrangler applied under its nested names, applies the rest under the same kind of name, and rolls back with a sibling down.sql', () => {
    const root = project(TOML('migrations/*/migration.sql'), {
      'migrations/0001_init/migration.sql': INIT,
      'migrations/0001_init/snapshot.json': '{}',
      'migrations/0002_add_posts/migration.sql': POSTS,
      'migrations/0002_add_posts/down.sql': POSTS_DOWN,
      // Not matched by the pattern: wrangler ignores it, and so does Cairn.
      'migrations/notes.sql': 'this is not SQL',
    });
    // What wrangler 4.98's `d1 migrations apply DB --local` sends for 0001.
    wranglerSql(root, `CREATE TABLE IF NOT EXISTS d1_migrations(
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);
${INIT}INSERT INTO "d1_migrations" (name) values ('0001_init/migration.sql');`);

    const status = cairn(root, ['status', '--json', '--d1', 'DB']);
    expect(status.status, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout) as { migrations: { version: string; name: string; state: string; method: string | null }[] };
    expect(report.migrations.map((m) => [m.version, m.name, m.state, m.method])).toEqual([
      ['0001', 'init', 'applied', 'adopted'],
      ['0002', 'add_posts', 'pending', null],
    ]);

    const up = cairn(root, ['up', '--d1', 'DB']);
    expect(up.status, up.stderr).toBe(0);
    expect(up.stdout).toContain('0002_add_posts … ok');
    expect(up.stderr).toContain('adopted 1 migration applied by wrangler (d1_migrations): 0001_init');
    // The name wrangler itself would have written: so `wrangler d1 migrations apply` finds nothing to do.
    expect(wranglerNames(root)).toEqual(['0001_init/migration.sql', '0002_add_posts/migration.sql']);

    const down = cairn(root, ['down', '--d1', 'DB']);
    expect(down.status, down.stderr).toBe(0);
    expect(wranglerNames(root)).toEqual(['0001_init/migration.sql']);
    const tables = JSON.parse(wranglerSql(root, "SELECT name FROM sqlite_master WHERE name = 'posts';")) as { results: unknown[] }[];
    expect(tables[0]!.results).toEqual([]);
  });

  it('reads a recursive pattern (migrations/**/*.sql) in wrangler\'s order, by each folder\'s number', () => {
    const root = project(TOML('migrations/**/*.sql'), {
      'migrations/0010_later/migration.sql': 'CREATE TABLE later (id INTEGER PRIMARY KEY);\n',
      'migrations/0002_first/migration.sql': 'CREATE TABLE first (id INTEGER PRIMARY KEY);\n',
      'migrations/0003_flat.sql': 'CREATE TABLE flat (id INTEGER PRIMARY KEY);\n',
    });
    const up = cairn(root, ['up', '--d1', 'DB']);
    expect(up.status, up.stderr).toBe(0);
    expect(up.stdout.indexOf('0002_first')).toBeLessThan(up.stdout.indexOf('0003_flat'));
    expect(up.stdout.indexOf('0003_flat')).toBeLessThan(up.stdout.indexOf('0010_later'));
    expect(wranglerNames(root)).toEqual(['0002_first/migration.sql', '0003_flat.sql', '0010_later/migration.sql']);
  });

  it('cairn new writes the next migration where the pattern finds it: NNNN_name/migration.sql', () => {
    const root = project(TOML('migrations/*/migration.sql'), { 'migrations/0001_init/migration.sql': INIT, 'cairn.config.json': '{ "d1": "DB" }' });
    const created = cairn(root, ['new', 'add_tags']);
    expect(created.status, created.stderr).toBe(0);
    expect(created.stdout).toContain(join('migrations', '0002_add_tags', 'migration.sql'));
    const status = JSON.parse(cairn(root, ['status', '--json']).stdout) as { migrations: { version: string; name: string }[] };
    expect(status.migrations.map((m) => `${m.version}_${m.name}`)).toEqual(['0001_init', '0002_add_tags']);
  });

  it('names a matched folder that has no number, and applies nothing', () => {
    const root = project(TOML('migrations/*/migration.sql'), {
      'migrations/0001_init/migration.sql': INIT,
      'migrations/init_users/migration.sql': INIT,
    });
    const up = cairn(root, ['up', '--d1', 'DB']);
    expect(up.status).not.toBe(0);
    expect(up.stderr).toContain('migrations/init_users/migration.sql: matches migrations_pattern "*/migration.sql" but does not start with a number');
    expect(up.stderr).toContain('0007_add_email/migration.sql');
  });

  it('refuses a pattern without migrations_dir, or outside it, as wrangler does, naming the line and the fix', () => {
    const alone = project(TOML('migrations/*/migration.sql', null), { 'migrations/0001_init/migration.sql': INIT });
    const first = cairn(alone, ['status', '--d1', 'DB']);
    expect(first.status).toBe(2);
    expect(first.stderr).toMatch(/wrangler\.toml:5: d1_databases\[0\] sets migrations_pattern "migrations\/\*\/migration\.sql" without migrations_dir/);
    expect(first.stderr).toContain('add migrations_dir = "migrations"');

    const outside = project(TOML('db/*/migration.sql'), { 'migrations/0001_init/migration.sql': INIT });
    const second = cairn(outside, ['status', '--d1', 'DB']);
    expect(second.status).toBe(2);
    expect(second.stderr).toContain('migrations_pattern "db/*/migration.sql" does not start with "migrations/" (its migrations_dir)');
    expect(second.stderr).toContain('"migrations/*/migration.sql"');
  });
});
