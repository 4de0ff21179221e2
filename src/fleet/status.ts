import { setTimeout as sleep } from 'node:timers/promises';
import type { ConfigOverrides } from '../config/load.js';
import { isCairnError } from '../errors.js';
import { withSession } from '../core/session.js';
import { readProjectMigrations } from '../source/files.js';
import { compareVersions } from '../source/version.js';
import { readLastRun } from './last-run.js';
import { runBounded } from './pool.js';
import { fleetTargets, type TargetSelection } from './targets.js';
import { DEFAULT_RETRIES, retryPause } from './run.js';
import { configsByScheme, fleetConfig, fleetLimit } from './up.js';
import { wranglerCompanion } from '../wrangler/table.js';

/**
 * `up-to-date`: nothing pending. `behind`: something pending, nothing wrong.
 * `failed`: behind, and the last `fleet up` failed here; or its history has a
 * failed, edited or deleted migration (every `up` refuses until it is
 * repaired); or it cannot be read. `locked`: a migration holds its lock now.
 */
export type TargetState = 'up-to-date' | 'behind' | 'failed' | 'locked';

export interface TargetStatus {
  readonly target: string;
  readonly group: string;
  readonly state: TargetState;
  /** Versions applied here. */
  readonly applied: number;
  /** Versions still to apply here, oldest first. */
  readonly pending: readonly string[];
  /** Newest applied version, or null. */
  readonly latest: string | null;
  /** Why it failed (the last run's error, the history problem, or why it could not be read); who holds the lock. */
  readonly reason: string | null;
}

export interface FleetStatusReport {
  readonly total: number;
  /** Each migration file, with how many targets have it applied. */
  readonly versions: readonly { readonly version: string; readonly name: string; readonly applied: number }[];
  readonly counts: Readonly<Record<TargetState, number>>;
  readonly targets: readonly TargetStatus[];
}

/** Reads every target's history (read-only: creates no database and no table), at most `concurrency` at once. */
export async function fleetStatus(overrides: ConfigOverrides, options: Omit<TargetSelection, 'cwd'> & { readonly concurrency?: number | undefined } = {}): Promise<FleetStatusReport> {
  const base = await fleetConfig(overrides);
  const targets = await fleetTargets(base, { ...options, cwd: overrides.cwd ?? process.cwd() });
  const configFor = configsByScheme(overrides);
  const lastRun = readLastRun(base.root);
  const found = new Map<string, TargetStatus>();
  const appliedCount = new Map<string, number>();

  await runBounded(targets, fleetLimit(targets, options.concurrency), async (target) => {
    const entry = (state: TargetState, reason: string | null, applied: string[] = [], pending: string[] = []): TargetStatus => ({
      target: target.name,
      group: target.group,
      state,
      applied: applied.length,
      pending,
      latest: applied.sort(compareVersions).at(-1) ?? null,
      reason,
    });
    try {
      const config = await configFor(target);
      const status = await withTransientRetries(() => withSession(config, { write: false, onEvent: () => undefined, companion: wranglerCompanion }, async (session) => {
        const applied = session.statuses.filter((s) => s.state === 'applied' || s.state === 'changed').map((s) => s.version);
        for (const version of applied) appliedCount.set(version, (appliedCount.get(version) ?? 0) + 1);
        const pending = session.statuses.filter((s) => s.state === 'pending').map((s) => s.version);
        const problem = session.statuses.find((s) => s.state === 'failed' || s.state === 'changed' || s.state === 'missing');
        const holder = (await session.driver.lockHolder?.(config.table)) ?? null;
        if (holder) return entry('locked', `held by ${holder}`, applied, pending);
        if (problem) return entry('failed', `${problem.version}_${problem.name} is ${problem.state}${problem.record?.error ? `: ${problem.record.error}` : ''} (\`cairn validate --url …\` explains it)`, applied, pending);
        const last = lastRun[target.name];
        if (pending.length > 0 && last?.outcome === 'failed' && last.error) return entry('failed', `last fleet up (${last.at}): ${last.error.code}: ${last.error.message}`, applied, pending);
        return entry(pending.length > 0 ? 'behind' : 'up-to-date', null, applied, pending);
      }));
      found.set(target.name, status);
    } catch (error) {
      found.set(target.name, entry('failed', isCairnError(error) ? `${error.code}: ${error.message}` : (error as Error).message));
    }
  }, () => false);

  const statuses = targets.map((t) => found.get(t.name)!);
  const counts = { 'up-to-date': 0, behind: 0, failed: 0, locked: 0 };
  for (const status of statuses) counts[status.state]++;
  const versions = readProjectMigrations(base).map((m) => ({ version: m.version, name: m.name, applied: appliedCount.get(m.version) ?? 0 }));
  return { total: targets.length, versions, counts, targets: statuses };
}

/** A read that failed for a passing reason (a remote API's 429/5xx) is read again, as `fleet up` runs a target again: reading is always safe to repeat. */
async function withTransientRetries<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (error) {
      if (!(isCairnError(error) && error.details.transient === true) || attempt > DEFAULT_RETRIES) throw error;
      await sleep(retryPause(attempt, error.details.retryAfterMs));
    }
  }
}
