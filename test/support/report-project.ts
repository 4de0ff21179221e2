import { cpSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { runCli, tempDir } from './databases.js';

export const EXAMPLES = resolve(import.meta.dirname, '../../examples');

/** examples/ with qa (everything applied), production (up to 0005) and, when asked, an environment nobody can reach. */
export function examplesProject(extra: Record<string, unknown> = {}): string {
  const root = tempDir('cairn-report-');
  cpSync(join(EXAMPLES, 'migrations'), join(root, 'migrations'), { recursive: true });
  const environments = { qa: { database: 'sqlite:qa.db' }, production: { database: 'sqlite:production.db', follows: 'qa', protected: true }, ...extra };
  writeFileSync(join(root, 'cairn.config.json'), JSON.stringify({ environments }));
  expect(runCli(['up', '--env', 'qa'], { cwd: root }).status).toBe(0);
  expect(runCli(['up', '--env', 'production', '--to', '0005', '--yes'], { cwd: root }).status).toBe(0);
  return root;
}

