import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { DatabaseUrl } from '../../config/url.js';
import { CairnError } from '../../errors.js';
import type { DatabaseKind } from '../registry.js';

type SqliteUrl = Extract<DatabaseUrl, { scheme: 'sqlite' }>;

/** SQLite files through better-sqlite3, in this process. */
export const sqlite: DatabaseKind<SqliteUrl> = {
  dialect: 'sqlite',
  open: async (url, options) => (await import('./driver.js')).openSqlite(url.path, url.display, options),
  async create(url) {
    if (url.path === ':memory:') throw inMemory(url, 'create');
    const existed = existsSync(url.path);
    await (await sqlite.open(url, { create: true, scratch: false })).close();
    return { name: basename(url.path), changed: !existed };
  },
  async drop(url) {
    if (url.path === ':memory:') throw inMemory(url, 'drop');
    const existed = existsSync(url.path);
    // The journal files belong to the database: left behind, a new file of the same name would replay them.
    for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${url.path}${suffix}`, { force: true });
    return { name: basename(url.path), changed: existed };
  },
  async scratch(_like, mark) {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-scratch-'));
    const path = join(dir, 'scratch.db');
    return { url: mark({ scheme: 'sqlite', path, display: `sqlite:${path} (scratch)` }), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
  scratchHint: null,
  templates: async (like, project) => (await import('./template.js')).sqliteTemplates(project, { memory: like.path === ':memory:' }),
  relations: async (driver, exclude) => (await import('./columns.js')).sqliteRelations(driver, exclude),
  // In this process: the work is CPU and disk, a few overlap waits.
  fleetConcurrency: () => 4,
  blocksThread: true,
  scratchKey: () => 'sqlite',
};

/** `cairn create` / `cairn drop` on a database that lives in memory. */
export function inMemory(url: DatabaseUrl, verb: 'create' | 'drop'): CairnError {
  return new CairnError('USAGE', `${url.display} is in memory: there is nothing to ${verb}`, { hint: 'name a file (sqlite:app.db) or a server database (postgres://user@host/app)' });
}
