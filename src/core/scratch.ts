import { hostname, userInfo } from 'node:os';
import type { ResolvedConfig } from '../config/load.js';
import type { DatabaseUrl } from '../config/url.js';
import { createScratchDatabase, openDriver } from '../drivers/index.js';
import { CairnError } from './errors.js';
import type { StepContext } from './migrator.js';
import { TrackingTable } from './tracking.js';

/**
 * Runs `work` against an empty scratch database of the same kind as `like`,
 * with a history table ready for the real runner, and drops it afterwards
 * however `work` ends. Used by verify and drift.
 */
export async function withScratch<T>(like: DatabaseUrl, table: string, work: (context: StepContext, where: string) => Promise<T>): Promise<T> {
  const scratch = await createScratchDatabase(like);
  try {
    const driver = await openDriver(scratch.url, { create: true });
    try {
      const tracking = new TrackingTable(driver, table);
      await tracking.ensure();
      return await work({ driver, tracking, appliedBy: `${userInfo().username}@${hostname()} (scratch)`, onEvent: () => undefined }, scratch.url.display);
    } finally {
      await driver.close();
    }
  } finally {
    await scratch.drop();
  }
}

/** Embedded PostgreSQL (PGlite) in memory: needs no server and no setup. */
export const PGLITE_SCRATCH: DatabaseUrl = { scheme: 'pglite', dataDir: null, display: 'pglite::memory:' };

/**
 * Where verify replays: the database asked for; else, for PostgreSQL
 * migrations (lint.dialect) with no PostgreSQL server configured, PGlite, and
 * `why` says so; else a scratch of the configured database's own kind.
 */
export function verifyScratch(config: ResolvedConfig, asked: DatabaseUrl | undefined): { readonly like: DatabaseUrl; readonly why: string | null } {
  if (asked) return { like: asked, why: null };
  const postgresLike = config.database.scheme === 'postgres' || config.database.scheme === 'pglite';
  if (config.lint.dialect === 'postgres' && !postgresLike) return { like: PGLITE_SCRATCH, why: 'no PostgreSQL server configured' };
  return { like: config.database, why: null };
}

/** A PostgreSQL scratch that could not be made: point at the embedded engine, which needs no server. */
export function withPgliteHint(error: unknown, like: DatabaseUrl): unknown {
  if (!(error instanceof CairnError) || error.code !== 'CONNECTION' || like.scheme !== 'postgres') return error;
  return new CairnError(error.code, error.message, {
    hint: `${error.hint ? `${error.hint}; ` : ''}or replay without a server, in embedded PostgreSQL (PGlite): cairn verify --scratch-url pglite:`,
    details: error.details,
    cause: error,
  });
}
