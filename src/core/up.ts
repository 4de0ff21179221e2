import { formatFinding, lintProject, type FileLint, type Finding } from '../lint/index.js';
import type { Migration } from '../source/migration.js';
import { CairnError } from './errors.js';
import { runStep, StepFailed, type MigrationFailure, type StepResult } from './migrator.js';
import { planDown, planUp, type DownPlanOptions, type UpPlanOptions } from './planner.js';
import type { Session } from './session.js';

/** A step as --dry-run shows it: what would run, and how. */
export interface PlannedStep {
  readonly version: string;
  readonly name: string;
  readonly file: string;
  readonly direction: 'up' | 'down';
  /** False when it would run outside a transaction. */
  readonly transaction: boolean;
  readonly statements: readonly { readonly sql: string; readonly line: number }[];
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
}

export interface UpOptions extends UpPlanOptions {
  readonly dryRun?: boolean | undefined;
  /** Apply even when the linter finds errors; recorded in each affected history row. */
  readonly unsafe?: boolean | undefined;
}

export interface DownOptions extends DownPlanOptions {
  readonly dryRun?: boolean | undefined;
}

/**
 * Plans, lints what is pending, and applies it. Error findings stop the run
 * before anything is applied, unless allowed in the file or `unsafe` is set.
 */
export async function up(session: Session, options: UpOptions): Promise<RunResult> {
  const started = performance.now();
  const migrations = planUp(session.statuses, { to: options.to, allowOutOfOrder: options.allowOutOfOrder ?? session.config.allowOutOfOrder });
  const lint = migrations.length > 0 ? (await lintProject(session.migrations, session.config.lint, new Set(migrations.map((m) => m.version)))).files : [];
  const errors = lint.flatMap((file) => file.findings.filter((f) => f.severity === 'error'));
  const unsafe = errors.length > 0 && options.unsafe === true;
  if (errors.length > 0 && !options.unsafe && !options.dryRun) throw lintRefusal(errors);
  if (unsafe && !options.dryRun) session.onEvent({ type: 'notice', message: `applying despite ${errors.length} lint error${errors.length > 1 ? 's' : ''} because of --unsafe (recorded in the history table)` });
  const details = (migration: Migration): Record<string, unknown> => {
    const mine = errors.filter((f) => f.file === migration.file);
    return unsafe && mine.length > 0 ? { unsafe: true, findings: mine.map((f) => `${f.rule}@${f.line}`) } : {};
  };
  return run(session, migrations, 'up', options.dryRun ?? false, started, { lint, unsafe, details });
}

export function down(session: Session, options: DownOptions): Promise<RunResult> {
  return run(session, planDown(session.statuses, options), 'down', options.dryRun ?? false, performance.now(), { lint: [], unsafe: false, details: () => ({}) });
}

function lintRefusal(errors: readonly Finding[]): CairnError {
  return new CairnError('LINT', `the linter found ${errors.length} error${errors.length > 1 ? 's' : ''} in the migrations to apply; nothing was applied:\n\n${errors.map(formatFinding).join('\n\n')}`, {
    hint: 'fix the migrations; or, where the change is intended, add `-- cairn:allow <rule-id> <reason>` on the line before the statement; or apply anyway with --unsafe (recorded in the history table)',
    details: { findings: errors },
  });
}

interface RunExtras {
  readonly lint: readonly FileLint[];
  readonly unsafe: boolean;
  readonly details: (migration: Migration) => Record<string, unknown>;
}

async function run(session: Session, migrations: readonly Migration[], direction: 'up' | 'down', dryRun: boolean, started: number, extras: RunExtras): Promise<RunResult> {
  const plan = migrations.map((m) => planned(m, direction, session.driver.capabilities.transactionalDdl));
  const applied: StepResult[] = [];
  const errors: MigrationFailure[] = [];
  if (!dryRun) {
    for (const migration of migrations) {
      try {
        applied.push(await runStep(session, migration, direction, extras.details(migration)));
      } catch (error) {
        if (!(error instanceof StepFailed)) throw error;
        errors.push(error.failure);
        break;
      }
    }
  }
  return { success: errors.length === 0, dryRun, filesExecuted: applied.length, applied, errors, plan, duration: Math.round(performance.now() - started), lint: extras.lint, unsafe: extras.unsafe };
}

function planned(migration: Migration, direction: 'up' | 'down', transactionalDdl: boolean): PlannedStep {
  const section = direction === 'up' ? migration.up : migration.down!;
  return {
    version: migration.version,
    name: migration.name,
    file: section.file,
    direction,
    transaction: migration.transaction && transactionalDdl,
    statements: section.statements.map((s) => ({ sql: s.sql, line: s.line })),
  };
}
