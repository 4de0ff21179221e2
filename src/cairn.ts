import { resolve } from 'node:path';
import type { CodegenResult } from './codegen/index.js';
import { resolveConfig, type ConfigOverrides, type ResolvedConfig } from './config/load.js';
import { databaseName, parseDatabaseUrl } from './config/url.js';
import { drift, type DriftReport } from './replay/drift.js';
import { dumpToFile, type WrittenDump } from './replay/dump.js';
import { CairnError } from './errors.js';
import type { CairnEvent } from './core/events.js';
import { healthAfterUp, type HealthReport } from './environments/health.js';
import { baseline, repair, type BaselineResult, type RepairResult } from './core/history.js';
import { assertHistoryIntact, assertKnownVersion } from './core/planner.js';
import { confirmPhase } from './core/phases.js';
import { checkPromotion, followedTarget } from './environments/promotion.js';
import { confirmWrite, describeMigrations, type ConfirmOptions } from './environments/protection.js';
import { listBookmarks, restoreBookmark, type BookmarkInfo, type BookmarkRestoreResult } from './wrangler/bookmarks.js';
import { init, newMigration, newScriptMigration, UP_FIRST_LINE, type InitResult, type MigrationType, type NewMigrationResult } from './core/scaffold.js';
import { withSession } from './core/session.js';
import { status, type StatusReport } from './core/status.js';
import { down, up, type BeforeApply, type DownOptions, type RunResult, type UpOptions } from './core/up.js';
import { asValidationProblems, fileProblems, historyProblems, type ValidationReport } from './core/validate.js';
import { verify, type VerifyReport } from './replay/verify.js';
import type { DiffOptions, DiffResult } from './evolve/diff.js';
import type { PlannedChange, PlanResult } from './evolve/plan/index.js';
import type { FleetDownOptions, FleetDownResult } from './fleet/down.js';
import type { FleetLintReport } from './fleet/lint.js';
import type { FleetStatusReport } from './fleet/status.js';
import type { FleetUpOptions, FleetUpResult } from './fleet/up.js';
import type { FleetVerifyOptions, FleetVerifyResult } from './fleet/verify.js';
import { createDatabase, dropDatabase, type DatabaseChange } from './drivers/index.js';
import { lintProject, type LintReport } from './lint/index.js';
import type { DiagramFormat } from './report/formats.js';
import type { ProjectReport } from './report/report.js';
import type { SchemaDiagram } from './report/schema.js';
import { listBackups, restoreBackup, type BackupInfo, type RestoreOptions, type RestoreResult } from './safety/backup.js';
import { sectionsFromUp, type GeneratedDown } from './lint/inverse/index.js';
import { readMigrations, readProjectMigrations, unfilledProblems } from './source/files.js';
import { compareVersions } from './source/version.js';
import { wranglerCompanion } from './wrangler/table.js';

/** `up` as the library offers it: the environment's gate, confirmation and health check included. */
export interface CairnUpOptions extends Omit<UpOptions, 'beforeApply'>, ConfirmOptions {
  /** Do not request the environment's health check after applying. */
  readonly skipHealthCheck?: boolean | undefined;
  /** Create the database first when it does not exist (`cairn create`), as dbmate's `up` does. */
  readonly create?: boolean | undefined;
  /**
   * On an environment that follows another: apply only what has run there, the
   * pending migrations up to the first that has not (instead of refusing them all).
   */
  readonly toFollowed?: boolean | undefined;
}

export interface CairnUpResult extends RunResult {
  /** The environment's health check after this run; null when there is none or nothing was applied. */
  readonly health: HealthReport | null;
}

export interface CairnOptions extends ConfigOverrides {
  /** Progress as it happens: each step started and finished, and notices such as a stale lock taken over. */
  readonly onEvent?: (event: CairnEvent) => void;
}

/**
 * The library: everything the CLI does, with the same errors. Each call opens
 * the database, does its work and closes it again.
 *
 *   const cairn = createCairn({ url: 'sqlite:app.db' });
 *   const result = await cairn.up();
 */
export function createCairn(options: CairnOptions = {}) {
  const onEvent = options.onEvent ?? (() => undefined);
  let config: Promise<ResolvedConfig> | undefined;
  const resolved = () => (config ??= resolveConfig(options));
  const read = async <T>(work: Parameters<typeof withSession<T>>[2]) => withSession(await resolved(), { write: false, onEvent, companion: wranglerCompanion }, work);
  const write = async <T>(work: Parameters<typeof withSession<T>>[2], signal?: AbortSignal) => withSession(await resolved(), { write: true, onEvent, signal, companion: wranglerCompanion }, work);
  // `dumpAfterUp`: a successful up or down rewrites the schema dump, read once the run has released its lock.
  const dumpAfter = async (result: RunResult) => {
    const config = await resolved();
    if (!config.dumpAfterUp || result.dryRun || !result.success || result.filesExecuted === 0) return;
    // The migrations are applied by now: a dump that cannot be written is worth a notice, not a failed run.
    try {
      const written = await read((session) => dumpToFile(session, config.schemaFile));
      onEvent({ type: 'notice', message: `wrote ${written.file} (schema as of ${written.asOf ?? 'none'})` });
    } catch (error) {
      onEvent({ type: 'notice', message: `could not rewrite ${config.schemaFile} (dumpAfterUp): ${(error as Error).message}; run \`cairn dump\`` });
    }
  };

  // `codegen.afterUp`: the types follow the schema after a successful up or down, read from the database just migrated.
  const codegenAfter = async (result: RunResult) => {
    const config = await resolved();
    if (!config.codegen.afterUp || result.dryRun || !result.success || result.filesExecuted === 0) return;
    try {
      const { codegen } = await import('./codegen/index.js');
      const written = await codegen(config, { fromDb: true });
      if (written.written) onEvent({ type: 'notice', message: `wrote ${written.file} (types as of ${written.asOf ?? 'none'})` });
    } catch (error) {
      onEvent({ type: 'notice', message: `could not rewrite ${config.codegen.out} (codegen.afterUp): ${(error as Error).message}; run \`cairn codegen\`` });
    }
  };

  return {
    /** The configuration every call uses (database URL redacted in `database.display`). */
    config: resolved,

    status: (): Promise<StatusReport> => read(status),

    /** Writes the expand, backfill and contract migrations of a change (`cairn plan`), from the table as the database has it now. */
    plan: (change: PlannedChange): Promise<PlanResult> => read(async (session) => (await import('./evolve/plan/index.js')).planChange(session, change)),

    /** `cairn phase confirm`: records (who, when) that the contract of the expand `version` (or of the contract `version` names) may run on this environment. */
    confirmPhase: (version: string): Promise<{ readonly expand: string; readonly by: string; readonly at: string }> => write((session) => confirmPhase(session, version)),

    /** Applies pending migrations in order; stops at the first failure, which is rolled back whole. */
    up: async (upOptions: CairnUpOptions = {}): Promise<CairnUpResult> => {
      // A bad --to is known from the files alone: say so before opening (and creating) the database.
      if (upOptions.to !== undefined) {
        const { migrationsDir, root, encoding, migrationsPattern } = await resolved();
        assertKnownVersion(readMigrations(migrationsDir, root, { encoding, pattern: migrationsPattern }), upOptions.to);
      }
      // Gate (production follows qa) and confirmation (protected) come after planning, under the lock.
      const config = await resolved();
      const followed = (env: string) => resolveConfig({ ...options, env, url: undefined });
      if (upOptions.toFollowed) upOptions = { ...upOptions, to: await followedTarget(config, followed, upOptions.to, onEvent) };
      if (upOptions.create && !upOptions.dryRun) {
        const created = await createDatabase(config.database);
        if (created.changed) onEvent({ type: 'notice', message: `created database ${created.name} (${config.database.display})` });
      }
      const beforeApply: BeforeApply = async (migrations, { dryRun }) => {
        await checkPromotion(config, followed, migrations, { dryRun, onNotice: (message) => onEvent({ type: 'notice', message }) });
        if (!dryRun) await confirmWrite(config, upOptions, `Apply ${describeMigrations(migrations)} to`);
      };
      let before = '0';
      const result = await (upOptions.dryRun ? read : write)((s) => {
        before = s.statuses.filter((m) => m.state === 'applied').map((m) => m.version).sort(compareVersions).at(-1) ?? '0';
        return up(s, { ...upOptions, beforeApply });
      }, upOptions.signal);
      await dumpAfter(result);
      await codegenAfter(result);
      const health = upOptions.skipHealthCheck ? null : await healthAfterUp(config, result, before, onEvent);
      return { ...result, health };
    },

    /** `cairn create`: the configured database, made when it does not exist (on PostgreSQL, on its server). */
    createDatabase: async (): Promise<DatabaseChange> => createDatabase((await resolved()).database),

    /**
     * `cairn drop`: the configured database and everything in it. Goes ahead only
     * with `yes`, or when `confirm` answers true to a question that names the
     * database and ends `Type "<name>" to confirm:`.
     */
    dropDatabase: async (confirmOptions: ConfirmOptions = {}): Promise<DatabaseChange> => {
      const { database } = await resolved();
      if (!confirmOptions.yes) {
        const name = databaseName(database);
        if (!confirmOptions.confirm) {
          throw new CairnError('CONFIRMATION_REQUIRED', `dropping ${database.display} deletes it and every row in it: pass --yes to drop it without a prompt`, {
            hint: 'nothing was dropped. Cairn asks only on a terminal; in scripts, `--yes` (library: { yes: true }) says you mean it',
            details: { database: database.display, reason: 'no-terminal' },
          });
        }
        if (!(await confirmOptions.confirm(`Drop ${database.display} and every row in it? Type "${name}" to confirm:`))) {
          throw new CairnError('CONFIRMATION_REQUIRED', 'not confirmed; nothing dropped', { hint: `to go ahead, type "${name}" at the prompt, or pass --yes`, details: { database: database.display, reason: 'declined' } });
        }
      }
      return dropDatabase(database);
    },

    /** Rolls back the newest applied migration, or `steps` of them, or all newer than `to`. */
    down: async (downOptions: Omit<DownOptions, 'beforeApply'> & ConfirmOptions = {}): Promise<RunResult> => {
      const beforeApply: BeforeApply = async (migrations, { dryRun }) => {
        if (!dryRun) await confirmWrite(await resolved(), downOptions, `Roll back ${describeMigrations(migrations)} on`);
      };
      // With nothing applied there is nothing to roll back: say so without creating the database or its history table.
      const nothingApplied = !downOptions.dryRun && (await read(async (s) => s.statuses.every((status) => status.record === null)));
      const result = await (downOptions.dryRun || nothingApplied ? read : write)((s) => down(s, { ...downOptions, beforeApply }), downOptions.signal);
      await dumpAfter(result);
      await codegenAfter(result);
      return result;
    },

    /** File names, markers and duplicates, and the applied files' checksums. Never throws for what it finds. */
    validate: async (): Promise<ValidationReport> => {
      const resolvedConfig = await resolved();
      try {
        const unfilled = unfilledProblems(readProjectMigrations(resolvedConfig));
        if (unfilled.length > 0) return { valid: false, problems: asValidationProblems(unfilled) };
      } catch (error) {
        const problems = fileProblems(error);
        return { valid: false, problems };
      }
      const problems = await read(async (session) => historyProblems(session.statuses));
      return { valid: problems.length === 0, problems };
    },

    /**
     * Replays every migration in a scratch database (a temporary SQLite file, a
     * temporary database on the PostgreSQL server, or PGlite in memory when the
     * migrations are PostgreSQL and no server is configured; `scratchUrl` picks
     * another server, or `pglite:`): up, down, up, comparing schemas. The
     * configured database is not touched. When the schema dump (schema.sql) exists,
     * the final schema must match it (`schema`: another file, or false to skip).
     * `from`: verify from that version on, starting from `baseline` (a dump) or
     * from the earlier migrations applied up only. Paths are relative to cwd.
     * Files without a down are checked with their generated down (`generated: false`: not).
     * A down that fails is rolled back and the replay goes on from the state after its up
     * (`bail`: stop there); `summary` counts what was checked, what failed by kind, what was not reached.
     */
    verify: async (
      verifyOptions: { readonly scratchUrl?: string; readonly schema?: string | false; readonly from?: string; readonly baseline?: string; readonly generated?: boolean; readonly bail?: boolean; readonly signal?: AbortSignal } = {},
    ): Promise<VerifyReport> => {
      const config = await resolved();
      const path = (file: string | undefined) => (file === undefined ? undefined : resolve(options.cwd ?? process.cwd(), file));
      return verify(config, {
        scratchUrl: verifyOptions.scratchUrl ? parseDatabaseUrl(verifyOptions.scratchUrl, config.root) : undefined,
        schema: verifyOptions.schema === false ? false : path(verifyOptions.schema),
        from: verifyOptions.from,
        baseline: path(verifyOptions.baseline),
        generated: verifyOptions.generated,
        onEvent,
        bail: verifyOptions.bail,
        signal: verifyOptions.signal,
      });
    },

    /**
     * The schema as SQL that recreates it (no data, no history table), headed by
     * the newest applied migration: `-- cairn: schema as of 0008_add_orders`.
     * Written to `output` (relative to cwd), by default the configured `schema`
     * file (schema.sql); `output: null` only returns it.
     */
    dump: async (dumpOptions: { readonly output?: string | null } = {}): Promise<WrittenDump> => {
      const config = await resolved();
      const path = dumpOptions.output === null ? null : dumpOptions.output === undefined ? config.schemaFile : resolve(options.cwd ?? process.cwd(), dumpOptions.output);
      return read((session) => dumpToFile(session, path));
    },

    /** Compares the live schema with what its applied migrations produce when replayed in a scratch database. */
    drift: async (driftOptions: { readonly scratchUrl?: string } = {}): Promise<DriftReport> => {
      const config = await resolved();
      const scratchUrl = driftOptions.scratchUrl ? parseDatabaseUrl(driftOptions.scratchUrl, config.root) : undefined;
      return read((session) => drift(session, { scratchUrl }));
    },

    /** The backups `up` made before destructive migrations (in .cairn/backups), oldest first. Reads files only. */
    backups: async (): Promise<BackupInfo[]> => listBackups((await resolved()).root),

    /** Remote D1: the Time Travel bookmarks `cairn up` recorded, one per run, with its migrations (read from the history). */
    bookmarks: (): Promise<BookmarkInfo[]> => read(async (s) => listBookmarks(s)),

    /** Puts the rows saved before migration `version` back (its newest backup), under the lock, in one transaction. */
    restore: (version: string, restoreOptions: RestoreOptions & ConfirmOptions = {}): Promise<RestoreResult> =>
      write(async (s) => {
        await confirmWrite(s.config, restoreOptions, `Restore the backup of ${version} into`);
        return restoreBackup(s, version, restoreOptions);
      }),

    /** Remote D1: the whole database back to the Time Travel bookmark recorded before the run that applied `version` (asks first, or `yes`). */
    restoreBookmark: (version: string, restoreOptions: ConfirmOptions = {}): Promise<BookmarkRestoreResult> => write((s) => restoreBookmark(s, version, restoreOptions)),

    /** Marks an existing database as migrated up to `to` without running anything. */
    baseline: (baselineOptions: { readonly to: string } & ConfirmOptions): Promise<BaselineResult> =>
      write(async (s) => {
        assertHistoryIntact(s.statuses);
        const marked = s.statuses.filter((m) => m.state === 'pending' && compareVersions(m.version, baselineOptions.to) <= 0);
        if (marked.length > 0) await confirmWrite(s.config, baselineOptions, `Mark ${describeMigrations(marked)} as applied, without running them, on`);
        return baseline(s, baselineOptions);
      }),

    /** Accepts edited checksums, forgets deleted files and clears failed records, after a human has reviewed them. */
    repair: (repairOptions: { readonly dryRun?: boolean } & ConfirmOptions = {}): Promise<RepairResult> =>
      repairOptions.dryRun
        ? read((s) => repair(s, repairOptions))
        : write(async (s) => {
            const preview = await repair(s, { dryRun: true });
            const count = preview.accepted.length + preview.forgotten.length + preview.cleared.length;
            if (count > 0) await confirmWrite(s.config, repairOptions, `Change ${count} history record${count === 1 ? '' : 's'} (${[...preview.accepted, ...preview.forgotten, ...preview.cleared].map((r) => `${r.version}_${r.name}`).join(', ')}) on`);
            return repair(s, repairOptions);
          }),

    /**
     * Lints migrations: `files` (paths of migrations in the project), or only the
     * pending ones, or all. Earlier migrations are replayed into the schema model
     * either way, so rules know what exists.
     */
    lint: async (lintOptions: { readonly files?: readonly string[]; readonly pending?: boolean } = {}): Promise<LintReport> => {
      const resolvedConfig = await resolved();
      const migrations = readProjectMigrations(resolvedConfig);
      let selected: Set<string> | undefined;
      if (lintOptions.files && lintOptions.files.length > 0) {
        const cwd = options.cwd ?? process.cwd();
        selected = new Set(
          lintOptions.files.map((file) => {
            const path = resolve(cwd, file);
            const found = migrations.find((m) => resolve(resolvedConfig.root, m.file) === path);
            if (!found) {
              throw new CairnError('USAGE', `${file} is not a migration in ${resolvedConfig.migrationsDir}`, {
                hint: 'name files inside the migrations directory (or point --dir at the folder that holds them)',
              });
            }
            return found.version;
          }),
        );
      }
      if (lintOptions.pending) {
        const pending = await read(async (session) => session.statuses.filter((s) => s.state === 'pending').map((s) => s.version));
        selected = new Set([...pending].filter((v) => !selected || selected.has(v)));
      }
      return lintProject(migrations, resolvedConfig.lint, selected);
    },

    /**
     * Many databases that take the same migrations (docs/fleet.md): the config's
     * `fleet` groups, or `targetsFile` (one URL a line). `up` runs the ordinary
     * `up` on each (lint check, lock, history table per database), at most
     * `concurrency` at once, `canary` first; a failure stops new targets unless
     * `keepGoing`. Returns every target's result; never throws for one target.
     */
    fleet: {
      up: (fleetOptions: FleetUpOptions = {}): Promise<FleetUpResult> => import('./fleet/up.js').then(({ fleetUp }) => fleetUp(options, fleetOptions)),
      /** Per migration, how many targets have it; per target, up to date, behind, failed or locked. Reads only. */
      status: (statusOptions: Pick<FleetUpOptions, 'targetsFile' | 'groups' | 'concurrency'> = {}): Promise<FleetStatusReport> => import('./fleet/status.js').then(({ fleetStatus }) => fleetStatus(options, statusOptions)),
      /** `down --to` on every target, with `up`'s concurrency, canary and failure policy; resumable (a target already at `to` is `unchanged`). */
      down: (downOptions: FleetDownOptions): Promise<FleetDownResult> => import('./fleet/down.js').then(({ fleetDown }) => fleetDown(options, downOptions)),
      /** The linter once per engine among the fleet's groups (not once per database). Opens and lists no database. */
      lint: (lintOptions: Pick<FleetUpOptions, 'targetsFile' | 'groups' | 'concurrency'> & { readonly pending?: boolean | undefined } = {}): Promise<FleetLintReport> => import('./fleet/lint.js').then(({ fleetLint }) => fleetLint(options, lintOptions)),
      /**
       * `verify` of the shared history once (per engine), then each target's drift: its schema next to what
       * its own applied migrations give, one replay per distinct history. `schema` relative to cwd. Reads only.
       */
      verify: (verifyOptions: FleetVerifyOptions = {}): Promise<FleetVerifyResult> =>
        import('./fleet/verify.js').then(({ fleetVerify }) => fleetVerify(options, {
          ...verifyOptions,
          schema: typeof verifyOptions.schema === 'string' ? resolve(options.cwd ?? process.cwd(), verifyOptions.schema) : verifyOptions.schema,
          // The history's replay tells its progress as `cairn verify` does, through this facade's onEvent.
          onVerifyEvent: verifyOptions.onVerifyEvent ?? onEvent,
        })),
    },

    /**
     * Writes TypeScript types of the schema after the migrations (docs/codegen.md) to
     * `out` (relative to cwd; default `codegen.out`, src/db/schema.ts): from a scratch
     * replay, or the configured database with `fromDb`. `check`: write nothing, say if stale.
     */
    codegen: async (codegenOptions: { readonly out?: string; readonly check?: boolean; readonly fromDb?: boolean } = {}): Promise<CodegenResult> => {
      const config = await resolved();
      const out = codegenOptions.out === undefined ? undefined : resolve(options.cwd ?? process.cwd(), codegenOptions.out);
      const { codegen } = await import('./codegen/index.js');
      return codegen(config, { out, check: codegenOptions.check, fromDb: codegenOptions.fromDb });
    },

    /**
     * The schema after the migrations as an entity-relationship diagram (`format`
     * svg, mermaid or dot), from a scratch replay or, with `fromDb`, the configured
     * database; written to `out` (relative to cwd) when given. docs/report.md.
     */
    schema: async (schemaOptions: { readonly format?: DiagramFormat; readonly out?: string; readonly fromDb?: boolean } = {}): Promise<SchemaDiagram> =>
      // The layout library loads with the command that draws, not at every start-up.
      (await import('./report/schema.js')).schemaDiagram(await resolved(), { ...schemaOptions, out: schemaOptions.out === undefined ? undefined : resolve(options.cwd ?? process.cwd(), schemaOptions.out) }),

    /**
     * One self-contained HTML page (`out`, relative to cwd): every environment's
     * history side by side, lint findings, the last recorded verify, backups and
     * the schema diagram. An unreachable environment is shown as such. docs/report.md.
     */
    report: async (reportOptions: { readonly out?: string; readonly schema?: boolean; readonly fromDb?: boolean } = {}): Promise<{ readonly report: ProjectReport; readonly html: string; readonly file: string | null }> =>
      (await import('./report/report.js')).projectReport(await resolved(), options, { ...reportOptions, out: reportOptions.out === undefined ? undefined : resolve(options.cwd ?? process.cwd(), reportOptions.out) }),

    /**
     * Writes the next migration from the schema you want (`to`, a file of CREATE
     * statements, relative to cwd): the migrations replayed in a scratch database
     * (or the live one, `fromDb`) compared with it. `print`: write nothing, return the text.
     */
    diff: async (name: string, diffOptions: Omit<DiffOptions, 'name'>): Promise<DiffResult> =>
      (await import('./evolve/diff.js')).diff(await resolved(), { ...diffOptions, name, to: resolve(options.cwd ?? process.cwd(), diffOptions.to) }),

    /** Writes cairn.config.ts, migrations/ and .gitignore entries in the working directory. */
    init: (): InitResult => init(options.cwd ?? process.cwd()),

    /**
     * Writes the next-numbered migration file with its header and up/down markers.
     * `from` is up SQL to put in it: the down is then generated from it where every
     * statement can be reversed (`generatedDown` says which inverse, or why none).
     */
    create: async (name: string, type?: MigrationType, createOptions: { readonly from?: string | undefined; readonly ts?: boolean } = {}): Promise<NewMigrationResult & { readonly generatedDown?: GeneratedDown }> => {
      const { migrationsDir, root, lint, migrationsPattern } = await resolved();
      if (createOptions.ts) return newScriptMigration(migrationsDir, root, name);
      if (createOptions.from === undefined) return newMigration(migrationsDir, root, name, type, new Date(), undefined, migrationsPattern);
      const { generated, ...body } = await sectionsFromUp(createOptions.from, UP_FIRST_LINE, lint);
      return { ...newMigration(migrationsDir, root, name, type, new Date(), body, migrationsPattern), generatedDown: generated };
    },
  };
}

export type Cairn = ReturnType<typeof createCairn>;
