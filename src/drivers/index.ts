import type { DatabaseUrl } from '../config/url.js';
import { DATABASE_KINDS, databaseKind, type DatabaseChange, type DatabasePattern, type OpenOptions, type ScratchDatabase } from './registry.js';
import type { Driver } from './types.js';

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

/** Opens the database `url` names with its kind's driver (drivers/registry.ts), loaded on demand. */
export async function openDriver(url: DatabaseUrl, options: OpenOptions): Promise<Driver> {
  return databaseKind(url).open(url, { ...options, scratch: scratchUrls.has(url) });
}

/**
 * `cairn create` (and `up --create`): the database the URL names, made when it
 * does not exist. A SQLite file, a PGlite directory and a local D1 database come
 * into being when first opened; a PostgreSQL database is created on its server.
 */
export async function createDatabase(url: DatabaseUrl): Promise<DatabaseChange> {
  return databaseKind(url).create(url);
}

/** `cairn drop`: the database the URL names, gone with everything in it (confirmed by the caller). */
export async function dropDatabase(url: DatabaseUrl): Promise<DatabaseChange> {
  return databaseKind(url).drop(url);
}

/** How many databases of this kind `cairn fleet` keeps open at once unless told. */
export function fleetConcurrency(url: DatabaseUrl): number {
  return databaseKind(url).fleetConcurrency(url);
}

/** True where the driver waits for the disk on the calling thread (better-sqlite3): a fleet runs such targets in worker threads so those waits overlap. */
export function blocksThread(url: DatabaseUrl): boolean {
  return databaseKind(url).blocksThread;
}

/**
 * The databases a pattern URL names, each as its URL and a label, or null
 * when `text` is no kind's pattern (`d1://<account_id>/<prefix>*`: every D1
 * database of the account whose name starts with the prefix). For
 * `cairn fleet`'s targets.
 */
export async function expandDatabasePattern(text: string): Promise<DatabasePattern[] | null> {
  for (const kind of DATABASE_KINDS) {
    const listed = (await kind.expandPattern?.(text)) ?? null;
    if (listed) return listed;
  }
  return null;
}

/** The defaults of fleetConcurrency, as `cairn fleet --help` says them. */
export const FLEET_CONCURRENCY_HELP = 'SQLite 4, PostgreSQL 8, local D1 4, remote D1 10';

/** An empty throw-away database of the same kind as `like`: a temporary SQLite file, a temporary database on the same PostgreSQL server, PGlite in memory, or a local D1 in a temporary directory. */
export async function createScratchDatabase(like: DatabaseUrl): Promise<ScratchDatabase> {
  return databaseKind(like).scratch(like, (url) => {
    scratchUrls.add(url);
    return url;
  });
}

/**
 * Which scratch database `createScratchDatabase(url)` makes, as a key: URLs
 * with the same key replay in alike scratch databases (same engine, same
 * server), so a replay's result for one holds for all (`cairn fleet verify`
 * replays each history once). Internal: may hold a password; never printed.
 */
export function scratchKey(url: DatabaseUrl): string {
  return databaseKind(url).scratchKey(url);
}

/** Embedded PostgreSQL (PGlite) in memory: needs no server and no setup. */
const PGLITE_SCRATCH: DatabaseUrl = { scheme: 'pglite', dataDir: null, display: 'pglite::memory:' };

/**
 * Where verify replays when no scratch database was named: a scratch of the
 * configured database's own kind; but for PostgreSQL migrations with no
 * PostgreSQL configured, PGlite, and `why` says so.
 */
export function scratchFor(database: DatabaseUrl, dialect: 'postgres' | 'sqlite'): { readonly like: DatabaseUrl; readonly why: string | null } {
  if (dialect === 'postgres' && databaseKind(database).dialect !== 'postgres') return { like: PGLITE_SCRATCH, why: 'no PostgreSQL server configured' };
  return { like: database, why: null };
}

/** Said before a replay in PGlite: why, and which PostgreSQL it is. */
export async function embeddedNotice(why: string, driver: Driver): Promise<string> {
  const rows = await driver.query<{ server_version: string }>({ sql: 'SHOW server_version' });
  return `${why}: replaying in PGlite (embedded PostgreSQL ${rows[0]?.server_version ?? '?'})`;
}

/** What else would work when a scratch database could not be made on a server: the embedded engine needs none. */
export function scratchHint(like: DatabaseUrl): string | null {
  return databaseKind(like).scratchHint;
}

export type { DatabaseChange, DatabasePattern, OpenOptions, ScratchDatabase } from './registry.js';
export type { Capabilities, Driver, HeldLock, SqlCommand } from './types.js';
