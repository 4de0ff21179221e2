import type { ConfigOverrides } from '../config/load.js';
import { parseDatabaseUrl } from '../config/url.js';
import { verify, type VerifyReport } from '../replay/verify.js';
import type { CairnEvent } from '../core/events.js';
import { fleetEngines } from './engines.js';
import { countOutcomes, fleetConfig, runFleet, selectTargets, type FleetRunOptions } from './run.js';
import type { StopReason, TargetResult } from './types.js';

export interface FleetVerifyOptions extends FleetRunOptions {
  /** Where to replay (verify's and each drift check's scratch database): default like the targets. */
  readonly scratchUrl?: string | undefined;
  /** The schema dump the history's final schema must match (absolute path), or false; default: the configured one, when it exists. */
  readonly schema?: string | false | undefined;
  /** Skip verifying the history (up, down, up in a scratch database); check each target's drift only. */
  readonly skipHistory?: boolean | undefined;
  /** The history's replay, as `cairn verify` tells it. */
  readonly onVerifyEvent?: ((event: CairnEvent) => void) | undefined;
}

const DRIFT_OUTCOMES = ['in-sync', 'drifted', 'failed', 'not-started'] as const;

export interface FleetVerifyResult {
  /** Every history verified, and every target in sync. */
  readonly ok: boolean;
  /** `cairn verify` of the shared history, once per engine among the targets. */
  readonly history: readonly { readonly engine: string; readonly targets: number; readonly report: VerifyReport }[];
  readonly total: number;
  readonly concurrency: number;
  /** Per target: its schema against what its own applied migrations give. */
  readonly counts: Readonly<Record<(typeof DRIFT_OUTCOMES)[number], number>>;
  readonly stopped: StopReason | null;
  readonly durationMs: number;
  /** Every target, in fleet order; a drifted one lists its `differences`. */
  readonly targets: readonly TargetResult[];
}

/**
 * Two checks. The history once (not once per tenant: it is the same files):
 * `cairn verify`'s replay, up, down, up, in a scratch database. Then each
 * target, read only: its schema next to the schema its own applied
 * migrations give when replayed (`cairn drift`), a replay shared by every
 * target with the same history. A drifted target counts as a failure for
 * the stop policy (--keep-going checks them all). Reads only: running it
 * again checks again.
 */
export async function fleetVerify(overrides: ConfigOverrides, options: FleetVerifyOptions = {}): Promise<FleetVerifyResult> {
  const started = performance.now();
  const base = await fleetConfig(overrides);
  const targets = await selectTargets(base, overrides, options);
  const history = [];
  if (!options.skipHistory) {
    for (const { engine, targets: count, config } of await fleetEngines(targets, overrides)) {
      const scratchUrl = options.scratchUrl ? parseDatabaseUrl(options.scratchUrl, base.root) : undefined;
      history.push({ engine, targets: count, report: await verify(config, { scratchUrl, schema: options.schema, onEvent: options.onVerifyEvent, signal: options.signal }) });
    }
  }
  const run = await runFleet(targets, base, overrides, { kind: 'drift', scratchUrl: options.scratchUrl }, options, ['failed', 'drifted']);
  const counts = countOutcomes(run.targets, DRIFT_OUTCOMES);
  const ok = history.every((h) => h.report.ok) && counts['in-sync'] === run.total;
  return { ok, history, total: run.total, concurrency: run.concurrency, counts, stopped: run.stopped, durationMs: Math.round(performance.now() - started), targets: run.targets };
}
