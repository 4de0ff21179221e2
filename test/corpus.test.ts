import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lintMigrations } from '../src/lint/linter.js';
import { readMigrations } from '../src/source/files.js';
import type { LintTarget } from '../src/lint/types.js';

/**
 * Whole folders of migrations through every rule: the project's examples
 * (which must lint clean), and known-bad folders whose findings must match
 * their expected.txt line for line (`file:line severity rule`). When a rule
 * changes on purpose, review the diff and update expected.txt by hand.
 */
const here = fileURLToPath(new URL('.', import.meta.url));
const target = (dialect: LintTarget['dialect'], d1 = false): LintTarget => ({ dialect, d1, postgresVersion: 15, sqliteVersion: '3.45.0' });

async function findings(dir: string, lintTarget: LintTarget): Promise<string[]> {
  const root = join(dir, '..');
  const report = await lintMigrations(readMigrations(dir, root), { target: lintTarget });
  return report.files.flatMap((file) => file.findings.map((f) => `${f.file}:${f.line} ${f.severity} ${f.rule}`));
}

function expected(folder: string): string[] {
  return readFileSync(join(here, 'corpus', folder, 'expected.txt'), 'utf8').split('\n').filter((line) => line.trim() && !line.startsWith('#'));
}

describe('lint corpus', () => {
  for (const [folder, lintTarget] of [
    ['postgres', target('postgres')],
    ['sqlite', target('sqlite')],
    ['d1', target('sqlite', true)],
  ] as const) {
    it(`finds exactly the expected problems in corpus/${folder}`, async () => {
      expect(readdirSync(join(here, 'corpus', folder, 'migrations')).length).toBeGreaterThan(3);
      expect(await findings(join(here, 'corpus', folder, 'migrations'), lintTarget)).toEqual(expected(folder));
    });
  }

  // The examples run unchanged on both engines, so they cannot SET lock_timeout (PostgreSQL only):
  // Cairn sets it itself (statementLockTimeout), so they lint clean; with that off, only that rule's warnings.
  it.each(['postgres', 'sqlite'] as const)('finds nothing wrong in examples/ on %s', async (dialect) => {
    const examples = join(here, '..', 'examples', 'migrations');
    expect(await findings(examples, { ...target(dialect), cairnLockTimeout: true })).toEqual([]);
    const found = await findings(examples, target(dialect));
    expect(found.filter((f) => !f.endsWith(' warning require-lock-timeout'))).toEqual([]);
    if (dialect === 'postgres') expect(found.length).toBeGreaterThan(0);
  });
});
