import type { ResolvedConfig } from '../config/load.js';
import type { DatabaseUrl } from '../config/url.js';
import type { Driver } from '../drivers/types.js';
import { lintProject } from '../lint/index.js';
import { diffSnapshots, type Snapshot, type SnapshotDifference } from '../safety/snapshot.js';
import { readMigrations } from '../source/files.js';
import type { Migration } from '../source/migration.js';
import { runStep, StepFailed, type Direction, type StepContext } from './migrator.js';
import { withScratch } from './scratch.js';

/**
 * Replays every migration in a scratch database Cairn creates and drops:
 * up; then, where there is a down, down (the schema must be what it was
 * before the up) and up again (it must apply again and give the same schema).
 * Files marked `-- cairn:idempotent` are also applied twice.
 */
export interface VerifyProblem {
  readonly message: string;
  /** Schema differences, for a down that does not undo its up. */
  readonly differences: readonly SnapshotDifference[];
}

export interface VerifiedMigration {
  readonly version: string;
  readonly name: string;
  readonly file: string;
  readonly ok: boolean;
  /** What ran, in order: up, up (again, idempotent), down, up. */
  readonly steps: readonly string[];
  /** verified: down undid up; not-needed: no down, purely additive; missing: no down, and it is not additive. */
  readonly down: 'verified' | 'failed' | 'not-needed' | 'missing';
  readonly problems: readonly VerifyProblem[];
}

export interface VerifyReport {
  readonly ok: boolean;
  /** Where the replay ran (no password). */
  readonly scratch: string;
  readonly migrations: readonly VerifiedMigration[];
  /** Versions not replayed because an earlier one left the scratch database unusable. */
  readonly notReached: readonly string[];
}

export async function verify(config: ResolvedConfig, options: { readonly scratchUrl?: DatabaseUrl | undefined }): Promise<VerifyReport> {
  const migrations = readMigrations(config.migrationsDir, config.root);
  const kinds = new Map((await lintProject(migrations, config.lint)).files.map((f) => [f.version, f.classification.type]));
  const exclude = [config.table, `${config.table}_lock`];
  return withScratch(options.scratchUrl ?? config.database, config.table, async (context, where) => {
    const replay = new Replay(context, exclude);
    const results: VerifiedMigration[] = [];
    for (const [index, migration] of migrations.entries()) {
      const result = await replay.verify(migration, kinds.get(migration.version) ?? 'transformative');
      results.push(result.verified);
      if (result.stop) return { ok: false, scratch: where, migrations: results, notReached: migrations.slice(index + 1).map((m) => m.version) };
    }
    return { ok: results.every((r) => r.ok), scratch: where, migrations: results, notReached: [] };
  });
}

class Replay {
  constructor(
    private readonly context: StepContext,
    private readonly exclude: readonly string[],
  ) {}

  private snapshot(): Promise<Snapshot> {
    return this.context.driver.snapshot({ exclude: this.exclude });
  }

  /** Runs one step; a failure becomes a problem instead of an exception. */
  private async step(migration: Migration, direction: Direction): Promise<VerifyProblem | null> {
    try {
      await runStep(this.context, migration, direction);
      return null;
    } catch (error) {
      if (!(error instanceof StepFailed)) throw error;
      const { file, line, message } = error.failure;
      return { message: `${direction} fails at ${file}:${line}: ${message}`, differences: [] };
    }
  }

  async verify(migration: Migration, kind: string): Promise<{ verified: VerifiedMigration; stop: boolean }> {
    const steps: string[] = [];
    const problems: VerifyProblem[] = [];
    const done = (down: VerifiedMigration['down'], stop = false) => ({
      verified: { version: migration.version, name: migration.name, file: migration.file, ok: problems.length === 0, steps, down, problems },
      stop,
    });

    const before = await this.snapshot();
    steps.push('up');
    const upFailure = await this.step(migration, 'up');
    if (upFailure) {
      problems.push(upFailure);
      return done(migration.down ? 'failed' : 'missing', true);
    }
    const afterUp = await this.snapshot();

    if (migration.directives.some((d) => d.name === 'idempotent')) {
      steps.push('up again');
      const again = await applyAgain(this.context.driver, migration);
      if (again) problems.push({ message: `marked -- cairn:idempotent, but a second up fails: ${again}`, differences: [] });
    }

    if (!migration.down) return done(kind === 'additive' ? 'not-needed' : 'missing');

    steps.push('down');
    const downFailure = await this.step(migration, 'down');
    if (downFailure) {
      problems.push(downFailure);
      return done('failed', true);
    }
    const undone = diffSnapshots(before, await this.snapshot());
    if (undone.length > 0) problems.push({ message: 'down does not restore the schema from before up', differences: undone });

    steps.push('up');
    const redo = await this.step(migration, 'up');
    if (redo) {
      problems.push({ ...redo, message: `after its down, ${redo.message}` });
      return done('failed', true);
    }
    const redone = diffSnapshots(afterUp, await this.snapshot());
    if (redone.length > 0) problems.push({ message: 'up after down gives a different schema than the first up', differences: redone });
    return done(problems.length === 0 ? 'verified' : 'failed');
  }
}

/** The up statements once more, without touching the history: for `-- cairn:idempotent` files. Returns the error, if any. */
async function applyAgain(driver: Driver, migration: Migration): Promise<string | null> {
  try {
    if (migration.transaction && driver.capabilities.transactionalDdl) await driver.atomic(migration.up.statements.map((s) => ({ sql: s.sql })));
    else for (const statement of migration.up.statements) await driver.query({ sql: statement.sql });
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}
