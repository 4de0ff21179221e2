import { setTimeout as sleep } from 'node:timers/promises';
import { resolveCommand, StatementError, type Driver, type SqlCommand, type Transaction } from '../../drivers/types.js';
import type { Migration } from '../../source/migration.js';
import { loadScript } from '../../source/script.js';
import { nextBatchSize } from '../../source/batch.js';
import type { BatchProgress } from '../batch/run.js';
import { CairnError } from '../../errors.js';
import { StepFailed, type Direction } from '../failure.js';
import type { StepContext } from '../migrator.js';
import type { AppliedRecord } from '../tracking.js';
import { tagged, type BatchOptions, type MigrationContext } from './context.js';

/**
 * Runs a TypeScript migration. Two ways, decided before it is imported (source/script.ts):
 *   - one transaction, where the engine has interactive ones: every `ctx.sql`
 *     and the history row commit together, or (a throw, a rejected statement)
 *     nothing does and the history is untouched;
 *   - step by step, when the file calls `ctx.batch`, says `// cairn:no-transaction`,
 *     or the engine only has batches (D1): each `ctx.sql` outside a batch
 *     commits on its own, each batch commits with its checkpoint (the n-th
 *     `ctx.batch` call, the last key done) in the history row, which says
 *     `running` until the end. The next `up` after a crash runs `up(ctx)`
 *     again: batches finished before are skipped, the interrupted one goes on
 *     after its last committed key, and code outside batches runs again (so it
 *     must be idempotent, as `cairn new --ts` says).
 */
export async function runScriptStep(context: StepContext, migration: Migration, direction: Direction, record: AppliedRecord, elapsed: () => number): Promise<void> {
  const { driver } = context;
  const module = await loadScript(migration);
  const work = module[direction];
  if (!work) throw new CairnError('USAGE', `${migration.file} exports no \`down\``, { hint: 'add export async function down(ctx) { … }, or roll back by hand and `cairn repair`' });
  const whole = migration.script!.transaction && driver.capabilities.transactionalDdl;
  if (whole && !driver.transaction) await runQueued(context, migration, direction, record, elapsed, work);
  else if (whole) await runWhole(context, migration, direction, record, elapsed, work);
  else await runStepwise(context, migration, direction, record, elapsed, work);
}

/** A reading statement runs at once even where writes are queued: SELECT, WITH … SELECT, PRAGMA. */
const READS = /^\s*(?:SELECT|WITH|PRAGMA|VALUES|EXPLAIN)\b/i;

/**
 * One atomic unit where the engine only has batches (D1): a reading `ctx.sql`
 * runs at once (it sees the database as it was before this migration), every
 * other one is queued and sent with the history row as one batch at the end,
 * so the migration commits whole or not at all, and a throw sends nothing.
 */
async function runQueued(context: StepContext, migration: Migration, direction: Direction, record: AppliedRecord, elapsed: () => number, work: Work): Promise<void> {
  const { driver, tracking } = context;
  const queue: SqlCommand[] = [];
  const run = async (command: SqlCommand): Promise<unknown[]> => {
    if (READS.test(command.sql)) return driver.query(command);
    queue.push(command);
    return [];
  };
  try {
    await work({
      ...baseContext(context, migration, direction, run),
      batch: () => {
        throw new Error('ctx.batch in a migration that runs as one batch: Cairn did not see a `.batch(` call in the file (call it as ctx.batch(…), so that the file runs batch by batch)');
      },
    } satisfies MigrationContext as never);
    const history = direction === 'up' ? tracking.insert({ ...record, durationMs: elapsed() }) : tracking.delete(migration.version);
    await driver.atomic([...queue, history, ...(context.companions?.({ version: migration.version, file: migration.file }, direction) ?? [])]);
  } catch (error) {
    throw scriptFailure(migration, direction, error, true);
  }
}

type Work = (ctx: never) => unknown;

async function runWhole(context: StepContext, migration: Migration, direction: Direction, record: AppliedRecord, elapsed: () => number, work: Work): Promise<void> {
  const { driver, tracking } = context;
  const bound = context.statementLock ? driver.flavor.lockTimeout : undefined;
  try {
    await driver.transaction!(async (tx) => {
      if (bound) await tx.query({ sql: bound.set(context.statementLock!.timeoutMs) });
      await work({
        ...baseContext(context, migration, direction, (command) => tx.query(command)),
        batch: () => {
          throw new Error('ctx.batch in a migration that runs as one transaction: Cairn did not see a `.batch(` call in the file (call it as ctx.batch(…), so that the file runs batch by batch)');
        },
      } satisfies MigrationContext as never);
      const history = direction === 'up' ? tracking.insert({ ...record, durationMs: elapsed() }) : tracking.delete(migration.version);
      for (const command of [history, ...(context.companions?.({ version: migration.version, file: migration.file }, direction) ?? [])]) await tx.query(resolveCommand(command));
    });
  } catch (error) {
    throw scriptFailure(migration, direction, error, true);
  }
}

async function runStepwise(context: StepContext, migration: Migration, direction: Direction, record: AppliedRecord, elapsed: () => number, work: Work): Promise<void> {
  const { driver, tracking } = context;
  const lines = migration.script!.batchLines;
  const base = { ...record.details, script: true };
  const resumed = direction === 'up' ? (await tracking.read()).find((r) => r.version === migration.version && r.state === 'running') : undefined;
  let progress: BatchProgress = (resumed?.details.progress as BatchProgress | undefined) ?? { statement: 0, key: null, rows: 0, total: null, line: lines[0] ?? 1 };
  const checkpoint = (next: BatchProgress): SqlCommand[] => (direction === 'up' ? [tracking.updateDetails(migration.version, { ...base, progress: next })] : []);
  if (resumed) {
    const where = progress.key ? ` after key ${JSON.stringify(progress.key)} (${progress.rows} rows done)` : '';
    context.onEvent({ type: 'notice', message: `resuming ${migration.version}_${migration.name}: up() runs again, batches before the ${ordinal(progress.statement + 1)} are skipped, that one goes on at ${migration.file}:${progress.line}${where}` });
  } else if (direction === 'up') {
    await driver.atomic([tracking.insert({ ...record, state: 'running', details: { ...base, progress } })]);
  }

  // Inside a batch: the statements go into its transaction (or, batch-only engines, its queue).
  let queue: SqlCommand[] | null = null;
  let tx: Transaction | null = null;
  const run = async (command: SqlCommand): Promise<unknown[]> => {
    if (queue) {
      queue.push(command);
      return [];
    }
    return (tx ?? driver).query(command);
  };
  let calls = 0;
  const ctx: MigrationContext = {
    ...baseContext(context, migration, direction, run),
    batch: async <Row>(table: string, options: BatchOptions, each: (rows: Row[]) => Promise<void>): Promise<void> => {
      const index = calls++;
      if (index < progress.statement) return; // finished before the crash
      const from = index === progress.statement ? progress : { statement: index, key: null, rows: 0, total: null, line: lines[index] ?? 1 };
      await walk(context, migration, table, options, from, checkpoint, async (rows, commit) => {
        if (!driver.transaction) {
          queue = [];
          try {
            await each(rows as Row[]);
            await driver.atomic([...queue, ...commit]);
          } finally {
            queue = null;
          }
          return;
        }
        await driver.transaction(async (batch) => {
          tx = batch;
          try {
            // The batch commits with its checkpoint: its COMMIT need not wait for the disk to stay atomic.
            if (driver.flavor.relaxedCommit) await batch.query({ sql: driver.flavor.relaxedCommit });
            await each(rows as Row[]);
            for (const command of commit) await batch.query(command);
          } finally {
            tx = null;
          }
        });
      });
      progress = { statement: index + 1, key: null, rows: 0, total: null, line: lines[index + 1] ?? lines[index] ?? 1 };
      for (const command of checkpoint(progress)) await driver.query(command);
    },
  };

  try {
    await work(ctx as never);
  } catch (error) {
    // Ctrl-C: the batch in hand rolled back, the ones before are checkpointed; the record stays `running` and the next `up` resumes.
    if (context.signal?.aborted) throw scriptFailure(migration, direction, error, false);
    const failed = scriptFailure(migration, direction, error, false);
    if (direction === 'up') {
      const now = (await tracking.read()).find((r) => r.version === migration.version)?.details.progress ?? progress;
      await driver.atomic([tracking.finish(migration.version, { state: 'failed', durationMs: elapsed(), error: failed.failure.message, details: { ...base, file: migration.file, line: failed.failure.line, direction, progress: now } })]);
    }
    throw failed;
  }
  const companions = context.companions?.({ version: migration.version, file: migration.file }, direction) ?? [];
  await driver.atomic([direction === 'up' ? tracking.finish(migration.version, { state: 'applied', durationMs: elapsed(), error: null, details: base }) : tracking.delete(migration.version), ...companions]);
}

/** One `ctx.batch` call: the table's keys walked from the checkpoint, `size` matching rows at a time. */
async function walk(
  context: StepContext,
  migration: Migration,
  table: string,
  options: BatchOptions,
  from: BatchProgress,
  checkpoint: (next: BatchProgress) => SqlCommand[],
  commitBatch: (rows: Record<string, unknown>[], commit: SqlCommand[]) => Promise<void>,
): Promise<void> {
  const { driver } = context;
  let size = options.size ?? 1000;
  if (!Number.isInteger(size) || size < 1) throw new Error(`ctx.batch('${table}'): size must be a whole number of rows, at least 1 (got ${String(options.size)})`);
  const target = options.targetMs ?? null;
  if (target !== null && !(target > 0)) throw new Error(`ctx.batch('${table}'): targetMs must be a positive number of milliseconds (got ${String(options.targetMs)})`);
  const walked = await keyOf(driver, table);
  const keys = walked.map((k) => k.sql);
  const t = table.split('.').map((part) => driver.flavor.quoteIdentifier(part)).join('.');
  const p = (n: number) => driver.flavor.param(n);
  const keySql = keys.length === 1 ? keys[0]! : `(${keys.join(', ')})`;
  const tuple = keys.length === 1 ? p(1) : `(${keys.map((_, i) => p(i + 1)).join(', ')})`;
  const condition = (key: readonly unknown[] | null) => {
    const parts = [...(key ? [`${keySql} > ${tuple}`] : []), ...(options.where ? [`(${options.where})`] : [])];
    return { sql: parts.length > 0 ? ` WHERE ${parts.join(' AND ')}` : '', params: key ?? [] };
  };
  // Key columns come with `*`; only the engine's row key (rowid) is selected under an alias, and taken off the rows again.
  const rowKey = walked.some((k) => k.column === null);
  const select = rowKey ? `${keys.map((k, i) => `${k} AS ${driver.flavor.quoteIdentifier(`_k${i}`)}`).join(', ')}, *` : '*';
  let key = from.key;
  let rows = from.rows;
  let batches = 0;
  const started = performance.now();
  const first = condition(key);
  const total = from.total ?? rows + Number((await driver.query<{ n: number | string }>({ sql: `SELECT count(*) AS n FROM ${t}${first.sql}`, params: first.params }))[0]?.n ?? 0);
  const event = (done: boolean) =>
    context.onEvent({ type: 'progress', version: migration.version, name: migration.name, file: migration.file, line: from.line, rows, total, batches, elapsedMs: Math.round(performance.now() - started), done });
  event(false);
  for (;;) {
    // A batch's time, for targetMs: reading its rows, your work and the commit.
    const began = performance.now();
    const range = condition(key);
    const found = await driver.query<Record<string, unknown>>({
      sql: `SELECT ${select} FROM ${t}${range.sql} ORDER BY ${keys.join(', ')} LIMIT ${size}`,
      params: range.params,
    });
    if (found.length === 0) break;
    const last = found.at(-1)!;
    const upper = walked.map((k, i) => last[k.column ?? `_k${i}`]);
    if (rowKey) for (const row of found) for (let i = 0; i < keys.length; i++) delete row[`_k${i}`];
    const next: BatchProgress = { statement: from.statement, key: upper, rows: rows + found.length, total, line: from.line };
    await commitBatch(found, checkpoint(next));
    key = upper;
    rows += found.length;
    batches++;
    event(false);
    if (found.length < size) break;
    if (target !== null) size = nextBatchSize(size, found.length, performance.now() - began, target);
    if (context.signal?.aborted) throw new Error('interrupted between batches: the batches done are kept, and the next `cairn up` resumes from the last one');
    if ((options.pauseMs ?? 0) > 0) await sleep(options.pauseMs);
  }
  event(true);
}

/** The key to walk: the primary key (or a unique one), else the engine's row key (SQLite's rowid, `column` null). */
async function keyOf(driver: Driver, table: string): Promise<{ readonly sql: string; readonly column: string | null }[]> {
  const shape = await driver.backup?.describe(table);
  if (!shape) throw new Error(`ctx.batch: table ${table} ${driver.backup ? 'does not exist' : 'cannot be described on this database'}`);
  if (shape.key.length > 0) return shape.key.map((column) => ({ sql: driver.flavor.quoteIdentifier(column), column }));
  if (driver.capabilities.rowKey) return [{ sql: driver.capabilities.rowKey, column: null }];
  throw new Error(`ctx.batch: table ${table} has no primary or unique key to walk`);
}

function baseContext(context: StepContext, migration: Migration, direction: Direction, run: (command: SqlCommand) => Promise<unknown[]>): Omit<MigrationContext, 'batch'> {
  const param = (n: number) => context.driver.flavor.param(n);
  return {
    direction,
    sql: <Row>(strings: TemplateStringsArray, ...values: unknown[]) => run(tagged(strings, values, param)) as Promise<Row[]>,
    raw: <Row>(sql: string, params: readonly unknown[] = []) => run({ sql, params }) as Promise<Row[]>,
    log: (message: string) => context.onEvent({ type: 'notice', message: `${migration.version}_${migration.name}: ${message}` }),
  };
}

/** The error as a step failure, at the line of the migration's own code that the stack names. */
function scriptFailure(migration: Migration, direction: Direction, error: unknown, rolledBack: boolean): StepFailed {
  if (error instanceof StepFailed) return error;
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  const escaped = migration.script!.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const at = new RegExp(`${escaped}:(\\d+):(\\d+)`).exec(stack);
  const line = at ? Number(at[1]) : 1;
  const column = at ? Number(at[2]) : 1;
  const text = migration.up.text.replace(/\r\n?/g, '\n').split('\n')[line - 1] ?? '';
  return new StepFailed({
    version: migration.version,
    name: migration.name,
    direction,
    file: migration.file,
    line,
    column,
    statement: text.trim().slice(0, 120),
    caret: null,
    message: error instanceof Error ? error.message : String(error),
    engineCode: error instanceof StatementError ? (error.engineCode ?? null) : null,
    rolledBack,
  });
}

function ordinal(n: number): string {
  return `${n}${n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th'}`;
}
