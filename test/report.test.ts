import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLES, examplesProject } from './support/report-project.js';
import { createPostgresDatabase, postgresUnavailable, REQUIRE_PG, runCli, tempDir, writeMigrations, type TestDatabase } from './support/databases.js';

/**
 * `cairn report` as a user reads the page: every environment side by side with
 * what ran there and what is pending, an unreachable one said as such, lint
 * findings linked to their rule, the recorded verify, the schema diagram; and
 * nothing in the file that would reach the network.
 */

/** The cell of `version` in `env`'s column: its class and text. */
function cell(html: string, version: string, env: string): { state: string; text: string } {
  const row = new RegExp(`<tr class="migration[^"]*" data-version="${version}">([\\s\\S]*?)</tr>`).exec(html)?.[1] ?? '';
  const match = new RegExp(`<td class="run state-([\\w-]+)" data-env="${env}"[^>]*>([\\s\\S]*?)</td>`).exec(row);
  return { state: match?.[1] ?? 'absent', text: (match?.[2] ?? '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim() };
}

describe('cairn report', () => {
  it('shows each environment side by side: applied with when and by whom, pending marked, and the gaps counted', () => {
    const root = examplesProject({ staging: { database: 'postgres://postgres@127.0.0.1:1/nowhere' } });
    const result = runCli(['report'], { cwd: root });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Wrote cairn-report.html (8 migrations, 3 environments)');
    // Unreachable: a warning and a column saying why, never a failed report.
    expect(result.stderr).toMatch(/warning: staging could not be read: .*127\.0\.0\.1:1/);
    const html = readFileSync(join(root, 'cairn-report.html'), 'utf8');

    expect([...html.matchAll(/<th class="env[^"]*" data-env="(\w+)"/g)].map((m) => m[1])).toEqual(['qa', 'production', 'staging']);
    expect(html).toMatch(/data-env="production"[^>]*><span class="env-name">production<\/span><span class="target">sqlite:production.db<\/span> <span class="tag">protected<\/span> <span class="tag">follows qa<\/span>/);
    expect(cell(html, '0005', 'production')).toMatchObject({ state: 'applied', text: expect.stringMatching(/^applied \d{4}-\d\d-\d\d \d\d:\d\d \S+@\S+ · \d+ ms$/) });
    expect(cell(html, '0006', 'qa').state).toBe('applied');
    for (const version of ['0006', '0007', '0008']) {
      expect(cell(html, version, 'production')).toEqual({ state: 'pending', text: 'pending' });
      expect(html).toMatch(new RegExp(`<tr class="migration gap[^"]*" data-version="${version}">`));
    }
    expect(html).toMatch(/<tr class="migration" data-version="0005">/);
    expect(html).toContain('id="summary-gaps">3 migrations not everywhere<');
    expect(html).toMatch(/<th class="env env-unreachable" data-env="staging"[\s\S]*?unreachable: cannot connect to postgres:\/\/postgres@127\.0\.0\.1:1\/nowhere/);
    expect(cell(html, '0001', 'staging').state).toBe('unknown');

    // Each migration's classification, risk and down.
    expect(html).toMatch(/data-version="0007">\s*<th scope="row"><span class="version">0007<\/span> backfill_post_comment_counts<\/th>\s*<td class="kind"><span class="type type-transformative">transformative<\/span> <span class="risk risk-medium">medium risk<\/span><\/td>\s*<td class="down">yes<\/td>/);
    // The schema diagram, inline.
    expect(html).toContain('<h2>Schema as of 0008_create_published_posts_view</h2>');
    expect([...html.matchAll(/<g class="box table" data-name="(\w+)"/g)].map((m) => m[1]).sort()).toEqual(['comments', 'memberships', 'post_tags', 'posts', 'tags', 'teams', 'users']);
    expect(html).toContain('<g class="box view" data-name="published_posts"');
  });

  it('is one file that reaches nothing: no external script, style, image or font; a CSP that forbids it', () => {
    const root = examplesProject();
    expect(runCli(['report', '--out', 'out/page.html'], { cwd: root }).status).toBe(0);
    const html = readFileSync(join(root, 'out/page.html'), 'utf8');
    expect(html).not.toMatch(/<(script|img|iframe|link)[^>]+(src|href)=/i);
    expect(html).not.toMatch(/@import|url\(\s*['"]?https?:/i);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"`);
  });

  it('shows the last `verify --record`, per migration and in the summary', () => {
    const root = examplesProject();
    const before = readFileSync(join(root, (runCli(['report'], { cwd: root }), 'cairn-report.html')), 'utf8');
    expect(before).toContain('verify: not recorded (<code>cairn verify --record</code>)');
    expect(runCli(['verify', '--record', '--env', 'qa'], { cwd: root }).status).toBe(0);
    const recorded = JSON.parse(readFileSync(join(root, '.cairn/verify.json'), 'utf8')) as { ok: boolean; migrations: unknown[] };
    expect(recorded).toMatchObject({ ok: true });
    expect(recorded.migrations).toHaveLength(8);
    runCli(['report'], { cwd: root });
    const html = readFileSync(join(root, 'cairn-report.html'), 'utf8');
    expect(html).toMatch(/id="summary-verify">verify passed \d{4}-\d\d-\d\d \d\d:\d\d by \S+: 8\/8 ok</);
    expect(html).toMatch(/data-version="0003">[\s\S]*?<td class="verify ok"[^>]*>✓ verified<\/td>/);
  });

  it('lists lint findings with their rule linked to docs/rules, the line and the fix; a file without a down says so', () => {
    const root = examplesProject();
    writeMigrations(root, { '0009_drop_tags.sql': '-- Migration: drop tags\n-- Type: destructive\n-- Rollback: none, the rows are gone\nDROP TABLE post_tags;\n' });
    const result = runCli(['report', '--json'], { cwd: root });
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as { file: string; lint: { errors: number }; migrations: { version: string; hasDown: boolean; findings: { rule: string }[] }[]; schema: { tables: number; svg?: string } };
    expect(report.file).toBe('cairn-report.html');
    expect(report.migrations.find((m) => m.version === '0009')).toMatchObject({ hasDown: false, findings: [expect.objectContaining({ rule: 'drop-table' })] });
    expect(report.schema).toMatchObject({ tables: 6 });
    expect(report.schema.svg).toBeUndefined();
    const html = readFileSync(join(root, 'cairn-report.html'), 'utf8');
    expect(html).toMatch(/<article id="findings-0009" data-version="0009"><h3>0009 drop_tags <span class="type type-destructive">destructive<\/span> <span class="risk risk-high">high risk<\/span><\/h3>/);
    expect(html).toMatch(/<span class="severity">error<\/span> <a class="rule" href="docs\/rules\/drop-table\.md" title="[^"]+">drop-table<\/a> <span class="where">migrations\/0009_drop_tags\.sql:4:\d+<\/span>/);
    expect(html).toMatch(/data-version="0009">[\s\S]*?<td class="down"><span class="no-down">no<\/span><\/td>\s*<td class="findings-count"><a href="#findings-0009">1<\/a><\/td>/);
    expect(cell(html, '0009', 'qa').state).toBe('pending');
  });

  it('a migration that failed on one environment is a red cell with the database error, and a gap', () => {
    const root = examplesProject();
    writeMigrations(root, { '0009_bad.sql': '-- Migration: bad\n-- cairn:no-transaction\nCREATE TABLE half (id INTEGER PRIMARY KEY);\nINSERT INTO nowhere VALUES (1);\n' });
    expect(runCli(['up', '--env', 'qa'], { cwd: root }).status).not.toBe(0);
    expect(runCli(['report', '--no-schema'], { cwd: root }).status).toBe(0);
    const html = readFileSync(join(root, 'cairn-report.html'), 'utf8');
    expect(cell(html, '0009', 'qa')).toMatchObject({ state: 'failed', text: expect.stringMatching(/^failed .* no such table: nowhere$/) });
    expect(cell(html, '0009', 'production').state).toBe('pending');
    expect(html).toMatch(/<tr class="migration gap[^"]*" data-version="0009">/);
  });

  it('a migration whose file is gone still has its row, named from the history, marked missing', () => {
    const root = examplesProject();
    rmSync(join(root, 'migrations/0008_create_published_posts_view.sql'));
    expect(runCli(['report', '--no-schema'], { cwd: root }).status).toBe(0);
    const html = readFileSync(join(root, 'cairn-report.html'), 'utf8');
    expect(html).toMatch(/data-version="0008">\s*<th scope="row"><span class="version">0008<\/span> create_published_posts_view \(file missing\)<\/th>/);
    expect(cell(html, '0008', 'qa').state).toBe('missing');
    expect(cell(html, '0008', 'production')).toEqual({ state: 'none', text: '—' }); // never ran there, and there is no file to run
  });

  it('with no environments configured: one column, the configured database', () => {
    const root = tempDir('cairn-report-');
    cpSync(join(EXAMPLES, 'migrations'), join(root, 'migrations'), { recursive: true });
    expect(runCli(['--url', 'sqlite:app.db', 'up', '--to', '0002'], { cwd: root }).status).toBe(0);
    const result = runCli(['--url', 'sqlite:app.db', 'report', '--no-schema'], { cwd: root });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('Wrote cairn-report.html (8 migrations, 1 environment)');
    const html = readFileSync(join(root, 'cairn-report.html'), 'utf8');
    expect([...html.matchAll(/<th class="env[^"]*" data-env="(\w+)"/g)].map((m) => m[1])).toEqual(['default']);
    expect(html).toContain('<span class="target">sqlite:app.db</span>');
    expect(cell(html, '0002', 'default').state).toBe('applied');
    expect(cell(html, '0003', 'default').state).toBe('pending');
    expect(html).toContain('The diagram could not be drawn: left out (--no-schema)');
  });
});

describe('cairn report with a PostgreSQL environment', () => {
  let database: TestDatabase | null = null;
  let skip: string | null = null;
  beforeAll(async () => {
    skip = await postgresUnavailable();
    if (skip && REQUIRE_PG) throw new Error(`PostgreSQL is required (CAIRN_REQUIRE_PG=1) but unreachable: ${skip}`);
    if (!skip) database = await createPostgresDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('reads the PostgreSQL history beside the SQLite one, and never prints its password', (context) => {
    if (skip || !database) return context.skip();
    const root = tempDir('cairn-report-pg-');
    writeMigrations(root, {
      '0001_users.sql': 'CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);',
      '0002_orders.sql': 'CREATE TABLE orders (id integer PRIMARY KEY, user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE);',
    });
    const withPassword = database.url.replace('postgres@', 'postgres:s3cret-pw@');
    writeFileSync(join(root, 'cairn.config.json'), JSON.stringify({ lint: { dialect: 'postgres' }, environments: { dev: { database: 'pglite:./dev-pg' }, production: { database: withPassword } } }));
    expect(runCli(['up', '--env', 'production', '--to', '0001'], { cwd: root }).status).toBe(0);
    expect(runCli(['up', '--env', 'dev'], { cwd: root }).status).toBe(0);
    const result = runCli(['report'], { cwd: root });
    expect(result.stderr).toBe('');
    const html = readFileSync(join(root, 'cairn-report.html'), 'utf8');
    expect(html).not.toContain('s3cret-pw');
    expect(cell(html, '0001', 'production').state).toBe('applied');
    expect(cell(html, '0002', 'production').state).toBe('pending');
    expect(cell(html, '0002', 'dev').state).toBe('applied');
    expect(html).toMatch(/<g class="edge fk cascade" data-from="orders" data-to="users" data-on-delete="cascade">/);
  });
});
