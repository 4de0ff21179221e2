import type { ConfigOverrides } from '../config/load.js';
import { confirmWrite, type ConfirmOptions } from '../environments/protection.js';
import { recordLastRun, type LastRunEntry } from './last-run.js';
import { countOutcomes, fleetConfig, runFleet, selectTargets, type FleetRunOptions } from './run.js';
import type { StopReason, TargetResult } from './types.js';

export { configsByScheme, fleetConfig, fleetLimit } from './run.js';
export type { FleetEvent, TargetError, TargetOutcome, TargetResult } from './types.js';

export interface FleetUpOptions extends FleetRunOptions, ConfirmOptions {
  /** As `up`: stop after this version on every target; apply despite lint errors; no backups. */
  readonly to?: string | undefined;
  readonly unsafe?: boolean | undefined;
  readonly noBackup?: boolean | undefined;
  /** Remote D1 targets: copy the rows at risk too, not only the Time Travel bookmark (as config `backup: 'rows'`). */
  readonly backupRows?: boolean | undefined;
}

const UP_OUTCOMES = ['applied', 'up-to-date', 'failed', 'not-started'] as const;

export interface FleetUpResult {
  readonly success: boolean;
  readonly total: number;
  readonly concurrency: number;
  readonly counts: Readonly<Record<(typeof UP_OUTCOMES)[number], number>>;
  /** Why targets were left out: a failure (default policy), a failing canary, or an interrupt; null when every target ran. */
  readonly stopped: StopReason | null;
  readonly durationMs: number;
  /** Every target, in fleet order. */
  readonly targets: readonly TargetResult[];
}

/**
 * `up` on every target: the same runner as for one database (lint check,
 * lock, history table in each), at most `concurrency` open at once. Each
 * target's history says what it needs, so running it again after a failure,
 * a crash or a new tenant finishes what is behind and nothing twice.
 */
export async function fleetUp(overrides: ConfigOverrides, options: FleetUpOptions = {}): Promise<FleetUpResult> {
  const base = await fleetConfig(overrides);
  const targets = await selectTargets(base, overrides, options);
  // A protected environment is asked once for the whole fleet, not once per database.
  if (targets.length > 0) await confirmWrite({ ...base, database: { ...base.database, display: `${targets.length} fleet target${targets.length === 1 ? '' : 's'}` } }, options, 'Apply pending migrations to');
  const run = await runFleet(targets, base, overrides, { kind: 'up', to: options.to, unsafe: options.unsafe, noBackup: options.noBackup, backupRows: options.backupRows }, options);
  rememberOutcomes(base.root, run.targets);
  const counts = countOutcomes(run.targets, UP_OUTCOMES);
  return { success: counts.failed === 0 && counts['not-started'] === 0, total: run.total, concurrency: run.concurrency, counts, stopped: run.stopped, durationMs: run.durationMs, targets: run.targets };
}

/** For `fleet status` to say why a target is behind (last-run.ts). */
export function rememberOutcomes(root: string, targets: readonly TargetResult[]): void {
  const at = new Date().toISOString();
  const entries = targets
    .filter((r) => r.outcome === 'applied' || r.outcome === 'up-to-date' || r.outcome === 'failed')
    .map((r): [string, LastRunEntry] => [r.target, { outcome: r.outcome as LastRunEntry['outcome'], at, error: r.error && { code: r.error.code, message: r.error.message } }]);
  recordLastRun(root, Object.fromEntries(entries));
}
