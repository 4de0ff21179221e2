import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseUrl } from '../config/url.js';
import type { Driver } from './types.js';

export interface OpenOptions {
  /** False for read-only commands: do not create a database that does not exist yet. */
  readonly create: boolean;
}

/**
 * The URLs `createScratchDatabase` made. A scratch database is thrown away
 * however the run ends, and only the connection Cairn opens on it writes to
 * it, so `openDriver` opens these as scratch: SQLite without waiting for the
 * disk (no syncs, journal in memory: most of what a replay's three commits
 * per migration cost), PostgreSQL with dumps that re-read only what changed
 * since the last one (a replay dumps after every step). Kept here, keyed by
 * the URL object itself, so no caller has to say which database is which,
 * and a user's database can never be opened this way.
 */
const scratchUrls = new WeakSet<DatabaseUrl>();

/** The one place that maps a URL scheme to a driver. Drivers load on demand: a SQLite run never loads pg. */
export async function openDriver(url: DatabaseUrl, options: OpenOptions): Promise<Driver> {
  switch (url.scheme) {
    case 'sqlite':
      return (await import('./sqlite/driver.js')).openSqlite(url.path, url.display, { ...options, scratch: scratchUrls.has(url) });
    case 'postgres':
      return (await import('./postgres/driver.js')).openPostgres(url.url, url.display, url.secrets, { scratch: scratchUrls.has(url) });
    case 'pglite':
      return (await import('./pglite/driver.js')).openPglite(url.dataDir, url.display, options);
    case 'd1':
      return (await import('./d1/driver.js')).openD1(url.d1, url.display, options);
  }
}

export interface ScratchDatabase {
  readonly url: DatabaseUrl;
  drop(): Promise<void>;
}

/** An empty throw-away database of the same kind as `like`: a temporary SQLite file, a temporary database on the same PostgreSQL server, PGlite in memory, or a local D1 in a temporary directory. */
export async function createScratchDatabase(like: DatabaseUrl): Promise<ScratchDatabase> {
  switch (like.scheme) {
    case 'sqlite': {
      const dir = mkdtempSync(join(tmpdir(), 'cairn-scratch-'));
      const path = join(dir, 'scratch.db');
      const url: DatabaseUrl = { scheme: 'sqlite', path, display: `sqlite:${path} (scratch)` };
      scratchUrls.add(url);
      return { url, drop: async () => rmSync(dir, { recursive: true, force: true }) };
    }
    case 'postgres': {
      const scratch = await (await import('./postgres/scratch.js')).createPostgresScratch(like.url, like.display);
      const display = `${like.display.replace(/\/[^/?]*(\?.*)?$/, `/${scratch.name}`)} (scratch)`;
      const url: DatabaseUrl = { scheme: 'postgres', url: scratch.url, display, secrets: like.secrets };
      scratchUrls.add(url);
      return { url, drop: scratch.drop };
    }
    case 'pglite':
      // In memory: nothing to create, and nothing left once the driver closes.
      return { url: { scheme: 'pglite', dataDir: null, display: 'pglite::memory: (scratch)' }, drop: async () => undefined };
    case 'd1': {
      // Local or remote, the scratch is a local D1 (miniflare): the same engine, nothing created on Cloudflare.
      const dir = mkdtempSync(join(tmpdir(), 'cairn-scratch-'));
      return { url: { scheme: 'd1', d1: { kind: 'local', databaseId: 'scratch', persistDir: dir }, display: `d1 local scratch (${dir})` }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
    }
  }
}

export type { Capabilities, Driver, HeldLock, SqlCommand } from './types.js';
