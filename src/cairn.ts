import { resolve } from 'node:path';
import { resolveConfig, type ConfigOverrides, type ResolvedConfig } from './config/load.js';
import { parseDatabaseUrl } from './config/url.js';
import { drift, type DriftReport } from './core/drift.js';
import { CairnError } from './core/errors.js';
import type { CairnEvent } from './core/events.js';
import { baseline, repair, type BaselineResult, type RepairResult } from './core/history.js';
import { assertKnownVersion } from './core/planner.js';
import { init, newMigration, type InitResult, type MigrationType, type NewMigrationResult } from './core/scaffold.js';
import { withSession } from './core/session.js';
import { status, type StatusReport } from './core/status.js';
import { down, up, type DownOptions, type RunResult, type UpOptions } from './core/up.js';
import { fileProblems, historyProblems, type ValidationReport } from './core/validate.js';
import { verify, type VerifyReport } from './core/verify.js';
import { lintProject, type LintReport } from './lint/index.js';
import { readMigrations } from './source/files.js';

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
  const read = async <T>(work: Parameters<typeof withSession<T>>[2]) => withSession(await resolved(), { write: false, onEvent }, work);
  const write = async <T>(work: Parameters<typeof withSession<T>>[2]) => withSession(await resolved(), { write: true, onEvent }, work);

  return {
    /** The configuration every call uses (database URL redacted in `database.display`). */
    config: resolved,

    status: (): Promise<StatusReport> => read(status),

    /** Applies pending migrations in order; stops at the first failure, which is rolled back whole. */
    up: async (upOptions: UpOptions = {}): Promise<RunResult> => {
      // A bad --to is known from the files alone: say so before opening (and creating) the database.
      if (upOptions.to !== undefined) {
        const { migrationsDir, root } = await resolved();
        assertKnownVersion(readMigrations(migrationsDir, root), upOptions.to);
      }
      return upOptions.dryRun ? read((s) => up(s, upOptions)) : write((s) => up(s, upOptions));
    },

    /** Rolls back the newest applied migration, or `steps` of them, or all newer than `to`. */
    down: (downOptions: DownOptions = {}): Promise<RunResult> => (downOptions.dryRun ? read((s) => down(s, downOptions)) : write((s) => down(s, downOptions))),

    /** File names, markers and duplicates, and the applied files' checksums. Never throws for what it finds. */
    validate: async (): Promise<ValidationReport> => {
      const resolvedConfig = await resolved();
      try {
        readMigrations(resolvedConfig.migrationsDir, resolvedConfig.root);
      } catch (error) {
        const problems = fileProblems(error);
        return { valid: false, problems };
      }
      const problems = await read(async (session) => historyProblems(session.statuses));
      return { valid: problems.length === 0, problems };
    },

    /**
     * Replays every migration in a scratch database (a temporary SQLite file, or a
     * temporary database on the PostgreSQL server; `scratchUrl` picks another
     * server): up, down, up, comparing schemas. The configured database is not touched.
     */
    verify: async (verifyOptions: { readonly scratchUrl?: string } = {}): Promise<VerifyReport> => {
      const config = await resolved();
      return verify(config, { scratchUrl: verifyOptions.scratchUrl ? parseDatabaseUrl(verifyOptions.scratchUrl, config.root) : undefined });
    },

    /** Compares the live schema with what its applied migrations produce when replayed in a scratch database. */
    drift: async (driftOptions: { readonly scratchUrl?: string } = {}): Promise<DriftReport> => {
      const config = await resolved();
      const scratchUrl = driftOptions.scratchUrl ? parseDatabaseUrl(driftOptions.scratchUrl, config.root) : undefined;
      return read((session) => drift(session, { scratchUrl }));
    },

    /** Marks an existing database as migrated up to `to` without running anything. */
    baseline: (baselineOptions: { readonly to: string }): Promise<BaselineResult> => write((s) => baseline(s, baselineOptions)),

    /** Accepts edited checksums, forgets deleted files and clears failed records, after a human has reviewed them. */
    repair: (repairOptions: { readonly dryRun?: boolean } = {}): Promise<RepairResult> =>
      repairOptions.dryRun ? read((s) => repair(s, repairOptions)) : write((s) => repair(s, repairOptions)),

    /**
     * Lints migrations: `files` (paths of migrations in the project), or only the
     * pending ones, or all. Earlier migrations are replayed into the schema model
     * either way, so rules know what exists.
     */
    lint: async (lintOptions: { readonly files?: readonly string[]; readonly pending?: boolean } = {}): Promise<LintReport> => {
      const resolvedConfig = await resolved();
      const migrations = readMigrations(resolvedConfig.migrationsDir, resolvedConfig.root);
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

    /** Writes cairn.config.ts, migrations/ and .gitignore entries in the working directory. */
    init: (): InitResult => init(options.cwd ?? process.cwd()),

    /** Writes the next-numbered migration file with its header and up/down markers. */
    create: async (name: string, type?: MigrationType): Promise<NewMigrationResult> => {
      const { migrationsDir, root } = await resolved();
      return newMigration(migrationsDir, root, name, type);
    },
  };
}

export type Cairn = ReturnType<typeof createCairn>;
