import type { ConfigOverrides } from '../config/load.js';
import { assertKnownVersion } from '../core/planner.js';
import { confirmWrite, type ConfirmOptions } from '../environments/protection.js';
import { readProjectMigrations } from '../source/files.js';
import { countOutcomes, fleetConfig, runFleet, selectTargets, type FleetRunOptions } from './run.js';
import type { StopReason, TargetResult } from './types.js';

export interface FleetDownOptions extends FleetRunOptions, ConfirmOptions {
  /** Roll back, on every target, every applied migration newer than this version (`0`: all of them). */
  readonly to: string;
}

const DOWN_OUTCOMES = ['rolled-back', 'unchanged', 'failed', 'not-started'] as const;

export interface FleetDownResult {
  readonly success: boolean;
  readonly total: number;
  readonly concurrency: number;
  /** `unchanged`: nothing newer than `to` was applied there. */
  readonly counts: Readonly<Record<(typeof DOWN_OUTCOMES)[number], number>>;
  readonly stopped: StopReason | null;
  readonly durationMs: number;
  /** Every target, in fleet order, with `rolledBack` newest first. */
  readonly targets: readonly TargetResult[];
}

/**
 * `down --to <version>` on every target: the ordinary rollback (each down in
 * its own transaction, under the target's lock), bounded, canary first, the
 * same failure policy as `fleet up`. Resumable: a target already at `to`
 * has nothing newer to roll back, so running it again finishes the rest.
 */
export async function fleetDown(overrides: ConfigOverrides, options: FleetDownOptions): Promise<FleetDownResult> {
  const base = await fleetConfig(overrides);
  // A bad --to is known from the files alone: said before any target is opened.
  if (!/^0+$/.test(options.to)) assertKnownVersion(readProjectMigrations(base), options.to);
  const targets = await selectTargets(base, overrides, options);
  if (targets.length > 0) await confirmWrite({ ...base, database: { ...base.database, display: `${targets.length} fleet target${targets.length === 1 ? '' : 's'}` } }, options, `Roll back every migration newer than ${options.to} on`);
  const run = await runFleet(targets, base, overrides, { kind: 'down', to: options.to }, options);
  const counts = countOutcomes(run.targets, DOWN_OUTCOMES);
  return { success: counts.failed === 0 && counts['not-started'] === 0, total: run.total, concurrency: run.concurrency, counts, stopped: run.stopped, durationMs: run.durationMs, targets: run.targets };
}
