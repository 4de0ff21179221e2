import { setTimeout as sleep } from 'node:timers/promises';
import type { StatementLockConfig } from '../config/load.js';
import type { Driver, SqlCommand } from '../drivers/types.js';
import { StatementError } from '../drivers/types.js';
import { sectionOf, type Migration, type Section } from '../source/migration.js';
import { runBatchedStep } from './batch/run.js';
import { runScriptStep } from './script/run.js';
import { hasBatches } from '../source/batch.js';
import { CairnError } from '../errors.js';
import { assertionFailure, checkBeforeRunning, guardCommands } from './assertions.js';
import type { CairnEvent } from './events.js';
import { committedDespiteNoAnswer, isNoAnswer } from './lost-answer.js';
import { historyRecord, type AppliedRecord, type TrackingTable } from './tracking.js';

/**
 * Runs one migration step. A transactional step sends its statements and its
 * history write as one atomic unit (a transaction, or a batch where the engine
 * only has batches), so a crash leaves it wholly applied and recorded or not
 * at all. A step that cannot be atomic (`-- cairn:no-transaction`, or an
 * engine whose DDL does not roll back) is recorded `running` first, then
 * `applied` or `failed`, so a half-done one is visible and blocks the next `up`.
 */
export type { Direction, MigrationFailure } from './failure.js';
export { fail, StepFailed } from './failure.js';
import { fail, StepFailed, type Direction } from './failure.js';

export interface StepResult {
  readonly version: string;
  readonly name: string;
  readonly file: string;
  readonly direction: Direction;
  readonly durationMs: number;
}

export interface StepContext {
  readonly driver: Driver;
  readonly tracking: TrackingTable;
  readonly appliedBy: string;
  readonly onEvent: (event: CairnEvent) => void;
  /**
   * Extra commands that belong to a step's atomic unit, e.g. the row in
   * wrangler's `d1_migrations` (wrangler/table.ts). They commit with the step or not at all.
   */
  /** Ctrl-C: a batched step stops after the batch in hand, its checkpoint kept (core/batch/run.ts). */
  readonly signal?: AbortSignal | undefined;
  /**
   * config `statementLockTimeout`: where the engine bounds a lock wait per transaction (flavor.lockTimeout),
   * each transactional step starts by setting it, and a step that gave way is rolled back and run again.
   */
  readonly statementLock?: StatementLockConfig | null | undefined;
  readonly companions?: ((step: { readonly version: string; readonly file: string | null }, direction: Direction) => readonly SqlCommand[]) | undefined;
  /**
   * What an up's `-- cairn:assert` lines do: guard the step (default: a false one applies nothing), or
   * nothing, in a scratch database that holds no data (replay/scratch.ts: verify reads them itself).
   */
  readonly assertions?: 'guard' | 'skip' | undefined;
}

/** `details` go into the history row (e.g. that it was applied with --unsafe, and over which findings). */
export async function runStep(context: StepContext, migration: Migration, direction: Direction, details: Record<string, unknown> = {}): Promise<StepResult> {
  const section = sectionOf(migration, direction)!;
  const batched = hasBatches(migration);
  const atomic = migration.transaction && context.driver.capabilities.transactionalDdl && !batched;
  context.onEvent({ type: 'start', direction, version: migration.version, name: migration.name, file: section.file, atomic });
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const record = historyRecord(migration, context.appliedBy, 'run', { details });
  // A step that is not one unit cannot carry its guards inside: they are read first, before anything of it runs.
  if (!atomic && direction === 'up' && context.assertions !== 'skip') await checkBeforeRunning(context.driver, migration, (failure) => new StepFailed(failure));
  if (migration.script) await runScriptStep(context, migration, direction, record, elapsed);
  else if (batched) await runBatchedStep(context, migration, direction, section, record, elapsed);
  else if (atomic) await runAtomic(context, migration, direction, section, record, elapsed);
  else await runUnguarded(context, migration, direction, section, record, elapsed);
  const result = { version: migration.version, name: migration.name, file: section.file, direction, durationMs: elapsed() };
  context.onEvent({ type: 'done', ...result });
  return result;
}

/** How big a shared batch may grow (engines cap a batch's statements and size). */
export const GROUP_LIMITS = { steps: 50, statements: 100, chars: 256 * 1024 };

/**
 * On an engine whose only atomic unit is a batch (D1), each unit is a round
 * trip, so consecutive atomic steps may share one: each step's statements
 * with its own history row, all committing together. How many, from `start`:
 * up to GROUP_LIMITS, never across a step that cannot be atomic or that is not
 * `groupable` (one that needs a backup first). Elsewhere (and for one step) 1: run it alone.
 */
export function stepGroup(driver: Driver, migrations: readonly Migration[], start: number, direction: Direction, groupable: (migration: Migration) => boolean = () => true): readonly Migration[] {
  if (!driver.capabilities.batchOnlyAtomicity || !driver.capabilities.transactionalDdl) return migrations.slice(start, start + 1);
  const group: Migration[] = [];
  let statements = 0;
  let chars = 0;
  for (const migration of migrations.slice(start, start + GROUP_LIMITS.steps)) {
    if (!migration.transaction || hasBatches(migration) || migration.script || !groupable(migration)) break;
    const section = sectionOf(migration, direction)!;
    statements += section.statements.length + 1;
    chars += section.statements.reduce((sum, s) => sum + s.sql.length, 0);
    if (group.length > 0 && (statements > GROUP_LIMITS.statements || chars > GROUP_LIMITS.chars)) break;
    group.push(migration);
  }
  return group.length > 0 ? group : migrations.slice(start, start + 1);
}

/**
 * Runs a group from `stepGroup` as one atomic unit. Null when the database
 * rejected it: then nothing of the group remains, and the caller runs its
 * steps one by one, so that the steps before the failing one stay applied and
 * the failure is reported exactly as `runStep` reports it.
 */
export async function runStepGroup(context: StepContext, migrations: readonly Migration[], direction: Direction, details: (migration: Migration) => Record<string, unknown>): Promise<StepResult[] | null> {
  const { driver, tracking } = context;
  const started = performance.now();
  const commands = migrations.flatMap((migration) => {
    const section = sectionOf(migration, direction)!;
    const history = direction === 'up' ? tracking.insert(historyRecord(migration, context.appliedBy, 'run', { details: details(migration) })) : tracking.delete(migration.version);
    return [...guardsOf(context, migration, direction), ...section.statements.map((s) => ({ sql: s.sql })), history, ...companions(context, migration, direction)];
  });
  try {
    await driver.atomic(commands);
  } catch (error) {
    if (error instanceof StatementError) return null;
    if (!isNoAnswer(error)) throw error;
    // Not committed: the caller sends the steps again, one by one.
    if (!(await committedDespiteNoAnswer(context, migrations, direction, error))) return null;
    context.onEvent({ type: 'notice', message: `${answeredBy(driver)} did not answer, but the history shows ${migrations.map((m) => `${m.version}_${m.name}`).join(', ')} committed: not sending ${migrations.length > 1 ? 'them' : 'it'} again` });
  }
  const share = Math.round((performance.now() - started) / migrations.length);
  // The rows went in before anyone knew how long the batch would take: give each its share (one more round trip per group).
  if (direction === 'up') await recordDurations(context, migrations, share);
  return migrations.map((migration) => {
    const section = sectionOf(migration, direction)!;
    context.onEvent({ type: 'start', direction, version: migration.version, name: migration.name, file: section.file, atomic: true });
    const result = { version: migration.version, name: migration.name, file: section.file, direction, durationMs: share };
    context.onEvent({ type: 'done', ...result });
    return result;
  });
}

async function runAtomic(context: StepContext, migration: Migration, direction: Direction, section: Section, record: AppliedRecord, elapsed: () => number): Promise<void> {
  const { driver, tracking } = context;
  const history =
    direction === 'up'
      ? () => tracking.insert({ ...record, durationMs: elapsed() })
      : tracking.delete(migration.version);
  const bound = context.statementLock ? driver.flavor.lockTimeout : undefined;
  const lockWait = bound ? [{ sql: bound.set(context.statementLock!.timeoutMs) }] : [];
  const guards = guardsOf(context, migration, direction);
  let resent = false;
  for (let attempt = 1; ; attempt++) {
    try {
      await driver.atomic([...lockWait, ...guards, ...section.statements.map((s) => ({ sql: s.sql })), history, ...companions(context, migration, direction)]);
      break;
    } catch (error) {
      if (isNoAnswer(error)) {
        const name = `${migration.version}_${migration.name}`;
        if (await committedDespiteNoAnswer(context, [migration], direction, error)) {
          context.onEvent({ type: 'notice', message: `${answeredBy(driver)} did not answer, but the history shows ${name} committed: not sending it again` });
          break;
        }
        // The history says it did not commit: sending it again cannot apply it twice. Once.
        if (resent) throw error;
        resent = true;
        context.onEvent({ type: 'notice', message: `${answeredBy(driver)} did not answer, and the history shows ${name} did not commit: sending it again` });
        continue;
      }
            // The database did not answer (a remote API's 429/5xx): whether the unit committed is unknown, so it is not the migration's failure.
      if (error instanceof CairnError && error.details.transient === true) throw error;
      // A guard stopped it: the unit rolled back before the first statement of the file ran.
      const guard = error instanceof StatementError ? error.index - lockWait.length : -1;
      if (error instanceof StatementError && guard >= 0 && guard < guards.length) throw await assertionFailure(driver, migration, guard, error.message, (failure) => new StepFailed(failure));
      // The SET and the guards came first: indexes past them point at the file's statements.
      const before = lockWait.length + guards.length;
      const shifted = error instanceof StatementError && before > 0 ? withIndex(error, error.index - before) : error;
      const gaveWay = bound !== undefined && shifted instanceof StatementError && shifted.engineCode === bound.code;
      if (!gaveWay) throw fail(migration, direction, section, shifted, true);
      const { timeoutMs, retries, backoffMs } = context.statementLock!;
      const located = fail(migration, direction, section, lockWaitError(shifted, timeoutMs, attempt), true);
      const failed = new StepFailed({ ...located.failure, hint: `the statement is fine, the table was busy: run \`cairn ${direction}\` again when the session holding the lock is done (pg_stat_activity shows it), or raise statementLockTimeout / statementLockRetries in cairn.config` });
      if (attempt > retries || context.signal?.aborted) throw failed;
      const pause = backoffMs * 2 ** (attempt - 1);
      context.onEvent({
        type: 'notice',
        message: `${failed.failure.file}:${failed.failure.line}: waited more than ${timeoutMs} ms for a table lock (statementLockTimeout) and gave way; ${migration.version} was rolled back, retry ${attempt} of ${retries} in ${pause} ms`,
      });
      // Ctrl-C during the pause ends it at once: the step was rolled back, so it fails as it stands.
      await sleep(pause, undefined, { signal: context.signal }).catch(() => undefined);
      if (context.signal?.aborted) throw failed;
    }
  }
  // A batch-only engine built the history row before the batch ran: now the time is known.
  if (direction === 'up' && driver.capabilities.batchOnlyAtomicity) await recordDurations(context, [migration], elapsed());
}

function guardsOf(context: StepContext, migration: Migration, direction: Direction): SqlCommand[] {
  return context.assertions === 'skip' ? [] : guardCommands(context.driver, migration, direction);
}

/** Informational only: a failure to write it must not turn an applied step into a failed one. */
async function recordDurations(context: StepContext, migrations: readonly Migration[], durationMs: number): Promise<void> {
  await context.driver.atomic(migrations.map((migration) => context.tracking.updateDuration(migration.version, durationMs))).catch(() => undefined);
}

async function runUnguarded(context: StepContext, migration: Migration, direction: Direction, section: Section, record: AppliedRecord, elapsed: () => number): Promise<void> {
  const { driver, tracking } = context;
  if (direction === 'up') await driver.atomic([tracking.insert({ ...record, state: 'running' })]);
  for (const [index, statement] of section.statements.entries()) {
    try {
      await driver.query({ sql: statement.sql });
    } catch (error) {
      const failed = fail(migration, direction, section, error instanceof StatementError ? withIndex(error, index) : error, false);
      const { file, line, message } = failed.failure;
      const outcome = { state: 'failed' as const, durationMs: elapsed(), error: message, details: { ...record.details, file, line, direction } };
      // A BEGIN of the file's own may still be open: undo it, so the failure record is not written into it (an error here means none was open).
      await driver.query({ sql: 'ROLLBACK' }).catch(() => undefined);
      // A down that fails half-way leaves the migration neither applied nor rolled back: record that too.
      await driver.atomic([tracking.finish(migration.version, outcome)]);
      throw failed;
    }
  }
  await driver.atomic([
    direction === 'up' ? tracking.finish(migration.version, { state: 'applied', durationMs: elapsed(), error: null, details: record.details }) : tracking.delete(migration.version),
    ...companions(context, migration, direction),
  ]);
}

function companions(context: StepContext, migration: Migration, direction: Direction): readonly SqlCommand[] {
  return context.companions?.({ version: migration.version, file: migration.file }, direction) ?? [];
}

/** Whose answer was lost, as the driver names it (the D1 API), for notices. */
function answeredBy(driver: Driver): string {
  return driver.capabilities.answeredBy ?? 'the database';
}

function withIndex(error: StatementError, index: number): StatementError {
  return new StatementError(index, error.message, error.position, error.engineCode, { cause: error.cause });
}

/** The engine's lock_timeout error, said in Cairn's words: which wait ran out, and how often it was tried. */
function lockWaitError(error: StatementError, timeoutMs: number, attempt: number): StatementError {
  const tries = attempt > 1 ? ` (tried ${attempt} times)` : '';
  const message = `waited more than ${timeoutMs} ms for a lock on a table another session holds, so the migration gave way and was rolled back${tries}: ${error.message} (statementLockTimeout)`;
  return new StatementError(error.index, message, error.position, error.engineCode, { cause: error.cause });
}
