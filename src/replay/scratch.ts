import { hostname, userInfo } from 'node:os';
import type { DatabaseUrl } from '../config/url.js';
import { createScratchDatabase, openDriver, scratchHint } from '../drivers/index.js';
import { CairnError } from '../errors.js';
import { runStep, StepFailed, type MigrationFailure, type StepContext } from '../core/migrator.js';
import type { Migration } from '../source/migration.js';
import { TrackingTable } from '../core/tracking.js';

/**
 * Runs `work` against an empty scratch database of the same kind as `like`,
 * with a history table ready for the real runner, and drops it afterwards
 * however `work` ends. Used by verify, drift, diff and the latest-schema replay.
 * An empty database holds none of the data `-- cairn:assert` lines are about,
 * so they do not guard steps here (verify reads them, docs/assertions.md).
 */
export async function withScratch<T>(like: DatabaseUrl, table: string, work: (context: StepContext, where: string) => Promise<T>): Promise<T> {
  const scratch = await createScratchDatabase(like);
  try {
    const driver = await openDriver(scratch.url, { create: true });
    try {
      const tracking = new TrackingTable(driver, table);
      await tracking.ensure();
      return await work({ driver, tracking, appliedBy: `${userInfo().username}@${hostname()} (scratch)`, onEvent: () => undefined, assertions: 'skip' }, scratch.url.display);
    } finally {
      await driver.close();
    }
  } finally {
    await scratch.drop();
  }
}

/** What a replay says when a migration does not apply: the message, and what to do. */
export interface ReplayFailed {
  readonly message: string;
  readonly hint: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * Runs `migrations` up, one step each, in a scratch database. The first the
 * database rejects ends the replay as MIGRATION_FAILED, worded by `explain`
 * (each replay says what it was for); any other error goes through as it is.
 */
export async function replayUp(context: StepContext, migrations: readonly Migration[], explain: (failure: MigrationFailure) => ReplayFailed): Promise<void> {
  for (const migration of migrations) {
    try {
      await runStep(context, migration, 'up');
    } catch (error) {
      if (!(error instanceof StepFailed)) throw error;
      const { message, hint, details } = explain(error.failure);
      throw new CairnError('MIGRATION_FAILED', message, { hint, ...(details ? { details } : {}) });
    }
  }
}

/** A scratch that could not be made on a server: add what else would work to the error's hint. */
export function withScratchHint(error: unknown, like: DatabaseUrl): unknown {
  const extra = scratchHint(like);
  if (!(error instanceof CairnError) || error.code !== 'CONNECTION' || extra === null) return error;
  return new CairnError(error.code, error.message, { hint: `${error.hint ? `${error.hint}; ` : ''}${extra}`, details: error.details, cause: error });
}
