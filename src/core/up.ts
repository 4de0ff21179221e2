import { formatFinding, lintProject, type FileLint, type Finding } from '../lint/index.js';
import { backupGuard, type StepGuard } from '../safety/backup.js';
import { generateDowns } from '../lint/inverse/index.js';
import { sectionOf, type Migration } from '../source/migration.js';
import { batchesOf } from '../source/batch.js';
import { assertFilled } from '../source/files.js';
import { compareVersions } from '../source/version.js';
import { evaluateAll, type AssertionOutcome } from './assertions.js';
import { fitToLimits } from './statement-limits.js';
import { CairnError } from '../errors.js';
import { cancellable, interrupted, interruptedRun } from './interrupt.js';
import { loadScript } from '../source/script.js';
import { runStep, runStepGroup, StepFailed, stepGroup, type MigrationFailure, type StepResult } from './migrator.js';
import { contractProblems, contractRefusal } from './phases.js';
import { chooseRollback, planDown, planUp, type DownPlanOptions, type UpPlanOptions } from './planner.js';
import type { Session } from './session.js';
import { bookkeepingTables } from './tracking.js';

/** A step as --dry-run shows it: what would run, and how. */
export interface PlannedStep {
  readonly version: string;
  readonly name: string;
  readonly file: string;
  readonly direction: 'up' | 'down';
  /** False when it would run outside a transaction. */
  readonly transaction: boolean;
  readonly statements: readonly { readonly sql: string; readonly line: number }[];
  /** The statements that run in batches (`-- cairn:batch`), each batch committed on its own. */
  readonly batches?: readonly { readonly line: number; readonly table: string; readonly size: number; readonly targetMs: number | null; readonly pauseMs: number }[];
  /** True for a down Cairn generated because the file has none (`down --generated`). */
  readonly generated?: boolean;
  /** A TypeScript migration: its SQL is built when it runs; the lines of its `ctx.batch` calls. */
  readonly script?: { readonly batchLines: readonly number[] };
  /** A dry run's down of a migration that has none: shown, marked, and refused by a real `down` (NO_DOWN). */
  readonly missingDown?: boolean;
  /** A dry run of up: each `-- cairn:assert` of the migration, evaluated against the database as it is now. */
  readonly assertions?: readonly AssertionOutcome[];
}

/** What `up` and `down` report. A migration the database rejects is a result, not an exception. */
export interface RunResult {
  readonly success: boolean;
  readonly dryRun: boolean;
  /** How many migration files ran (0 for a dry run). */
  readonly filesExecuted: number;
  /** The steps that completed, in order. */
  readonly applied: readonly StepResult[];
  /** The step that failed, if one did (a run stops at the first failure). */
  readonly errors: readonly MigrationFailure[];
  /** The steps that would run (dry run), or that were to run. */
  readonly plan: readonly PlannedStep[];
  /** Wall time in milliseconds. */
  readonly duration: number;
  /** What the linter found in the migrations to apply (empty for down). */
  readonly lint: readonly FileLint[];
  /** True when error findings were overridden with --unsafe. */
  readonly unsafe: boolean;
  /** `up --to`: the target, and the migrations still pending after it (empty without --to, and for down). */
  readonly to?: string;
  /**
   * Remote D1: the Time Travel bookmark taken before this run (recorded with each of its migrations), and
   * the migrations whose rows at risk it backs up instead of a copy (config `backup: 'auto'`, the default there).
   */
  readonly timeTravel?: { readonly bookmark: string; readonly backupOf: readonly string[] };
  readonly remaining: readonly { readonly version: string; readonly name: string }[];
}

/**
 * Runs once the plan is known (and linted), under the lock, before the first
 * step; throwing stops the run with nothing applied. Dry runs call it too, so
 * it can warn about what a real run would refuse. Not called for an empty plan.
 */
export type BeforeApply = (migrations: readonly Migration[], context: { readonly dryRun: boolean }) => Promise<void>;

export interface UpOptions extends UpPlanOptions {
  readonly dryRun?: boolean | undefined;
  readonly beforeApply?: BeforeApply | undefined;
  /** Apply even when the linter finds errors; recorded in each affected history row. */
  readonly unsafe?: boolean | undefined;
  /** Do not back up the rows a destructive migration can destroy (said as a notice, recorded in the history row). */
  readonly noBackup?: boolean | undefined;
  /** Copy the rows at risk even where a Time Travel bookmark backs them up (remote D1), as config `backup: 'rows'` does. */
  readonly backupRows?: boolean | undefined;
  /** Abort (Ctrl-C) cancels the running step, which rolls back, and stops the run with INTERRUPTED (core/interrupt.ts). */
  readonly signal?: AbortSignal | undefined;
  /** Apply from the first migration even though the database has tables and no history (NON_EMPTY_DATABASE otherwise). */
  readonly allowNonEmpty?: boolean | undefined;
  /** How the pending migrations are linted (default lintProject). `cairn fleet` passes one that remembers: the same files and dialect give the same findings on every target. */
  readonly linter?: typeof lintProject | undefined;
  /** 'skip': pre-migration assertions do not guard the steps (a fresh database holds no production data: `cairn-migrate/testing`, as verify's scratch replays). */
  readonly assertions?: 'guard' | 'skip' | undefined;
}

export interface DownOptions extends Omit<DownPlanOptions, 'generatedDowns'> {
  readonly dryRun?: boolean | undefined;
  /** For migrations without a down, use the inverse Cairn generates from the up, where there is one (saying so in a notice). */
  readonly generated?: boolean | undefined;
  readonly beforeApply?: BeforeApply | undefined;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Plans, lints what is pending, and applies it. Error findings stop the run
 * before anything is applied, unless allowed in the file or `unsafe` is set.
 */
export async function up(session: Session, options: UpOptions): Promise<RunResult> {
  const started = performance.now();
  assertFilled(session.migrations);
  const migrations = planUp(session.statuses, { to: options.to, allowOutOfOrder: options.allowOutOfOrder ?? session.config.allowOutOfOrder });
  if (migrations.length > 0 && !options.allowNonEmpty) await refuseUnknownDatabase(session, options.dryRun === true);
  // A contract migration waits for its expand to be deployed (core/phases.ts); a dry run says what a real run would refuse.
  const waiting = contractProblems(session.statuses, migrations, session.config.environmentSettings, new Date());
  if (waiting.length > 0 && !options.dryRun) throw contractRefusal(waiting, session.config.environmentSettings);
  if (waiting.length > 0) session.onEvent({ type: 'notice', message: contractRefusal(waiting, session.config.environmentSettings).message.replace('nothing was applied', '`cairn up` would refuse') });
  if (migrations.length > 0) session.onEvent({ type: 'lint', migrations: migrations.length });
  const lint = migrations.length > 0 ? (await (options.linter ?? lintProject)(session.migrations, session.config.lint, new Set(migrations.map((m) => m.version)))).files : [];
  const errors = lint.flatMap((file) => file.findings.filter((f) => f.severity === 'error'));
  const unsafe = errors.length > 0 && options.unsafe === true;
  if (errors.length > 0 && !options.unsafe && !options.dryRun) throw lintRefusal(errors, lint);
  if (unsafe && !options.dryRun) session.onEvent({ type: 'notice', message: `applying despite ${errors.length} lint error${errors.length > 1 ? 's' : ''} because of --unsafe (recorded in the history table)` });
  // Remote D1: the moment before this run, in D1's own history (Time Travel), recorded with every migration of it.
  const bookmark = !options.dryRun && migrations.length > 0 && session.driver.timeTravel ? await session.driver.timeTravel.bookmark() : null;
  if (bookmark) session.onEvent({ type: 'notice', message: `D1 Time Travel bookmark before this run: ${bookmark} (\`cairn restore <version> --bookmark\` returns the database to it)` });
  // Backups of the rows at risk are made right before each step that needs one (docs/backups.md); on remote D1 the bookmark is the backup unless rows are asked for.
  const copyRows = options.backupRows === true || session.config.backup === 'rows';
  const guard = options.dryRun ? undefined : backupGuard(session, lint, { noBackup: options.noBackup === true, bookmark: copyRows ? null : bookmark });
  if (options.dryRun && session.driver.timeTravel && !copyRows && !options.noBackup) {
    const atRisk = lint.filter((file) => file.tablesAtRisk.length > 0).map((file) => `${file.version}_${file.name}`);
    if (atRisk.length > 0) session.onEvent({ type: 'notice', message: `${atRisk.join(', ')} can destroy rows: a real run copies none; the D1 Time Travel bookmark it takes before applying anything is their backup (\`backup: 'rows'\` or --backup-rows copies them too)` });
  }
  const details = (migration: Migration): Record<string, unknown> => {
    const mine = errors.filter((f) => f.file === migration.file);
    return { ...(unsafe && mine.length > 0 ? { unsafe: true, findings: mine.map((f) => `${f.rule}@${f.line}`) } : {}), ...(bookmark ? { bookmark } : {}), ...guard?.recorded?.(migration) };
  };
  for (const m of migrations.filter((m) => m.up.statements.length === 0 && !m.script)) {
    session.onEvent({ type: 'notice', message: `${m.version}_${m.name} has no statements, only comments: ${options.dryRun ? 'it would be' : 'it is'} recorded as applied, nothing runs` });
  }
  const ran = await run(session, migrations, 'up', options.dryRun ?? false, started, { lint, unsafe, details, beforeApply: options.beforeApply, guard, signal: options.signal, assertions: options.assertions });
  const backupOf = guard?.recorded ? lint.filter((file) => file.tablesAtRisk.length > 0).map((file) => `${file.version}_${file.name}`) : [];
  const result: RunResult = bookmark ? { ...ran, timeTravel: { bookmark, backupOf } } : ran;
  if (options.to === undefined) return result;
  const to = options.to;
  const remaining = session.statuses.filter((s) => (s.state === 'pending' || s.state === 'running') && compareVersions(s.version, to) > 0).map((s) => ({ version: s.version, name: s.name }));
  return { ...result, to, remaining };
}

export async function down(session: Session, options: DownOptions): Promise<RunResult> {
  const started = performance.now();
  const generatedDowns = options.generated ? await generateDowns(chooseRollback(session.statuses, options).map((s) => s.migration!), session.config.lint) : undefined;
  // A dry run shows the whole plan, the migrations without a down marked in it; a real run refuses them before anything runs.
  const migrations = planDown(session.statuses, { ...options, generatedDowns, allowMissingDown: options.dryRun === true });
  const generated = new Set(migrations.filter((m) => typeof generatedDowns?.get(m.version) === 'object').map((m) => m.version));
  for (const m of migrations.filter((m) => generated.has(m.version))) {
    session.onEvent({ type: 'notice', message: `${m.version}_${m.name} has no down; using the generated inverse: ${m.down!.statements.map((s) => s.sql).join('; ')}` });
  }
  const result = await run(session, migrations, 'down', options.dryRun ?? false, started, { lint: [], unsafe: false, details: () => ({}), beforeApply: options.beforeApply, signal: options.signal });
  return generated.size === 0 ? result : { ...result, plan: result.plan.map((step) => (generated.has(step.version) ? { ...step, generated: true } : step)) };
}

/**
 * Tables but no history (ours or an adopted one such as wrangler's): replaying
 * from the first migration would run it against a schema it never made.
 * Flyway refuses the same way without `baseline`. A dry run says it and goes on.
 */
async function refuseUnknownDatabase(session: Session, dryRun: boolean): Promise<void> {
  if (session.statuses.some((status) => status.record !== null)) return;
  const tables = await session.driver.userTables({ exclude: bookkeepingTables(session.config) });
  if (tables.length === 0) return;
  const shown = `${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ` and ${tables.length - 5} more` : ''}`;
  const message = `${session.driver.target} already has ${tables.length} table${tables.length > 1 ? 's' : ''} (${shown}) but no migration history in ${session.config.table}`;
  const hint = 'if the migrations up to some version already made this schema, record them without running them: `cairn baseline --to <version>`, then `cairn up`; to run every migration on it anyway, pass --allow-non-empty';
  if (dryRun) {
    session.onEvent({ type: 'notice', message: `${message}: a real run refuses (NON_EMPTY_DATABASE); ${hint}` });
    return;
  }
  throw new CairnError('NON_EMPTY_DATABASE', `${message}; nothing was applied`, { hint, details: { tables, table: session.config.table } });
}

function lintRefusal(errors: readonly Finding[], lint: readonly FileLint[]): CairnError {
  // An allow that suppressed nothing in a refused file usually explains the refusal (wrong line, wrong rule id).
  const refused = new Set(errors.map((f) => f.file));
  const files = lint.filter((file) => refused.has(file.file));
  const unused = files.flatMap((file) => file.findings.filter((f) => f.rule === 'unused-allow'));
  const shown = files.flatMap((file) => file.findings.filter((f) => f.severity === 'error' || f.rule === 'unused-allow')).map(formatFinding).join('\n\n');
  return new CairnError('LINT', `the linter found ${errors.length} error${errors.length > 1 ? 's' : ''} in the migrations to apply; nothing was applied:\n\n${shown}`, {
    hint: 'fix the migrations; or, where the change is intended, add `-- cairn:allow <rule-id> <reason>` on the line before the statement; or apply anyway with --unsafe (recorded in the history table)',
    details: { findings: errors, unusedAllows: unused },
  });
}

interface RunExtras {
  readonly lint: readonly FileLint[];
  readonly unsafe: boolean;
  readonly details: (migration: Migration) => Record<string, unknown>;
  readonly beforeApply: BeforeApply | undefined;
  readonly guard?: StepGuard | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly assertions?: 'guard' | 'skip' | undefined;
}

async function run(session: Session, planned_: readonly Migration[], direction: 'up' | 'down', dryRun: boolean, started: number, extras: RunExtras): Promise<RunResult> {
  // Statements past the engine's cap (D1: 100 KB): split where that keeps the meaning, refused before anything runs otherwise.
  const { migrations, split } = fitToLimits(planned_, direction, session.driver.capabilities.statementLimits);
  for (const message of split) session.onEvent({ type: 'notice', message });
  const plan: PlannedStep[] = migrations.map((m) => planned(m, direction, session.driver.capabilities.transactionalDdl));
  if (dryRun && direction === 'up') {
    for (const [index, migration] of migrations.entries()) {
      const outcomes = await evaluateAll(session.driver, migration);
      if (outcomes.length > 0) plan[index] = { ...plan[index]!, assertions: outcomes };
    }
  }
  const applied: StepResult[] = [];
  const errors: MigrationFailure[] = [];
  if (migrations.length > 0) await extras.beforeApply?.(migrations, { dryRun });
  // A TypeScript migration that does not compile stops the run before anything is applied.
  if (!dryRun) for (const migration of migrations.filter((m) => m.script)) await loadScript(migration);
  if (!dryRun) {
    let replayUntil = 0; // after a group failed: its steps, one at a time
    for (let index = 0; index < migrations.length; index++) {
      const migration = migrations[index]!;
      if (await interrupted(extras.signal)) throw interruptedRun(direction, applied, null, migration);
      // Batch-only engines (D1): consecutive atomic steps share one batch, one round trip; a step that may need a backup first runs on its own.
      const group = index >= replayUntil ? stepGroup(session.driver, migrations, index, direction, (m) => !extras.guard?.covers(m)) : [];
      if (group.length > 1) {
        const done = await cancellable(session.driver, extras.signal, () => runStepGroup({ ...session, assertions: extras.assertions }, group, direction, extras.details));
        if (done) {
          applied.push(...done);
          index += group.length - 1;
          continue;
        }
        replayUntil = index + group.length;
      }
      try {
        const guarded = await extras.guard?.before(migration);
        const details = { ...extras.details(migration), ...guarded?.details };
        applied.push(await cancellable(session.driver, extras.signal, () => runStep({ ...session, signal: extras.signal, statementLock: session.config.statementLock, assertions: extras.assertions }, migration, direction, details)));
        await guarded?.after(details);
      } catch (error) {
        if (error instanceof CairnError && applied.length > 0) throw keptApplied(error, applied);
        if (!(error instanceof StepFailed)) throw error;
        if (extras.signal?.aborted) throw interruptedRun(direction, applied, error.failure, null);
        errors.push(error.failure);
        break;
      }
    }
  }
  return { success: errors.length === 0, dryRun, filesExecuted: applied.length, applied, errors, plan, duration: Math.round(performance.now() - started), lint: extras.lint, unsafe: extras.unsafe, remaining: [] };
}

/** An error between steps (a backup that failed) must not hide what this run already applied. */
function keptApplied(error: CairnError, applied: readonly StepResult[]): CairnError {
  const versions = applied.map((step) => `${step.version}_${step.name}`);
  return new CairnError(error.code, `${error.message}\nThe ${versions.length} migration${versions.length > 1 ? 's' : ''} applied earlier in this run stay${versions.length > 1 ? '' : 's'} applied: ${versions.join(', ')}`, {
    hint: error.hint,
    details: { ...error.details, applied: versions },
    cause: error,
  });
}

function planned(migration: Migration, direction: 'up' | 'down', transactionalDdl: boolean): PlannedStep {
  const section = sectionOf(migration, direction);
  if (!section) return { version: migration.version, name: migration.name, file: migration.file, direction, transaction: false, statements: [], missingDown: true };
  const batches = [...batchesOf(migration, section).batches.values()].map((b) => ({ line: b.line, table: b.statement.table, size: b.options.size, targetMs: b.options.targetMs, pauseMs: b.options.pauseMs }));
  return {
    version: migration.version,
    name: migration.name,
    file: section.file,
    direction,
    transaction: migration.transaction && transactionalDdl && batches.length === 0,
    statements: section.statements.map((s) => ({ sql: s.sql, line: s.line })),
    ...(batches.length > 0 ? { batches } : {}),
    ...(migration.script ? { script: { batchLines: migration.script.batchLines } } : {}),
  };
}
