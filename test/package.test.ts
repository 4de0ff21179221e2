import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodes } from '../src/errors.js';

/**
 * The package as a user installs it: `npm pack`, unpacked into a fresh project
 * whose node_modules holds what `npm install cairn-migrate` would bring (the
 * runtime dependencies and @types/node; not Cairn's dev-only packages, nor the
 * optional ones for D1 and PGlite).
 */

const repo = resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  name: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
let project: string;

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'cairn-consumer-'));
  const tarball = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', project], { cwd: repo, encoding: 'utf8' }).trim().split('\n').pop()!;
  const modules = join(project, 'node_modules');
  const installed = join(modules, pkg.name);
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(project, tarball), '-C', installed, '--strip-components=1']);
  // Everything Cairn's own node_modules holds but the type packages it needs only for its own build.
  for (const entry of readdirSync(join(repo, 'node_modules'))) {
    if (entry.startsWith('.') || entry === pkg.name || entry in pkg.peerDependencies) continue;
    if (entry === '@types') {
      // @types/node as any Node project has it, and the type packages Cairn depends on at run time.
      mkdirSync(join(modules, '@types'));
      for (const types of readdirSync(join(repo, 'node_modules/@types'))) {
        if (types === 'node' || `@types/${types}` in pkg.dependencies) symlinkSync(join(repo, 'node_modules/@types', types), join(modules, '@types', types));
      }
      continue;
    }
    if (entry.startsWith('@')) {
      // A scope: its packages one by one, leaving out the optional ones (D1's miniflare, PGlite).
      mkdirSync(join(modules, entry));
      for (const scoped of readdirSync(join(repo, 'node_modules', entry))) {
        if (!(`${entry}/${scoped}` in pkg.peerDependencies)) symlinkSync(join(repo, 'node_modules', entry, scoped), join(modules, entry, scoped));
      }
      continue;
    }
    symlinkSync(join(repo, 'node_modules', entry), join(modules, entry));
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
}, 120_000);

afterAll(() => rmSync(project, { recursive: true, force: true }));

describe('the published package', () => {
  it('is named cairn-migrate and installs the cairn command', () => {
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules', pkg.name, 'package.json'), 'utf8')) as { name: string; bin: Record<string, string> };
    expect(manifest.name).toBe('cairn-migrate');
    expect(Object.keys(manifest.bin)).toEqual(['cairn']);
  });

  it('type-checks in a strict TypeScript project without skipLibCheck', () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, skipLibCheck: false, types: ['node'] }, include: ['*.ts'] }),
    );
    writeFileSync(
      join(project, 'cairn.config.ts'),
      `import { defineConfig } from 'cairn-migrate';\nexport default defineConfig({ database: 'sqlite:app.db', migrations: 'migrations' });\n`,
    );
    writeFileSync(
      join(project, 'app.ts'),
      [
        `import { createCairn, CairnError, isCairnError, type Cairn, type StatusReport } from 'cairn-migrate';`,
        `import { createTestDatabase, type TestDatabase } from 'cairn-migrate/testing';`,
        `const test: TestDatabase = await createTestDatabase({ url: ':memory:', open: true });`,
        `console.log(test.url, test.template.built, test.db?.prepare('SELECT 1 AS one').get());`,
        `await test.close();`,
        `const cairn: Cairn = createCairn({ url: 'sqlite:app.db', onEvent: (event) => console.log(event.type) });`,
        `try {`,
        `  const status: StatusReport = await cairn.status();`,
        `  console.log(status.migrations.length);`,
        `  const result = await cairn.up({ dryRun: true });`,
        `  console.log(result);`,
        `} catch (error: unknown) {`,
        `  if (isCairnError(error)) console.log(error.code, error.hint);`,
        `  if (error instanceof CairnError) console.log(error.details);`,
        `}`,
        '',
      ].join('\n'),
    );
    let output = '';
    try {
      execFileSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: project, encoding: 'utf8' });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe('');
  });

  it('runs on SQLite without the optional packages, and names the package to install for D1 or PGlite', () => {
    const cli = join(project, 'node_modules', pkg.name, pkg.bin.cairn!);
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: project, encoding: 'utf8', env: { ...process.env, DATABASE_URL: '', CAIRN_ENV: '' } });
    mkdirSync(join(project, 'migrations'), { recursive: true });
    writeFileSync(join(project, 'migrations/0001_create_notes.sql'), 'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n');

    const sqlite = run('--url', 'sqlite:app.db', 'up');
    expect(sqlite.status).toBe(0);
    expect(sqlite.stdout).toContain('0001_create_notes');

    const d1 = run('--url', 'd1://local/app-db', 'status');
    expect(d1.status).toBe(exitCodes.CONFIG);
    expect(d1.stderr).toContain('a local D1 database needs the package miniflare, which is not installed');
    expect(d1.stderr).toContain('npm install -D miniflare');

    const pglite = run('--url', 'pglite:pgdata', 'up');
    expect(pglite.status).toBe(exitCodes.CONFIG);
    expect(pglite.stderr).toContain('embedded PostgreSQL (PGlite) needs the package @electric-sql/pglite');
  });
});
