import { resolveConfig, type ConfigOverrides, type ResolvedConfig } from '../config/load.js';
import { CairnError, isCairnError } from '../errors.js';
import type { CairnEvent } from '../core/events.js';
import { confirmWrite, type ConfirmOptions } from '../environments/protection.js';
import { withSession } from '../core/session.js';
import { up } from '../core/up.js';
import { blocksThread, fleetConcurrency } from '../drivers/index.js';
import { recordLastRun, type LastRunEntry } from './last-run.js';
import { runBounded } from './pool.js';
import { threadPool } from './threads.js';
import { fleetTargets, type FleetTarget, type TargetSelection } from './targets.js';
import { wranglerCompanion } from '../wrangler/table.js';

export interface FleetUpOptions extends Omit<TargetSelection, 'cwd'>, ConfirmOptions {
  /** At most this many databases open at once. Default: per engine (drivers' fleetConcurrency), the smallest among the targets'. */
  readonly concurrency?: number | undefined;
  /** Run these first: a number (the first K targets) or a group's name; any failure among them stops the run before the rest. */
  readonly canary?: number | string | undefined;
  /** Go on after a failure and report every one (default: the first failure stops new targets from starting). */
  readonly keepGoing?: boolean | undefined;
  /** As `up`: stop after this version on every target; apply despite lint errors; no backups. */
  readonly to?: string | undefined;
  readonly unsafe?: boolean | undefined;
  readonly noBackup?: boolean | undefined;
  /** Abort (Ctrl-C): no new target starts; running ones are interrupted as `up` is (rolled back, lock released). */
  readonly signal?: AbortSignal | undefined;
  readonly onEvent?: ((event: FleetEvent) => void) | undefined;
}

/** What each target's `up` is told (plain data: it is sent to worker threads). */
export type RunSettings = Pick<FleetUpOptions, 'to' | 'unsafe' | 'noBackup'>;

export type TargetOutcome = 'applied' | 'up-to-date' | 'failed' | 'not-started';

export interface TargetError {
  readonly code: string;
  readonly message: string;
  readonly hint?: string | undefined;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface TargetResult {
  readonly target: string;
  readonly group: string;
  readonly outcome: TargetOutcome;
  /** `0002_add_posts`, … as applied on this target by this run. */
  readonly applied: readonly string[];
  readonly durationMs: number;
  readonly error: TargetError | null;
}

export interface FleetUpResult {
  readonly success: boolean;
  readonly total: number;
  readonly concurrency: number;
  readonly counts: Readonly<Record<TargetOutcome, number>>;
  /** Why targets were left out: a failure (default policy), a failing canary, or an interrupt; null when every target ran. */
  readonly stopped: 'failure' | 'canary' | 'interrupted' | null;
  readonly durationMs: number;
  /** Every target, in fleet order. */
  readonly targets: readonly TargetResult[];
}

/** Progress, as it happens. */
export type FleetEvent =
  | { readonly type: 'fleet-start'; readonly total: number; readonly concurrency: number; readonly canary: number }
  | { readonly type: 'target-start'; readonly target: string; readonly group: string }
  | { readonly type: 'target-done'; readonly result: TargetResult; readonly done: number; readonly total: number; readonly failed: number; readonly perSecond: number }
  /** A target's own events (steps started and done, notices such as a stale lock taken over). */
  | { readonly type: 'target-event'; readonly target: string; readonly event: CairnEvent }
  | { readonly type: 'stopping'; readonly reason: 'failure' | 'canary' | 'interrupted'; readonly target: string | null };

/**
 * `up` on every target: the same runner as for one database (lint check,
 * lock, history table in each), at most `concurrency` open at once. Each
 * target's history says what it needs, so running it again after a failure,
 * a crash or a new tenant finishes what is behind and nothing twice.
 */
export async function fleetUp(overrides: ConfigOverrides, options: FleetUpOptions = {}): Promise<FleetUpResult> {
  const started = performance.now();
  const onEvent = options.onEvent ?? (() => undefined);
  const base = await fleetConfig(overrides);
  const targets = await fleetTargets(base, { targetsFile: options.targetsFile, groups: options.groups, cwd: overrides.cwd ?? process.cwd() });
  // A protected environment is asked once for the whole fleet, not once per database.
  if (targets.length > 0) await confirmWrite({ ...base, database: { ...base.database, display: `${targets.length} fleet target${targets.length === 1 ? '' : 's'}` } }, options, 'Apply pending migrations to');
  const concurrency = fleetLimit(targets, options.concurrency);
  const canary = canaryTargets(targets, options.canary, base);
  const configFor = configsByScheme(overrides);

  const results = new Map<string, TargetResult>();
  let failed = 0;
  let stopped: FleetUpResult['stopped'] = null;
  onEvent({ type: 'fleet-start', total: targets.length, concurrency, canary: canary.length });

  const settings: RunSettings = { to: options.to, unsafe: options.unsafe, noBackup: options.noBackup };
  const threads = concurrency > 1 && targets.some((t) => blocksThread(t.url)) ? threadPool(concurrency) : null;
  const abortThreads = () => threads?.abort();
  options.signal?.addEventListener('abort', abortThreads);
  const runOne = async (target: FleetTarget) => {
    onEvent({ type: 'target-start', target: target.name, group: target.group });
    const config = await configFor(target);
    const result = threads && blocksThread(target.url) ? await threads.run(target, config, settings, onEvent) : await upOne(target, config, { ...settings, signal: options.signal }, onEvent);
    results.set(target.name, result);
    if (result.outcome === 'failed') failed++;
    const seconds = (performance.now() - started) / 1000;
    onEvent({ type: 'target-done', result, done: results.size, total: targets.length, failed, perSecond: seconds > 0 ? results.size / seconds : 0 });
    if (stopped === null && options.signal?.aborted) stop('interrupted', null);
    else if (result.outcome === 'failed' && stopped === null && !options.keepGoing) stop('failure', target.name);
  };
  const stop = (reason: NonNullable<FleetUpResult['stopped']>, target: string | null) => {
    stopped = reason;
    onEvent({ type: 'stopping', reason, target });
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
  recordLastRun(base.root, Object.fromEntries(all.filter((r) => r.outcome !== 'not-started').map((r): [string, LastRunEntry] => [r.target, { outcome: r.outcome as LastRunEntry['outcome'], at: new Date().toISOString(), error: r.error && { code: r.error.code, message: r.error.message } }])));
  const counts = { applied: 0, 'up-to-date': 0, failed: 0, 'not-started': 0 };
  for (const result of all) counts[result.outcome]++;
  return {
    success: counts.failed === 0 && counts['not-started'] === 0,
    total: targets.length,
    concurrency,
    counts,
    stopped,
    durationMs: Math.round(performance.now() - started),
    targets: all,
  };
}

/** The project's config, for its fleet: the fleet needs no single `database` (a named environment may have none). */
export function fleetConfig(overrides: ConfigOverrides): Promise<ResolvedConfig> {
  return resolveConfig({ ...overrides, url: overrides.url ?? ':memory:', d1: undefined, remote: undefined, persistTo: undefined });
}

/** The ordinary single-database `up`, on one target; whatever goes wrong becomes its result, never the fleet's exception. */
export async function upOne(target: FleetTarget, config: ResolvedConfig, options: RunSettings & { readonly signal?: AbortSignal | undefined }, onEvent: (event: FleetEvent) => void): Promise<TargetResult> {
  const started = performance.now();
  const relay = (event: CairnEvent) => onEvent({ type: 'target-event', target: target.name, event });
  const done = (outcome: TargetOutcome, applied: readonly string[], error: TargetError | null): TargetResult => ({ target: target.name, group: target.group, outcome, applied, durationMs: Math.round(performance.now() - started), error });
  try {
    const result = await withSession(config, { write: true, onEvent: relay, signal: options.signal, companion: wranglerCompanion }, (session) => up(session, { to: options.to, unsafe: options.unsafe, noBackup: options.noBackup, signal: options.signal }));
    const applied = result.applied.map((step) => `${step.version}_${step.name}`);
    const failure = result.errors[0];
    if (failure) {
      return done('failed', applied, {
        code: 'MIGRATION_FAILED',
        message: `${failure.file}:${failure.line}:${failure.column}: ${failure.message}${failure.engineCode ? ` (${failure.engineCode})` : ''}`,
        hint: failure.rolledBack ? `${failure.version}_${failure.name} was rolled back whole on this target; fix the cause and run \`cairn fleet up\` again` : `${failure.version}_${failure.name} ran outside a transaction and is recorded as failed: finish it by hand, \`cairn repair --url …\`, then \`cairn fleet up\``,
        details: { version: failure.version, name: failure.name, file: failure.file, line: failure.line, engineCode: failure.engineCode, rolledBack: failure.rolledBack },
      });
    }
    return done(applied.length > 0 ? 'applied' : 'up-to-date', applied, null);
  } catch (error) {
    const known = isCairnError(error) ? error : null;
    const applied = known && Array.isArray(known.details.applied) ? (known.details.applied as string[]) : [];
    return done('failed', applied, known ? { code: known.code, message: known.message, hint: known.hint, details: known.details } : { code: 'INTERNAL', message: (error as Error).message ?? String(error), details: {} });
  }
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
