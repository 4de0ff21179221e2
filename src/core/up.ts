import type { Migration } from '../source/migration.js';
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
}

export interface UpOptions extends UpPlanOptions {
  readonly dryRun?: boolean | undefined;
}

export interface DownOptions extends DownPlanOptions {
  readonly dryRun?: boolean | undefined;
}

export function up(session: Session, options: UpOptions): Promise<RunResult> {
  const migrations = planUp(session.statuses, { to: options.to, allowOutOfOrder: options.allowOutOfOrder ?? session.config.allowOutOfOrder });
  return run(session, migrations, 'up', options.dryRun ?? false);
}

export function down(session: Session, options: DownOptions): Promise<RunResult> {
  return run(session, planDown(session.statuses, options), 'down', options.dryRun ?? false);
}

async function run(session: Session, migrations: readonly Migration[], direction: 'up' | 'down', dryRun: boolean): Promise<RunResult> {
  const started = performance.now();
  const plan = migrations.map((m) => planned(m, direction, session.driver.capabilities.transactionalDdl));
  const applied: StepResult[] = [];
  const errors: MigrationFailure[] = [];
  if (!dryRun) {
    for (const migration of migrations) {
      try {
        applied.push(await runStep(session, migration, direction));
      } catch (error) {
        if (!(error instanceof StepFailed)) throw error;
        errors.push(error.failure);
        break;
      }
    }
  }
  return { success: errors.length === 0, dryRun, filesExecuted: applied.length, applied, errors, plan, duration: Math.round(performance.now() - started) };
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
