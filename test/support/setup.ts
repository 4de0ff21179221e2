import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { removeTempDirs } from './databases.js';

// The lint cache of every test file (and of the cairn processes it starts) goes to a temp
// directory of its own, removed afterwards: never into the user's home or the repo's node_modules.
const lintCache = mkdtempSync(join(tmpdir(), 'cairn-test-cache-'));
process.env.CAIRN_CACHE_DIR = lintCache;
delete process.env.CAIRN_NO_CACHE;

// Every test file leaves /tmp as it found it.
afterAll(() => {
  removeTempDirs();
  rmSync(lintCache, { recursive: true, force: true });
});
