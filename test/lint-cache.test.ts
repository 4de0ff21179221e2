import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ResolvedLintConfig } from '../src/config/load.js';
import { lintProject } from '../src/lint/index.js';
import { readMigrations } from '../src/source/files.js';
import { runCli, tempDir, writeMigrations } from './support/databases.js';

/**
 * The lint cache (src/lint/cache.ts) only ever saves time: whatever it holds,
 * `cairn lint` reports what a run without it reports. Each test gets its own
 * cache directory through CAIRN_CACHE_DIR.
 */
const USERS = '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\nCREATE INDEX users_email ON users (email);\n';
const USERS_NO_INDEX = '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n';
const DROP_EMAIL = '-- migrate:up\nALTER TABLE users DROP COLUMN email;\n';
const DROP_TABLE = '-- migrate:up\nDROP TABLE users;\n';

/** A project and a cache directory of its own; `lint` runs `cairn lint --json` there. */
function project(files: Record<string, string>) {
  const root = tempDir();
  const cache = tempDir('cairn-cache-');
  writeMigrations(root, files);
  const lint = (...args: string[]) => {
    const result = runCli(['lint', '--json', ...args], { cwd: root, env: { CAIRN_CACHE_DIR: cache } });
    const report = JSON.parse(result.stdout) as { files: { version: string; findings: { rule: string }[] }[] };
    return { status: result.status, rules: report.files.flatMap((f) => f.findings.map((x) => `${f.version} ${x.rule}`)).filter((r) => !r.endsWith(' naming')) };
  };
  const cacheFiles = () => readdirSync(cache).filter((f) => f.startsWith('lint-') && f.endsWith('.json')).map((f) => join(cache, f));
  return { root, cache, lint, cacheFiles };
}

describe('lint cache', () => {
  it('is written by a lint and answers the next one with the same findings', () => {
    const p = project({ '0001_create_users.sql': USERS, '0002_drop_email.sql': DROP_EMAIL });
    const first = p.lint();
    expect(first.rules).toEqual(['0002 drop-column', '0002 sqlite-drop-column-blocked']);
    expect(p.cacheFiles()).toHaveLength(1);
    expect(p.lint()).toEqual(first);
  });

  it('re-lints a changed file, and the files after it (their schema changed)', () => {
    const p = project({ '0001_create_users.sql': USERS, '0002_drop_email.sql': DROP_EMAIL });
    expect(p.lint().rules).toContain('0002 sqlite-drop-column-blocked');
    // 0002 is unchanged, but without the index in 0001 SQLite can drop the column.
    writeFileSync(join(p.root, 'migrations', '0001_create_users.sql'), USERS_NO_INDEX);
    expect(p.lint().rules).toEqual(['0002 drop-column']);
    writeFileSync(join(p.root, 'migrations', '0002_drop_email.sql'), DROP_TABLE);
    expect(p.lint().rules).toEqual(['0002 drop-table']);
  });

  it('does not answer from results made under other rule settings', () => {
    const p = project({ '0001_create_users.sql': USERS_NO_INDEX, '0002_drop_users.sql': DROP_TABLE });
    expect(p.lint().rules).toEqual(['0002 drop-table']);
    writeFileSync(join(p.root, 'cairn.config.json'), JSON.stringify({ lint: { rules: { 'drop-table': 'off' } } }));
    expect(p.lint()).toEqual({ status: 0, rules: [] });
    writeFileSync(join(p.root, 'cairn.config.json'), JSON.stringify({ lint: { rules: { 'drop-table': 'warning' } } }));
    expect(p.lint()).toEqual({ status: 0, rules: ['0002 drop-table'] });
    // And a setting checked on a cold run is still checked on a warm one.
    writeFileSync(join(p.root, 'cairn.config.json'), JSON.stringify({ lint: { rules: { 'drop-tabel': 'off' } } }));
    const wrong = runCli(['lint'], { cwd: p.root, env: { CAIRN_CACHE_DIR: p.cache } });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('lint.rules names unknown rule "drop-tabel"');
  });

  it('ignores a cache file it cannot read, and writes a good one in its place', () => {
    const p = project({ '0001_create_users.sql': USERS, '0002_drop_email.sql': DROP_EMAIL });
    const expected = p.lint();
    const [file] = p.cacheFiles();
    for (const garbage of ['{"format":1,"fingerp', '', 'null', '[]', JSON.stringify({ format: 1, fingerprint: 'x', target: {}, entries: {} })]) {
      writeFileSync(file!, garbage);
      expect(p.lint()).toEqual(expected);
      expect(() => JSON.parse(readFileSync(file!, 'utf8'))).not.toThrow();
    }
  });

  it('is neither read nor written with --no-cache or CAIRN_NO_CACHE', () => {
    const p = project({ '0001_create_users.sql': USERS, '0002_drop_email.sql': DROP_EMAIL });
    expect(p.lint('--no-cache').rules).toHaveLength(2);
    expect(p.cacheFiles()).toEqual([]);
    expect(runCli(['lint'], { cwd: p.root, env: { CAIRN_CACHE_DIR: p.cache, CAIRN_NO_CACHE: '1' } }).status).toBe(1);
    expect(p.cacheFiles()).toEqual([]);
    expect(p.lint().rules).toHaveLength(2);
    expect(p.cacheFiles()).toHaveLength(1);
  });

  it('defaults to node_modules/.cache/cairn in a project that has node_modules', () => {
    const p = project({ '0001_create_users.sql': USERS_NO_INDEX });
    mkdirSync(join(p.root, 'node_modules'));
    expect(runCli(['lint'], { cwd: p.root, env: { CAIRN_CACHE_DIR: '' } }).status).toBe(0);
    expect(readdirSync(join(p.root, 'node_modules', '.cache', 'cairn')).filter((f) => f.startsWith('lint-') && f.endsWith('.json'))).toHaveLength(1);
    expect(p.cacheFiles()).toEqual([]);
  });
});

/**
 * A cache filled bit by bit (one file linted at a time, as `cairn up` lints what is pending,
 * the files before it replayed by their DDL) must give the report a full lint gives.
 */
const here = fileURLToPath(new URL('.', import.meta.url));
const folders = [
  ['corpus/postgres/migrations', 'postgres', false],
  ['corpus/sqlite/migrations', 'sqlite', false],
  ['corpus/d1/migrations', 'sqlite', true],
  ['../examples/migrations', 'postgres', false],
  ['../examples/migrations', 'sqlite', false],
] as const;

describe('lint cache filled one pending file at a time', () => {
  it.each(folders)('gives the report of a lint without it on %s (%s)', async (folder, dialect, d1) => {
    const dir = join(here, folder);
    const migrations = readMigrations(dir, join(dir, '..'));
    const config = (cache: ResolvedLintConfig['cache']): ResolvedLintConfig => ({ dialect, d1, postgresVersion: 15, sqliteVersion: '3.45.0', rules: {}, header: 'opt-in', cache });
    const without = await lintProject(migrations, config(null));
    const cached = config({ dir: tempDir('cairn-cache-'), project: dir });
    for (const m of migrations) await lintProject(migrations, cached, new Set([m.version]));
    // Every file is in the cache now, so the next report comes from it alone.
    const [file] = readdirSync(cached.cache!.dir).filter((f) => f.endsWith('.json')).map((f) => join(cached.cache!.dir, f));
    expect(Object.keys((JSON.parse(readFileSync(file!, 'utf8')) as { entries: object }).entries)).toHaveLength(migrations.length);
    expect(await lintProject(migrations, cached)).toEqual(without);
    expect(without.files.length).toBe(migrations.length);
  });

  // As a project grows: each new file is linted on the SQLite schema model the run before saved, not on a replay.
  it.each(folders)('gives the report of a lint without it when the history grows a file at a time on %s (%s)', async (folder, dialect, d1) => {
    const dir = join(here, folder);
    const migrations = readMigrations(dir, join(dir, '..'));
    const config = (cache: ResolvedLintConfig['cache']): ResolvedLintConfig => ({ dialect, d1, postgresVersion: 15, sqliteVersion: '3.45.0', rules: {}, header: 'opt-in', cache });
    const cached = config({ dir: tempDir('cairn-cache-'), project: dir });
    for (let n = 1; n <= migrations.length; n++) {
      const sofar = migrations.slice(0, n);
      expect(await lintProject(sofar, cached)).toEqual(await lintProject(sofar, config(null)));
    }
    expect(readdirSync(cached.cache!.dir).some((f) => f.endsWith('.model'))).toBe(dialect === 'sqlite');
  });
});
