import { setTimeout as sleep } from 'node:timers/promises';
import { StatementError, type Driver, type SqlCommand } from '../../drivers/types.js';
import type { Migration, Section } from '../../source/migration.js';
import { CairnError } from '../../errors.js';
import { interrupted } from '../interrupt.js';
import { fail, type Direction } from '../failure.js';
import type { StepContext } from '../migrator.js';
import type { AppliedRecord } from '../tracking.js';
import { batchesOf, nextBatchSize, rangeSql, type BatchPlan } from '../../source/batch.js';

/**
 * Runs a migration that has `-- cairn:batch` statements. Such a file is not
 * one transaction: each plain statement commits on its own, and a batched
 * one commits one key range at a time, re-evaluating its WHERE on the rows of
 * that range. Every commit carries the checkpoint (which statement, the last
 * key done, rows so far) into the history row, which says `running` until the
 * end: a process killed at any moment leaves a checkpoint that matches what
 * committed, and the next `up` goes on from there, never redoing or skipping a
 * range. A down runs the same way but keeps no checkpoint (run it again to
 * finish one that was interrupted).
 */
export interface BatchProgress {
  /** Index of the statement being run (those before it are done). */
  readonly statement: number;
  /** The last key done of that statement, null before its first batch. */
  readonly key: readonly unknown[] | null;
  /** Rows of that statement's key ranges done so far. */
  readonly rows: number;
  /** Rows the statement's table had when it started (for a percentage). */
  readonly total: number | null;
  /** The statement's line, for `status`. */
  readonly line: number;
}

export async function runBatchedStep(context: StepContext, migration: Migration, direction: Direction, section: Section, record: AppliedRecord, elapsed: () => number): Promise<void> {
  const { driver, tracking } = context;
  const { batches, problems } = batchesOf(migration, section);
  if (problems.length > 0) {
    throw new CairnError('SOURCE', `${section.file} has ${problems.length === 1 ? 'a misplaced batch directive' : `${problems.length} problems with batch directives`}:\n${problems.map((p) => `  ${section.file}:${p.line}: ${p.message} (${p.fix})`).join('\n')}`, {
      hint: 'fix the directive; nothing of this migration was applied',
      details: { file: section.file, problems },
    });
  }
  const resumed = direction === 'up' ? (await tracking.read()).find((r) => r.version === migration.version && r.state === 'running') : undefined;
  let progress: BatchProgress = (resumed?.details.progress as BatchProgress | undefined) ?? { statement: 0, key: null, rows: 0, total: null, line: section.statements[0]?.line ?? section.firstLine };
  const base = { ...record.details, batched: true };
  const checkpoint = (next: BatchProgress): SqlCommand[] => (direction === 'up' ? [tracking.updateDetails(migration.version, { ...base, progress: next })] : []);
  if (resumed) {
    const where = progress.key ? ` after key ${JSON.stringify(progress.key)} (${progress.rows} rows done)` : '';
    context.onEvent({ type: 'notice', message: `resuming ${migration.version}_${migration.name}, interrupted at ${section.file}:${progress.line}${where}` });
  } else if (direction === 'up') {
    await driver.atomic([tracking.insert({ ...record, state: 'running', details: { ...base, progress } })]);
  }

  for (let index = progress.statement; index < section.statements.length; index++) {
    const statement = section.statements[index]!;
    const plan = batches.get(index);
    const from = progress.statement === index ? progress : { statement: index, key: null, rows: 0, total: null, line: statement.line };
    try {
      if (await interrupted(context.signal)) throw stopped(index);
      if (plan) await runBatches(context, migration, section, plan, from, checkpoint);
      else await driver.atomic([{ sql: statement.sql }, ...checkpoint({ statement: index + 1, key: null, rows: 0, total: null, line: section.statements[index + 1]?.line ?? statement.line })]);
    } catch (error) {
      // Ctrl-C: the batch in hand rolled back, the ones before are checkpointed; the record stays `running` and the next `up` resumes.
      if (context.signal?.aborted) throw fail(migration, direction, section, stopped(index), true);
      const failed = fail(migration, direction, section, error instanceof StatementError ? new StatementError(index, error.message, error.position, error.engineCode, { cause: error.cause }) : error, false);
      if (direction === 'up') {
        const { file, line, message } = failed.failure;
        const details = { ...base, file, line, direction, progress: (await tracking.read()).find((r) => r.version === migration.version)?.details.progress ?? from };
        await driver.atomic([tracking.finish(migration.version, { state: 'failed', durationMs: elapsed(), error: message, details })]);
      }
      throw failed;
    }
    progress = { statement: index + 1, key: null, rows: 0, total: null, line: statement.line };
  }
  const companions = context.companions?.({ version: migration.version, file: migration.file }, direction) ?? [];
  await driver.atomic([
    direction === 'up' ? tracking.finish(migration.version, { state: 'applied', durationMs: elapsed(), error: null, details: base }) : tracking.delete(migration.version),
    ...companions,
  ]);
}

/** One statement's key ranges, from the checkpoint on. */
async function runBatches(context: StepContext, migration: Migration, section: Section, plan: BatchPlan, from: BatchProgress, checkpoint: (next: BatchProgress) => SqlCommand[]): Promise<void> {
  const { driver } = context;
  const keys = await keyOf(driver, plan, section);
  const p = (n: number) => driver.flavor.param(n);
  const columns = keys.map((k, i) => `${k} AS ${driver.flavor.quoteIdentifier(`_k${i}`)}`).join(', ');
  const keySql = keys.length === 1 ? keys[0]! : `(${keys.join(', ')})`;
  const tuple = (offset: number) => (keys.length === 1 ? p(offset + 1) : `(${keys.map((_, i) => p(offset + i + 1)).join(', ')})`);
  const after = (key: readonly unknown[] | null) => (key ? { sql: ` WHERE ${keySql} > ${tuple(0)}`, params: key } : { sql: '', params: [] as unknown[] });
  let key = from.key;
  let rows = from.rows;
  let batches = 0;
  const total = from.total ?? rows + Number((await driver.query<{ n: number | string }>({ sql: `SELECT count(*) AS n FROM ${plan.statement.tableSql}${after(key).sql}`, params: after(key).params }))[0]?.n ?? 0);
  const started = performance.now();
  const event = (finished: boolean) =>
    context.onEvent({ type: 'progress', version: migration.version, name: migration.name, file: section.file, line: plan.line, rows, total, batches, elapsedMs: Math.round(performance.now() - started), done: finished });
  event(false);
  const bound = plan.options.maxLockWaitMs !== null ? driver.flavor.lockTimeout : undefined;
  if (plan.options.maxLockWaitMs !== null && !bound) context.onEvent({ type: 'notice', message: `${section.file}:${plan.line}: maxLockWait has no effect on this database (it cannot bound a lock wait per transaction); batches wait as any statement does` });
  // Settings for the batch's own transaction: its lock wait, and a commit that need not wait for the disk (it stays atomic with its checkpoint).
  const prelude = [...(bound ? [{ sql: bound.set(plan.options.maxLockWaitMs!) }] : []), ...(driver.flavor.relaxedCommit ? [{ sql: driver.flavor.relaxedCommit }] : [])];
  let size = plan.options.size;
  for (;;) {
    // A batch's time, for targetMs: finding its range and its transaction.
    const began = performance.now();
    const range = after(key);
    const from = `FROM ${plan.statement.tableSql}${range.sql}`;
    // The range's upper key: the size-th key after the checkpoint; past the end, the last key (and how many are left).
    let found = await driver.query<Record<string, unknown>>({ sql: `SELECT ${columns} ${from} ORDER BY ${keys.join(', ')} LIMIT 1 OFFSET ${size - 1}`, params: range.params });
    let count = size;
    if (found.length === 0) {
      found = await driver.query<Record<string, unknown>>({ sql: `SELECT ${columns} ${from} ORDER BY ${keys.map((k) => `${k} DESC`).join(', ')} LIMIT 1`, params: range.params });
      if (found.length === 0) break;
      count = Number((await driver.query<{ n: number | string }>({ sql: `SELECT count(*) AS n ${from}`, params: range.params }))[0]?.n ?? 0);
    }
    const upper = keys.map((_, i) => found[0]![`_k${i}`]);
    const sql = rangeSql(plan.statement, keySql, key ? tuple(0) : null, tuple(key ? keys.length : 0));
    const next: BatchProgress = { statement: plan.index, key: upper, rows: rows + count, total, line: plan.line };
    await withRetry(context, plan, () => driver.atomic([...prelude, { sql, params: [...(key ?? []), ...upper] }, ...checkpoint(next)]));
    key = upper;
    rows += count;
    batches++;
    event(false);
    if (count < size) break;
    if (plan.options.targetMs !== null) size = nextBatchSize(size, count, performance.now() - began, plan.options.targetMs);
    if (await interrupted(context.signal)) throw stopped(plan.index);
    if (plan.options.pauseMs > 0) await sleep(plan.options.pauseMs);
  }
  event(true);
}

const RETRIES = 8;

/** A batch that gave way to a lock held too long (maxLockWait) runs again, after a growing pause; the last failure is the statement's. */
async function withRetry(context: StepContext, plan: BatchPlan, work: () => Promise<void>): Promise<void> {
  const code = context.driver.flavor.lockTimeout?.code;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (plan.options.maxLockWaitMs === null || !(error instanceof StatementError) || error.engineCode !== code || attempt > RETRIES || context.signal?.aborted) throw error;
      const pause = Math.min(100 * 2 ** (attempt - 1), 5000);
      context.onEvent({ type: 'notice', message: `line ${plan.line}: a batch waited more than ${plan.options.maxLockWaitMs} ms for a lock and gave way; retry ${attempt} of ${RETRIES} in ${pause} ms` });
      await sleep(pause);
    }
  }
}

function stopped(index: number): StatementError {
  return new StatementError(index, 'interrupted between batches: the batches done are kept, and the next `cairn up` resumes from the last one', undefined, undefined);
}

/** The key to walk: the primary key (or a unique one), else the engine's row key (SQLite's rowid). */
async function keyOf(driver: Driver, plan: BatchPlan, section: Section): Promise<string[]> {
  const shape = await driver.backup?.describe(plan.statement.table);
  if (!shape) {
    throw new StatementError(plan.index, `cannot run in batches: table ${plan.statement.tableSql} ${driver.backup ? 'does not exist' : 'cannot be described on this database'}`, undefined, undefined);
  }
  if (shape.key.length > 0) return shape.key.map((column) => driver.flavor.quoteIdentifier(column));
  if (driver.capabilities.rowKey) return [driver.capabilities.rowKey];
  throw new StatementError(plan.index, `cannot run in batches: table ${plan.statement.tableSql} has no primary or unique key to walk (${section.file}:${plan.line})`, undefined, undefined);
}
