import { existsSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { DatabaseUrl } from '../../config/url.js';
import { CairnError } from '../../errors.js';
import type { DatabaseKind } from '../registry.js';
import { inMemory } from '../sqlite/index.js';

type PgliteUrl = Extract<DatabaseUrl, { scheme: 'pglite' }>;

/** PostgreSQL in WASM, in this process (PGlite): a data directory, or memory. */
export const pglite: DatabaseKind<PgliteUrl> = {
  dialect: 'postgres',
  open: async (url, options) => (await import('./driver.js')).openPglite(url.dataDir, url.display, options),
  async create(url) {
    if (url.dataDir === null) throw inMemory(url, 'create');
    const existed = existsSync(join(url.dataDir, 'PG_VERSION'));
    await (await pglite.open(url, { create: true, scratch: false })).close();
    return { name: basename(url.dataDir), changed: !existed };
  },
  async drop(url) {
    if (url.dataDir === null) throw inMemory(url, 'drop');
    if (!existsSync(url.dataDir)) return { name: basename(url.dataDir), changed: false };
    if (!statSync(url.dataDir).isDirectory() || !existsSync(join(url.dataDir, 'PG_VERSION'))) {
      throw new CairnError('CONFIG', `${url.display} is not a PGlite data directory (no PG_VERSION in it): not deleting it`, { hint: 'check the pglite: path in the URL' });
    }
    rmSync(url.dataDir, { recursive: true, force: true });
    return { name: basename(url.dataDir), changed: true };
  },
  // In memory: nothing to create, and nothing left once the driver closes.
  scratch: async () => ({ url: { scheme: 'pglite', dataDir: null, display: 'pglite::memory: (scratch)' }, drop: async () => undefined }),
  scratchHint: null,
  templates: async (like, project) => (await import('../directory-template.js')).directoryTemplates(project, like),
  relations: async (driver, exclude) => (await import('../postgres/columns.js')).postgresRelations(driver, exclude),
  // One engine in this process: databases take turns.
  fleetConcurrency: () => 1,
  blocksThread: false,
  scratchKey: () => 'pglite',
};
