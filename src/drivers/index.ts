import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { DatabaseUrl } from '../config/url.js';
import { CairnError } from '../errors.js';
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
      return (await import('./postgres/driver.js')).openPostgres(url.url, url.display, url.secrets, { scratch: scratchUrls.has(url), schema: url.schema });
    case 'pglite':
      return (await import('./pglite/driver.js')).openPglite(url.dataDir, url.display, options);
    case 'd1':
      return (await import('./d1/driver.js')).openD1(url.d1, url.display, options);
  }
}

/** What `cairn create` / `cairn drop` did: the database's name, and whether it had to (false: it already existed, or was already gone). */
export interface DatabaseChange {
  readonly name: string;
  readonly changed: boolean;
}

/**
 * `cairn create` (and `up --create`): the database the URL names, made when it
 * does not exist. A SQLite file, a PGlite directory and a local D1 database come
 * into being when first opened; a PostgreSQL database is created on its server.
 */
export async function createDatabase(url: DatabaseUrl): Promise<DatabaseChange> {
  switch (url.scheme) {
    case 'postgres':
      return (await import('./postgres/admin.js')).createPostgresDatabase(url.url, url.display, url.secrets);
    case 'sqlite':
    case 'pglite': {
      const path = url.scheme === 'sqlite' ? url.path : url.dataDir;
      if (path === null || path === ':memory:') throw inMemory(url, 'create');
      const existed = url.scheme === 'sqlite' ? existsSync(path) : existsSync(join(path, 'PG_VERSION'));
      await (await openDriver(url, { create: true })).close();
      return { name: basename(path), changed: !existed };
    }
    case 'd1':
      if (url.d1.kind === 'remote') throw notOnCloudflare(url, 'create it with `wrangler d1 create <name>` and put its id in wrangler.toml');
      await (await openDriver(url, { create: true })).close();
      return { name: url.d1.databaseId, changed: false };
  }
}

/** `cairn drop`: the database the URL names, gone with everything in it (confirmed by the caller). */
export async function dropDatabase(url: DatabaseUrl): Promise<DatabaseChange> {
  switch (url.scheme) {
    case 'postgres':
      return (await import('./postgres/admin.js')).dropPostgresDatabase(url.url, url.display, url.secrets);
    case 'sqlite': {
      if (url.path === ':memory:') throw inMemory(url, 'drop');
      const existed = existsSync(url.path);
      // The journal files belong to the database: left behind, a new file of the same name would replay them.
      for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${url.path}${suffix}`, { force: true });
      return { name: basename(url.path), changed: existed };
    }
    case 'pglite': {
      if (url.dataDir === null) throw inMemory(url, 'drop');
      if (!existsSync(url.dataDir)) return { name: basename(url.dataDir), changed: false };
      if (!statSync(url.dataDir).isDirectory() || !existsSync(join(url.dataDir, 'PG_VERSION'))) {
        throw new CairnError('CONFIG', `${url.display} is not a PGlite data directory (no PG_VERSION in it): not deleting it`, { hint: 'check the pglite: path in the URL' });
      }
      rmSync(url.dataDir, { recursive: true, force: true });
      return { name: basename(url.dataDir), changed: true };
    }
    case 'd1':
      throw notOnCloudflare(url, url.d1.kind === 'remote' ? 'delete it with `wrangler d1 delete <name>`' : 'a local D1 database lives in wrangler\'s state directory (.wrangler/state, or --persist-to): delete it there');
  }
}

function inMemory(url: DatabaseUrl, verb: 'create' | 'drop'): CairnError {
  return new CairnError('USAGE', `${url.display} is in memory: there is nothing to ${verb}`, { hint: 'name a file (sqlite:app.db) or a server database (postgres://user@host/app)' });
}

function notOnCloudflare(url: DatabaseUrl, hint: string): CairnError {
  return new CairnError('USAGE', `cairn does not create or drop D1 databases on Cloudflare or in wrangler's state (${url.display})`, { hint });
}

/**
 * How many databases of this kind `cairn fleet` keeps open at once unless told:
 * SQLite and local D1 run in this process (the work is CPU and disk, a few
 * overlap waits); PostgreSQL and remote D1 wait on the network, one connection each.
 */
export function fleetConcurrency(url: DatabaseUrl): number {
  switch (url.scheme) {
    case 'sqlite':
      return 4;
    case 'postgres':
      return 8;
    case 'pglite':
      return 1;
    case 'd1':
      return url.d1.kind === 'local' ? 4 : 10;
  }
}

/** True where the driver waits for the disk on the calling thread (better-sqlite3): a fleet runs such targets in worker threads so those waits overlap. */
export function blocksThread(url: DatabaseUrl): boolean {
  return url.scheme === 'sqlite';
}

/**
 * The databases a pattern URL names, each as its URL and a label, or null
 * when `text` is no such pattern: `d1://<account_id>/<prefix>*` is every D1
 * database of the account whose name starts with the prefix (the D1 API's
 * database list). For `cairn fleet`'s targets.
 */
export async function expandDatabasePattern(text: string): Promise<{ readonly source: string; readonly label: string }[] | null> {
  if (/^d1:\/\//i.test(text) && text.trim().endsWith('*')) return (await import('./d1/list.js')).expandD1Pattern(text, process.env);
  return null;
}

/** The defaults of fleetConcurrency, as `cairn fleet --help` says them. */
export const FLEET_CONCURRENCY_HELP = 'SQLite 4, PostgreSQL 8, local D1 4, remote D1 10';

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

/**
 * Which scratch database `createScratchDatabase(url)` makes, as a key: URLs
 * with the same key replay in alike scratch databases (same engine, same
 * server), so a replay's result for one holds for all (`cairn fleet verify`
 * replays each history once). Internal: may hold a password; never printed.
 */
export function scratchKey(url: DatabaseUrl): string {
  switch (url.scheme) {
    case 'postgres': {
      const server = new URL(url.url);
      server.pathname = '/';
      server.search = '';
      return `postgres ${server.toString()}`;
    }
    default:
      return url.scheme;
  }
}

/** Embedded PostgreSQL (PGlite) in memory: needs no server and no setup. */
const PGLITE_SCRATCH: DatabaseUrl = { scheme: 'pglite', dataDir: null, display: 'pglite::memory:' };

/**
 * Where verify replays when no scratch database was named: a scratch of the
 * configured database's own kind; but for PostgreSQL migrations with no
 * PostgreSQL configured, PGlite, and `why` says so.
 */
export function scratchFor(database: DatabaseUrl, dialect: 'postgres' | 'sqlite'): { readonly like: DatabaseUrl; readonly why: string | null } {
  const postgresLike = database.scheme === 'postgres' || database.scheme === 'pglite';
  if (dialect === 'postgres' && !postgresLike) return { like: PGLITE_SCRATCH, why: 'no PostgreSQL server configured' };
  return { like: database, why: null };
}

/** Said before a replay in PGlite: why, and which PostgreSQL it is. */
export async function embeddedNotice(why: string, driver: Driver): Promise<string> {
  const rows = await driver.query<{ server_version: string }>({ sql: 'SHOW server_version' });
  return `${why}: replaying in PGlite (embedded PostgreSQL ${rows[0]?.server_version ?? '?'})`;
}

/** What else would work when a scratch database could not be made on a server: the embedded engine needs none. */
export function scratchHint(like: DatabaseUrl): string | null {
  return like.scheme === 'postgres' ? 'or replay without a server, in embedded PostgreSQL (PGlite): cairn verify --scratch-url pglite:' : null;
}

export type { Capabilities, Driver, HeldLock, SqlCommand } from './types.js';
