import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI, runCli, tempDir, writeMigrations } from './support/databases.js';

/**
 * What a command loads is what a user waits for before it does anything: `--version`,
 * `status` and an `up` with nothing to do must not load the linter, its parsers or other
 * databases' drivers. (Speed itself is measured in bench/startup.mjs, not here.)
 */
const HEAVY = [/\/lint\/linter\.[jt]s$/, /\/lint\/registry\.[jt]s$/, /\/lint\/rules\//, /sql-parser-cst/, /libpg-query/, /node_modules\/pg\//, /miniflare/, /@electric-sql\/pglite/, /\/evolve\//, /\/fleet\//];

/**
 * The CLI is one bundle (scripts/build-cli.mjs) whose lazily imported parts are chunks beside
 * it: a loaded chunk stands for the source files its source map lists (src/lint/linter.ts,
 * node_modules/commander/…). Anything else loaded (an external package, node:…) stands for itself.
 */
function sourcesOf(url: string): string[] {
  if (!url.startsWith('file:')) return [url];
  const path = fileURLToPath(url);
  if (dirname(path) !== dirname(CLI) || !existsSync(`${path}.map`)) return [url];
  const map = JSON.parse(readFileSync(`${path}.map`, 'utf8')) as { sources: string[] };
  return map.sources.map((source) => resolve(dirname(path), source));
}

/** Runs the CLI with a loader hook that writes down every module it loads (ESM): returns those URLs. */
function modulesLoaded(args: readonly string[], cwd: string, env: Record<string, string> = {}): { status: number; stdout: string; modules: string[] } {
  const dir = tempDir('cairn-startup-');
  const list = join(dir, 'loaded.txt');
  writeFileSync(list, '');
  writeFileSync(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(list)}, url + '\\n'); return next(url, context); }\n`);
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(new URL(`file://${join(dir, 'hooks.mjs')}`).href)});\n`);
  const result = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), CLI, ...args], { cwd, env: { ...process.env, DATABASE_URL: '', CAIRN_ENV: '', ...env }, encoding: 'utf8' });
  const urls = readFileSync(list, 'utf8').split('\n').filter(Boolean);
  return { status: result.status ?? -1, stdout: result.stdout, modules: [...new Set(urls.flatMap(sourcesOf))] };
}

const heavy = (modules: readonly string[]) => modules.filter((url) => HEAVY.some((pattern) => pattern.test(url)));

const USERS = '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n-- migrate:down\nDROP TABLE users;\n';
const POSTS = '-- migrate:up\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\n-- migrate:down\nDROP TABLE posts;\n';

describe('start-up', () => {
  it('`cairn --version` loads nothing but its entry point', () => {
    const { status, stdout, modules } = modulesLoaded(['--version'], tempDir());
    expect(status).toBe(0);
    expect(stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const root = resolve(dirname(CLI), '..', '..');
    expect(modules.filter((m) => !m.startsWith('node:')).map((m) => relative(root, m)).sort()).toEqual(['src/cli/main.ts', 'src/cli/version.ts']);
  });

  it('the bundled CLI keeps packages that are heavy, native or optional out of the bundle', () => {
    const bundled = readdirSync(dirname(CLI))
      .filter((name) => name.endsWith('.js.map'))
      .flatMap((name) => (JSON.parse(readFileSync(join(dirname(CLI), name), 'utf8')) as { sources: string[] }).sources)
      .filter((source) => source.includes('node_modules/'));
    expect(bundled.filter((source) => /better-sqlite3|sql-parser-cst|libpg-query|node_modules\/pg|miniflare|pglite/.test(source))).toEqual([]);
    expect(bundled.some((source) => source.includes('node_modules/commander/'))).toBe(true);
  });

  it('an `up` with nothing pending loads neither the linter nor another database\'s driver', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_users.sql': USERS, '0002_posts.sql': POSTS });
    expect(runCli(['up'], { cwd: root }).status).toBe(0);
    const again = modulesLoaded(['up'], root);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('Nothing to apply');
    expect(heavy(again.modules)).toEqual([]);
  });

  it('`cairn status` after `up` answers from the lint cache: no linter, no parser', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_users.sql': USERS, '0002_posts.sql': POSTS });
    expect(runCli(['up'], { cwd: root }).status).toBe(0); // lints what it applies, and keeps the results
    const status = modulesLoaded(['status', '--json'], root);
    expect(status.status).toBe(0);
    expect((JSON.parse(status.stdout) as { migrations: { classification: { type: string } }[] }).migrations.map((m) => m.classification.type)).toEqual(['additive', 'additive']);
    expect(heavy(status.modules)).toEqual([]);
    // Without the cache the same answer takes the linter.
    const uncached = modulesLoaded(['status', '--json', '--no-cache'], root);
    expect(JSON.parse(uncached.stdout)).toEqual(JSON.parse(status.stdout));
    expect(heavy(uncached.modules)).toContainEqual(expect.stringMatching(/\/lint\/linter\.[jt]s$/));
  });

  it('`cairn --help | head -1` ends quietly when the reader goes away', async () => {
    const child = spawn(process.execPath, [CLI, '--help'], { cwd: tempDir(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk));
    // Like head -1 after its line: the pipe is closed while cairn still writes (here from the start, so every write fails).
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });
});
