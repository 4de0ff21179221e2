import type { ResolvedConfig } from '../config/load.js';
import { parseDatabaseUrl } from '../config/url.js';
import { replayed } from '../replay/drift.js';
import { isCairnError } from '../errors.js';
import type { CairnEvent } from '../core/events.js';
import { assertHistoryIntact, chooseRollback } from '../core/planner.js';
import { withSession } from '../core/session.js';
import { bookkeepingTables } from '../core/tracking.js';
import { down, up, type RunResult } from '../core/up.js';
import { scratchKey } from '../drivers/index.js';
import { lintProject, type LintReport } from '../lint/index.js';
import { diffSnapshots, type Snapshot } from '../drivers/snapshot.js';
import { wranglerCompanion } from '../wrangler/table.js';
import type { FleetTarget } from './targets.js';
import type { FleetEvent, FleetJob, TargetError, TargetOutcome, TargetResult } from './types.js';

/**
 * Expected schemas already replayed, by engine and applied history: tenants
 * that share a history (nearly all of them) share one replay. Content-keyed
 * (versions and checksums), so it is never stale; one per thread.
 */
export type ReplayCache = Map<string, Promise<Snapshot>>;

/** Lint reports already made, by dialect settings, files and the versions linted: what `up` checks is the same on every target that has the same pending files. One per thread. */
export type LintCache = Map<string, Promise<LintReport>>;

export interface JobContext {
  readonly signal?: AbortSignal | undefined;
  readonly replays: ReplayCache;
  readonly lints: LintCache;
}

/** lintProject, remembered in `cache` (content-keyed: every file's version and checksum, the lint settings, the selection). */
function rememberingLinter(cache: LintCache): typeof lintProject {
  return (migrations, config, selected) => {
    const key = JSON.stringify([config, migrations.map((m) => `${m.version}:${m.checksum}:${m.file}`), selected ? [...selected].sort() : null]);
    let report = cache.get(key);
    if (!report) {
      report = lintProject(migrations, config, selected);
      cache.set(key, report);
      report.catch(() => cache.delete(key));
    }
    return report;
  };
}

/** One target's part of a fleet command; whatever goes wrong becomes its result, never the fleet's exception. */
export async function runJob(job: FleetJob, target: FleetTarget, config: ResolvedConfig, context: JobContext, onEvent: (event: FleetEvent) => void): Promise<TargetResult> {
  const started = performance.now();
  const relay = (event: CairnEvent) => onEvent({ type: 'target-event', target: target.name, event });
  const done = (outcome: TargetOutcome, fields: Partial<Pick<TargetResult, 'applied' | 'rolledBack' | 'differences'>>, error: TargetError | null = null): TargetResult => ({
    target: target.name,
    group: target.group,
    outcome,
    applied: fields.applied ?? [],
    ...(fields.rolledBack ? { rolledBack: fields.rolledBack } : {}),
    ...(fields.differences ? { differences: fields.differences } : {}),
    durationMs: Math.round(performance.now() - started),
    error,
  });
  try {
    switch (job.kind) {
      case 'up': {
        const result = await withSession(config, { write: true, onEvent: relay, signal: context.signal, companion: wranglerCompanion }, (session) => up(session, { to: job.to, unsafe: job.unsafe, noBackup: job.noBackup, backupRows: job.backupRows, signal: context.signal, linter: rememberingLinter(context.lints) }));
        const applied = stepNames(result);
        const failure = migrationFailure(result, 'up');
        return failure ? done('failed', { applied }, failure) : done(applied.length > 0 ? 'applied' : 'up-to-date', { applied });
      }
      case 'down': {
        // Nothing newer than --to: said without creating a history table (or a database) where there is none.
        const needed = await withSession(config, { write: false, onEvent: relay, companion: wranglerCompanion }, async (session) => chooseRollback(session.statuses, { to: job.to }).length > 0);
        if (!needed) return done('unchanged', { rolledBack: [] });
        const result = await withSession(config, { write: true, onEvent: relay, signal: context.signal, companion: wranglerCompanion }, (session) => down(session, { to: job.to, signal: context.signal }));
        const rolledBack = stepNames(result);
        const failure = migrationFailure(result, 'down');
        // Another run may have rolled it back between the look and the lock: then there was nothing left to do.
        return failure ? done('failed', { rolledBack }, failure) : done(rolledBack.length > 0 ? 'rolled-back' : 'unchanged', { rolledBack });
      }
      case 'drift': {
        const differences = await withSession(config, { write: false, onEvent: relay, companion: wranglerCompanion }, async (session) => {
          assertHistoryIntact(session.statuses);
          const applied = session.statuses.filter((s) => s.state === 'applied').map((s) => s.migration!);
          const exclude = bookkeepingTables(config);
          const like = job.scratchUrl ? parseDatabaseUrl(job.scratchUrl, config.root) : config.database;
          const key = `${scratchKey(like)}\n${exclude.join(',')}\n${applied.map((m) => `${m.version}:${m.checksum}`).join(',')}`;
          // The first target of a history replays it; the others wait for that replay. A failed replay is not kept.
          let expected = context.replays.get(key);
          if (!expected) {
            expected = replayed(applied, config.table, like, exclude);
            context.replays.set(key, expected);
            expected.catch(() => context.replays.delete(key));
          }
          const live = await session.driver.snapshot({ exclude });
          return diffSnapshots(await expected, live);
        });
        return done(differences.length > 0 ? 'drifted' : 'in-sync', { differences });
      }
    }
  } catch (error) {
    const known = isCairnError(error) ? error : null;
    const applied = known && Array.isArray(known.details.applied) ? (known.details.applied as string[]) : [];
    return done('failed', { applied }, known ? { code: known.code, message: known.message, hint: known.hint, details: known.details } : { code: 'INTERNAL', message: (error as Error).message ?? String(error), details: {} });
  }
}

function stepNames(result: RunResult): string[] {
  return result.applied.map((step) => `${step.version}_${step.name}`);
}

function migrationFailure(result: RunResult, direction: 'up' | 'down'): TargetError | null {
  const failure = result.errors[0];
  if (!failure) return null;
  const again = direction === 'up' ? '`cairn fleet up`' : '`cairn fleet down --to …`';
  return {
    code: 'MIGRATION_FAILED',
    message: `${failure.file}:${failure.line}:${failure.column}: ${failure.message}${failure.engineCode ? ` (${failure.engineCode})` : ''}`,
    hint: failure.rolledBack ? `${failure.version}_${failure.name} was rolled back whole on this target; fix the cause and run ${again} again` : `${failure.version}_${failure.name} ran outside a transaction and is recorded as failed: finish it by hand, \`cairn repair --url …\`, then ${again}`,
    details: { version: failure.version, name: failure.name, file: failure.file, line: failure.line, engineCode: failure.engineCode, rolledBack: failure.rolledBack },
  };
}
