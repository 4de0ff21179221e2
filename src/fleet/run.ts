import { setTimeout as sleep } from 'node:timers/promises';
import { resolveConfig, type ConfigOverrides, type ResolvedConfig } from '../config/load.js';
import { CairnError } from '../errors.js';
import { blocksThread, fleetConcurrency } from '../drivers/index.js';
import { runJob, type LintCache, type ReplayCache } from './jobs.js';
import { runBounded } from './pool.js';
import { threadPool } from './threads.js';
import { fleetTargets, type FleetTarget, type TargetSelection } from './targets.js';
import type { FleetEvent, FleetJob, StopReason, TargetOutcome, TargetResult } from './types.js';

/** How every fleet command walks its targets. */
export interface FleetRunOptions extends Omit<TargetSelection, 'cwd'> {
  /** At most this many databases open at once. Default: per engine (drivers' fleetConcurrency), the smallest among the targets'. */
  readonly concurrency?: number | undefined;
  /** Run these first: a number (the first K targets) or a group's name; any failure among them stops the run before the rest. */
  readonly canary?: number | string | undefined;
  /** Go on after a failure and report every one (default: the first failure stops new targets from starting). */
  readonly keepGoing?: boolean | undefined;
  /**
   * How many times a target that failed for a passing reason (its driver says
   * `transient`: a remote D1 answering 429 or 5xx, a dropped connection) is
   * run again, after a growing pause (at least what Retry-After asked). Each
   * try is the whole command again, which reads the target's history first:
   * a write whose answer was lost is not re-sent. Default 3; 0: none.
   */
  readonly retries?: number | undefined;
  /** Abort (Ctrl-C): no new target starts; running ones are interrupted as a single-database command is (rolled back, lock released). */
  readonly signal?: AbortSignal | undefined;
  readonly onEvent?: ((event: FleetEvent) => void) | undefined;
}

export interface FleetRun {
  readonly total: number;
  readonly concurrency: number;
  readonly stopped: StopReason | null;
  readonly durationMs: number;
  /** Every target, in fleet order; `not-started` for those the run stopped before. */
  readonly targets: readonly TargetResult[];
}

/**
 * `job` on every target, at most `concurrency` at once, `canary` first. A
 * target counts as failed for the stop policy when its outcome is in
 * `failures` (`failed` always; `drifted` for verify). Targets whose driver
 * blocks its thread run in worker threads.
 */
export async function runFleet(targets: readonly FleetTarget[], base: ResolvedConfig, overrides: ConfigOverrides, job: FleetJob, options: FleetRunOptions, failures: readonly TargetOutcome[] = ['failed']): Promise<FleetRun> {
  const started = performance.now();
  const onEvent = options.onEvent ?? (() => undefined);
  const concurrency = fleetLimit(targets, options.concurrency);
  const canary = canaryTargets(targets, options.canary, base);
  const configFor = configsByScheme(overrides);
  const replays: ReplayCache = new Map();
  const lints: LintCache = new Map();

  const results = new Map<string, TargetResult>();
  let failed = 0;
  let stopped: StopReason | null = null;
  onEvent({ type: 'fleet-start', total: targets.length, concurrency, canary: canary.length });

  const threads = concurrency > 1 && targets.some((t) => blocksThread(t.url)) ? threadPool(concurrency) : null;
  const abortThreads = () => threads?.abort();
  options.signal?.addEventListener('abort', abortThreads);
  const stop = (reason: StopReason, target: string | null, outcome?: TargetOutcome) => {
    stopped = reason;
    onEvent({ type: 'stopping', reason, target, ...(outcome ? { outcome } : {}) });
  };
  const retries = options.retries ?? DEFAULT_RETRIES;
  if (!Number.isInteger(retries) || retries < 0) throw new CairnError('USAGE', `retries must be a whole number, 0 or more, got ${String(retries)}`);
  const runOne = async (target: FleetTarget) => {
    onEvent({ type: 'target-start', target: target.name, group: target.group });
    const config = await configFor(target);
    const attempt = () => (threads && blocksThread(target.url) ? threads.run(job, target, config, onEvent) : runJob(job, target, config, { signal: options.signal, replays, lints }, onEvent));
    let result = await attempt();
    let tries = 0;
    while (result.error?.details.transient === true && tries < retries && !options.signal?.aborted && stopped !== 'interrupted') {
      tries++;
      const waitMs = retryPause(tries, result.error.details.retryAfterMs);
      onEvent({ type: 'target-retry', target: target.name, attempt: tries, of: retries, waitMs, error: result.error });
      await sleep(waitMs, undefined, { signal: options.signal }).catch(() => undefined);
      if (options.signal?.aborted) break;
      result = await attempt();
    }
    if (tries > 0) result = { ...result, retries: tries };
    results.set(target.name, result);
    const failing = failures.includes(result.outcome);
    if (failing) failed++;
    const seconds = (performance.now() - started) / 1000;
    onEvent({ type: 'target-done', result, done: results.size, total: targets.length, failed, perSecond: seconds > 0 ? results.size / seconds : 0 });
    if (stopped === null && options.signal?.aborted) stop('interrupted', null);
    else if (failing && stopped === null && !options.keepGoing) stop('failure', target.name, result.outcome);
  };
  const halted = () => {
    if (options.signal?.aborted && stopped === null) stop('interrupted', null);
    return stopped !== null;
  };

  const runAll = async () => {
    if (canary.length === 0) return void (await runBounded(targets, concurrency, runOne, halted));
    const canaryNames = new Set(canary.map((t) => t.name));
    await runBounded(canary, concurrency, runOne, () => halted() || failed > 0);
    if (failed > 0 && stopped !== 'interrupted') {
      if (stopped === null) stop('canary', null);
      else stopped = 'canary';
    }
    if (stopped === null) await runBounded(targets.filter((t) => !canaryNames.has(t.name)), concurrency, runOne, halted);
  };
  try {
    await runAll();
  } finally {
    options.signal?.removeEventListener('abort', abortThreads);
    await threads?.close();
  }

  const all = targets.map((t): TargetResult => results.get(t.name) ?? { target: t.name, group: t.group, outcome: 'not-started', applied: [], durationMs: 0, error: null });
  return { total: targets.length, concurrency, stopped, durationMs: Math.round(performance.now() - started), targets: all };
}

export const DEFAULT_RETRIES = 3;

/** 0.5 s, 1 s, 2 s, … (capped at 30 s) with a little jitter so targets do not retry in step; never less than the server asked for. */
export function retryPause(attempt: number, retryAfterMs: unknown): number {
  const grown = Math.min(500 * 2 ** (attempt - 1), 30_000) + Math.random() * 250;
  return Math.round(Math.max(grown, typeof retryAfterMs === 'number' ? retryAfterMs : 0));
}

/** The fleet's targets as the options select them. */
export function selectTargets(base: ResolvedConfig, overrides: ConfigOverrides, options: Omit<TargetSelection, 'cwd'>): Promise<FleetTarget[]> {
  return fleetTargets(base, { targetsFile: options.targetsFile, groups: options.groups, cwd: overrides.cwd ?? process.cwd() });
}

/** `counts` over `outcomes` (each command has its own), every one present even at 0. */
export function countOutcomes<K extends TargetOutcome>(targets: readonly TargetResult[], outcomes: readonly K[]): Record<K, number> {
  const counts = Object.fromEntries(outcomes.map((o) => [o, 0])) as Record<K, number>;
  for (const target of targets) if (target.outcome in counts) counts[target.outcome as K]++;
  return counts;
}

/** The project's config, for its fleet: the fleet needs no single `database` (a named environment may have none). */
export function fleetConfig(overrides: ConfigOverrides): Promise<ResolvedConfig> {
  return resolveConfig({ ...overrides, url: overrides.url ?? ':memory:', d1: undefined, remote: undefined, persistTo: undefined });
}

/**
 * The config each target runs with: the project's, with the target as the
 * database. Resolved once per kind of database (the lint dialect follows the
 * URL), not once per target: a fleet of a thousand loads the config file once or twice.
 */
export function configsByScheme(overrides: ConfigOverrides): (target: FleetTarget) => Promise<ResolvedConfig> {
  const byScheme = new Map<string, Promise<ResolvedConfig>>();
  return async (target) => {
    const key = target.url.scheme;
    if (!byScheme.has(key)) byScheme.set(key, resolveConfig({ ...overrides, url: target.source, d1: undefined, remote: undefined, persistTo: undefined }));
    const config = await byScheme.get(key)!;
    return Object.freeze({ ...config, database: target.url, databaseSource: 'flag' as const });
  };
}

/** The --concurrency given, or the smallest default among the targets' engines. */
export function fleetLimit(targets: readonly FleetTarget[], given: number | undefined): number {
  if (given !== undefined && (!Number.isInteger(given) || given < 1)) throw new CairnError('USAGE', `concurrency must be a positive whole number, got ${String(given)}`);
  return given ?? (targets.length > 0 ? Math.min(...targets.map((t) => fleetConcurrency(t.url))) : 1);
}

function canaryTargets(targets: readonly FleetTarget[], canary: number | string | undefined, config: ResolvedConfig): FleetTarget[] {
  if (canary === undefined) return [];
  if (typeof canary === 'number') {
    if (!Number.isInteger(canary) || canary < 1) throw new CairnError('USAGE', `--canary must be a positive whole number or a group's name, got ${String(canary)}`);
    return targets.slice(0, canary);
  }
  const chosen = targets.filter((t) => t.group === canary);
  if (chosen.length === 0) {
    const groups = [...new Set(targets.map((t) => t.group))];
    throw new CairnError('USAGE', `--canary ${canary}: no target of this run is in a group of that name`, { hint: `groups in this run: ${groups.join(', ')}${config.fleet ? '' : ' (cairn.config.ts has no fleet groups)'}` });
  }
  return chosen;
}
