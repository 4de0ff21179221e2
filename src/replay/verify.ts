import { existsSync } from 'node:fs';
import type { ResolvedConfig } from '../config/load.js';
import type { DatabaseUrl } from '../config/url.js';
import { embeddedNotice, scratchFor } from '../drivers/index.js';
import type { Driver } from '../drivers/types.js';
import { lintProject } from '../lint/index.js';
import { diffSnapshots, type Snapshot, type SnapshotDifference } from '../drivers/snapshot.js';
import { generateDowns } from '../lint/inverse/index.js';
import { assertFilled, readProjectMigrations } from '../source/files.js';
import type { Migration } from '../source/migration.js';
import { checkSchemaFile, loadDump, prepareStart, startIndex, type FinalSchema, type SchemaCheck, type VerifyStart } from './dump.js';
import { CairnError } from '../errors.js';
import type { CairnEvent } from '../core/events.js';
import { runStep, StepFailed, type Direction, type StepContext } from '../core/migrator.js';
import { evaluateAll } from '../core/assertions.js';
import { cancellable, interrupted } from '../core/interrupt.js';
import { withScratch, withScratchHint } from './scratch.js';
import { bookkeepingTables } from '../core/tracking.js';

/**
 * Replays every migration in a scratch database Cairn creates and drops:
 * up; then, where there is a down (written, or generated from the up when
 * the file has none and every statement can be inverted), down (the schema must be what it was
 * before the up) and up again (it must apply again and give the same schema).
 * Files marked `-- cairn:idempotent` are also applied twice.
 */
export type VerifyProblemKind = 'up-fails' | 'up-again-fails' | 'down-fails' | 'down-differs' | 'redo-fails' | 'redo-differs';

export interface VerifyProblem {
  /** up-fails / down-fails / redo-fails: the step was rejected; down-differs: down does not restore the schema; redo-differs: up after down gives another schema; up-again-fails: a -- cairn:idempotent file fails a second up. */
  readonly kind: VerifyProblemKind;
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
  /** True when the file has no down and the one checked is the inverse Cairn generates from its up (`down --generated` would run it). */
  readonly generated: boolean;
  readonly problems: readonly VerifyProblem[];
  /** Its `-- cairn:assert` lines, read in the scratch database before its first up (absent when it has none). */
  readonly assertions?: readonly VerifiedAssertion[];
}

/**
 * An assertion as the replay read it. The scratch database holds none of the
 * production data assertions are about, so a false one is `skipped` (not a
 * problem; the migration is replayed anyway); a query the database rejects
 * (`failed`: a typo, a table that is not there at that point) is an up-fails problem.
 */
export interface VerifiedAssertion {
  readonly name: string;
  readonly line: number;
  readonly sql: string;
  readonly result: 'holds' | 'skipped' | 'failed';
  readonly returned: unknown;
  readonly error?: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  /** Where the replay ran (no password). */
  readonly scratch: string;
  /** Why it ran where it did, when Cairn chose for the user (PGlite when no PostgreSQL server is configured). */
  readonly notice?: string;
  readonly migrations: readonly VerifiedMigration[];
  /** Versions not replayed because an earlier one left the scratch database unusable. */
  readonly notReached: readonly string[];
  /** The final schema against the committed schema dump; null when there is none (or --no-schema, or the replay stopped early). */
  readonly schema: SchemaCheck | null;
  /** With --from: how the migrations before it were brought in, unverified. */
  readonly from: VerifyStart | null;
  readonly summary: VerifySummary;
}

/** Counts that add up: checked + notReached = total, ok + failed = checked; problems by kind (a migration can have several). */
export interface VerifySummary {
  readonly total: number;
  readonly checked: number;
  readonly ok: number;
  readonly failed: number;
  readonly notReached: number;
  readonly problems: Readonly<Partial<Record<VerifyProblemKind, number>>>;
}

export interface VerifyOptions {
  readonly scratchUrl?: DatabaseUrl | undefined;
  /** False: do not check generated downs; files without a down are listed as not needed or missing. Default true. */
  readonly generated?: boolean | undefined;
  /** The schema dump to compare the final schema with (absolute path); false: none. Default: the configured one, if the file exists. */
  readonly schema?: string | false | undefined;
  /** Verify from this version on; the ones before are brought in unverified. */
  readonly from?: string | undefined;
  /** With `from`: a schema dump (absolute path) to start from instead of applying every earlier migration. */
  readonly baseline?: string | undefined;
  /** Stop at the first down that fails (by default verify goes on from the state after up, which the failed down's rollback left). */
  readonly bail?: boolean | undefined;
  /** Abort (Ctrl-C): cancel the running statement, stop with INTERRUPTED; the scratch database is dropped as always. */
  readonly signal?: AbortSignal | undefined;
  /** Progress: `replay` once the scratch database is ready, then `replay-step` per migration. */
  readonly onEvent?: ((event: CairnEvent) => void) | undefined;
}

export async function verify(config: ResolvedConfig, options: VerifyOptions): Promise<VerifyReport> {
  const migrations = readProjectMigrations(config);
  assertFilled(migrations);
  if (options.baseline !== undefined && options.from === undefined) throw new CairnError('USAGE', '--baseline needs --from <version>', { hint: 'e.g. cairn verify --from 0042 --baseline schema.sql' });
  const start = options.from === undefined ? 0 : startIndex(migrations, options.from);
  const schemaFile = schemaToCheck(config, options.schema);
  const kinds = new Map((await lintProject(migrations, config.lint)).files.map((f) => [f.version, f.classification.type]));
  const generatedDowns = options.generated === false ? new Map<string, never>() : await generateDowns(migrations, config.lint);
  const exclude = bookkeepingTables(config);
  const { like, why } = options.scratchUrl ? { like: options.scratchUrl, why: null } : scratchFor(config.database, config.lint.dialect);
  let notice: string | undefined;
  const report: VerifyReport = await withScratch(like, config.table, async (context, where): Promise<VerifyReport> => {
    if (why) notice = await embeddedNotice(why, context.driver);
    const from = options.from === undefined ? null : await prepareStart(context, migrations, start, options.baseline ?? null, config.root);
    const materialize = (dump: string) =>
      withScratch(like, config.table, async (side) => {
        await loadDump(side.driver, dump, 'the schema before this step');
        return side.driver.snapshot({ exclude });
      });
    const replay = new Replay(context, exclude, materialize, options.bail === true);
    const results: VerifiedMigration[] = [];
    const onEvent = options.onEvent ?? (() => undefined);
    onEvent({ type: 'replay', migrations: migrations.length - start, scratch: where });
    for (const [index, migration] of migrations.entries()) {
      if (index < start) continue;
      onEvent({ type: 'replay-step', index: index - start + 1, total: migrations.length - start, version: migration.version, name: migration.name });
      const generated = generatedDowns.get(migration.version);
      if (await interrupted(options.signal)) throw interruptedVerify(results.length, migration);
      const result = await cancellable(context.driver, options.signal, () =>
        typeof generated === 'object' ? replay.verify({ ...migration, down: generated }, 'generated', true) : replay.verify(migration, kinds.get(migration.version) ?? 'transformative'),
      );
      if (await interrupted(options.signal)) throw interruptedVerify(results.length, migration);
      results.push(result.verified);
      if (result.stop) {
        const notReached = migrations.slice(index + 1).map((m) => m.version);
        return { ok: false, scratch: where, migrations: results, notReached, schema: null, from, summary: summarize(results, notReached) };
      }
    }
    const schema = schemaFile === null ? null : await checkSchemaFile(schemaFile, config.root, like, config.table, exclude, migrations, await replay.final());
    return { ok: results.every((r) => r.ok) && (schema?.ok ?? true), scratch: where, migrations: results, notReached: [], schema, from, summary: summarize(results, []) };
  }).catch((error: unknown) => {
    throw withScratchHint(error, like);
  });
  return notice ? { ...report, notice } : report;
}

function interruptedVerify(checked: number, at: Migration): CairnError {
  return new CairnError('INTERRUPTED', `interrupted: verify stopped at ${at.version}_${at.name} after checking ${checked} migration${checked === 1 ? '' : 's'}; the scratch database was dropped`, {
    hint: 'run `cairn verify` again (or `cairn verify --from <version>` to start later)',
    details: { checked, interruptedAt: at.version },
  });
}

function summarize(results: readonly VerifiedMigration[], notReached: readonly string[]): VerifySummary {
  const problems: Partial<Record<VerifyProblemKind, number>> = {};
  for (const problem of results.flatMap((r) => r.problems)) problems[problem.kind] = (problems[problem.kind] ?? 0) + 1;
  const ok = results.filter((r) => r.ok).length;
  return { total: results.length + notReached.length, checked: results.length, ok, failed: results.length - ok, notReached: notReached.length, problems };
}

/** The schema dump verify compares with: the one asked for (which must exist), else the configured one if it exists. */
function schemaToCheck(config: ResolvedConfig, asked: string | false | undefined): string | null {
  if (asked === false) return null;
  if (asked === undefined) return existsSync(config.schemaFile) ? config.schemaFile : null;
  if (!existsSync(asked)) throw new CairnError('USAGE', `--schema ${asked} does not exist`, { hint: 'write it with `cairn dump --output <file>`, or leave --schema out' });
  return asked;
}


/**
 * A schema as the replay saw it: its dump, cheap to take and compare, and
 * its snapshot, taken only when two dumps differ (then it says how).
 */
interface SchemaState {
  readonly dump: string;
  snapshot: Snapshot | null;
}

/**
 * Comparing whole snapshots after every step made verify quadratic (each one
 * reads every table; bench/README.md). Equal dumps mean equal schemas, so a
 * step is compared by dump, and the state after a migration is the next
 * one's "before". Only when dumps differ are snapshots taken: of the live
 * schema directly, of an earlier state by loading its dump into a side
 * scratch database (`materialize`).
 */
class Replay {
  /** The state after the last migration: the next one's "before". Null when unknown. */
  private last: SchemaState | null = null;

  constructor(
    private readonly context: StepContext,
    private readonly exclude: readonly string[],
    private readonly materialize: (dump: string) => Promise<Snapshot>,
    private readonly bail: boolean,
  ) {}

  private async state(): Promise<SchemaState> {
    return { dump: await this.context.driver.dump({ exclude: this.exclude }), snapshot: null };
  }

  /** From `was` to `now`, which is the live schema. */
  private async differences(was: SchemaState, now: SchemaState): Promise<SnapshotDifference[]> {
    if (was.dump === now.dump) return [];
    now.snapshot ??= await this.context.driver.snapshot({ exclude: this.exclude });
    was.snapshot ??= await this.materialize(was.dump);
    return diffSnapshots(was.snapshot, now.snapshot);
  }

  /** The schema after the last migration, for comparing with the schema dump. */
  async final(): Promise<FinalSchema> {
    const state = this.last ?? (await this.state());
    return { dump: state.dump, snapshot: async () => (state.snapshot ??= await this.context.driver.snapshot({ exclude: this.exclude })) };
  }

  /** Runs one step; a failure becomes a problem instead of an exception (rolledBack: nothing of the step remains). */
  private async step(migration: Migration, direction: Direction, kind: VerifyProblemKind): Promise<(VerifyProblem & { rolledBack: boolean }) | null> {
    try {
      await runStep(this.context, migration, direction);
      return null;
    } catch (error) {
      if (!(error instanceof StepFailed)) throw error;
      const { file, line, message, rolledBack } = error.failure;
      return { kind, message: `${direction} fails at ${file}:${line}: ${message}`, differences: [], rolledBack };
    }
  }

  async verify(migration: Migration, kind: string, generated = false): Promise<{ verified: VerifiedMigration; stop: boolean }> {
    const steps: string[] = [];
    const problems: VerifyProblem[] = [];
    let assertions: VerifiedAssertion[] = [];
    const done = (down: VerifiedMigration['down'], stop = false) => ({
      verified: { version: migration.version, name: migration.name, file: migration.file, ok: problems.length === 0, steps, down, generated, problems, ...(assertions.length > 0 ? { assertions } : {}) },
      stop,
    });

    const before = this.last ?? (await this.state());
    this.last = null;
    // Read, never guarding (the scratch has no data to guard): a query that fails here fails in production too.
    assertions = (await evaluateAll(this.context.driver, migration)).map((a) => ({
      name: a.name,
      line: a.line,
      sql: a.sql,
      result: a.error !== undefined ? 'failed' : a.holds ? 'holds' : 'skipped',
      returned: a.returned,
      ...(a.error !== undefined ? { error: a.error } : {}),
    }));
    const broken = assertions.find((a) => a.result === 'failed');
    if (broken) {
      steps.push('up');
      problems.push({ kind: 'up-fails', message: `up fails at ${migration.file}:${broken.line}: assertion "${broken.name}" could not be evaluated: ${broken.error}`, differences: [] });
      return done(migration.down ? 'failed' : 'missing', true);
    }
    steps.push('up');
    const upFailure = await this.step(migration, 'up', 'up-fails');
    if (upFailure) {
      problems.push(problem(upFailure));
      return done(migration.down ? 'failed' : 'missing', true);
    }
    const afterUp = await this.state();
    this.last = afterUp;

    if (migration.directives.some((d) => d.name === 'idempotent')) {
      steps.push('up again');
      const again = await applyAgain(this.context.driver, migration);
      if (again) problems.push({ kind: 'up-again-fails', message: `marked -- cairn:idempotent, but a second up fails: ${again}`, differences: [] });
      this.last = null;
    }

    if (!migration.down) return done(kind === 'additive' ? 'not-needed' : 'missing');

    steps.push(generated ? 'down (generated)' : 'down');
    const downFailure = await this.step(migration, 'down', 'down-fails');
    if (downFailure) {
      problems.push(problem(downFailure));
      // Rolled back whole, the down left the state after up (`this.last`): the next migration can be checked from there.
      return done('failed', this.bail || !downFailure.rolledBack);
    }
    this.last = null;
    const undone = await this.differences(before, await this.state());
    if (undone.length > 0) problems.push({ kind: 'down-differs', message: 'down does not restore the schema from before up', differences: undone });

    steps.push('up');
    const redo = await this.step(migration, 'up', 'redo-fails');
    if (redo) {
      problems.push({ ...problem(redo), message: `after its down, ${redo.message}` });
      return done('failed', true);
    }
    const afterRedo = await this.state();
    this.last = afterRedo;
    const redone = await this.differences(afterUp, afterRedo);
    if (redone.length > 0) problems.push({ kind: 'redo-differs', message: 'up after down gives a different schema than the first up', differences: redone });
    return done(problems.length === 0 ? 'verified' : 'failed');
  }
}

function problem({ kind, message, differences }: VerifyProblem): VerifyProblem {
  return { kind, message, differences };
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
