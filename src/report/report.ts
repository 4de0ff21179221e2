import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, relative } from 'node:path';
import { resolveConfig, type ConfigOverrides, type ResolvedConfig } from '../config/load.js';
import { redactUrl } from '../config/url.js';
import type { MigrationState } from '../core/planner.js';
import { withSession } from '../core/session.js';
import { changesInFlight, type ChangeInFlight } from '../core/status.js';
import { lintProject, type Finding } from '../lint/index.js';
import { listBackups, type BackupInfo } from '../safety/backup.js';
import { readProjectMigrations } from '../source/files.js';
import type { Migration } from '../source/migration.js';
import { renderHtml } from './html.js';
import { schemaModel } from './model.js';
import { schemaSnapshot } from './schema.js';
import { renderSvg } from './svg.js';
import { readRecordedVerify, type RecordedVerify } from './verify-record.js';
import { wranglerCompanion } from '../wrangler/table.js';

/** Everything `cairn report` shows, JSON-safe (`cairn report --json` prints it). */
export interface ProjectReport {
  readonly project: string;
  readonly generatedAt: string;
  readonly migrations: readonly ReportedMigration[];
  readonly environments: readonly ReportedEnvironment[];
  readonly lint: { readonly errors: number; readonly warnings: number };
  readonly verify: RecordedVerify | null;
  readonly backups: readonly BackupInfo[];
  readonly schema: { readonly svg: string; readonly asOf: string | null; readonly tables: number; readonly views: number; readonly foreignKeys: number } | { readonly error: string };
}

export interface ReportedMigration {
  readonly version: string;
  readonly name: string;
  /** Relative to the project root. */
  readonly file: string;
  readonly type: string;
  readonly risk: string;
  readonly hasDown: boolean;
  readonly transaction: boolean;
  readonly findings: readonly Finding[];
  /** Findings silenced by `-- cairn:allow <rule> <reason>`. */
  readonly allowed: readonly { readonly rule: string; readonly reason: string }[];
}

/** One column of the history: an environment and what ran there, or why it could not be read. */
export interface ReportedEnvironment {
  readonly name: string;
  /** The database (no password); null when the environment's config could not be resolved. */
  readonly target: string | null;
  readonly protected: boolean;
  readonly follows: string | null;
  /** Why its history could not be read (unreachable, no such database, bad config); null when it was. */
  readonly error: string | null;
  /** By version; versions absent here are pending (or the history was not read). */
  readonly history: Readonly<Record<string, ReportedRun>>;
  readonly changes: readonly ChangeInFlight[];
}

export interface ReportedRun {
  /** As the history row names it (the file may be gone). */
  readonly name: string;
  readonly state: MigrationState;
  readonly appliedAt: string | null;
  readonly appliedBy: string | null;
  readonly durationMs: number | null;
  readonly error: string | null;
  readonly outOfOrder: boolean;
}

export interface ReportOptions {
  /** Absolute path of the HTML file; nothing is written without it. */
  readonly out?: string | undefined;
  /** Leave out the schema diagram (it replays every migration in a scratch database). */
  readonly schema?: boolean | undefined;
  /** Draw the diagram from the configured database instead of a scratch replay. */
  readonly fromDb?: boolean | undefined;
  readonly now?: Date | undefined;
}

/**
 * `cairn report`: reads every configured environment's history (read-only,
 * no lock), lints every migration once, picks up the last recorded verify and
 * the backups, draws the schema, and renders one self-contained HTML page.
 * An environment that cannot be reached is a column saying why, never a
 * failure of the report; with no environments the configured database is the
 * only column.
 */
export async function projectReport(config: ResolvedConfig, overrides: ConfigOverrides, options: ReportOptions = {}): Promise<{ report: ProjectReport; html: string; file: string | null }> {
  const migrations = readProjectMigrations(config);
  const lint = await lintProject(migrations, config.lint);
  const byVersion = new Map(lint.files.map((f) => [f.version, f]));
  const reported = migrations.map((m): ReportedMigration => {
    const linted = byVersion.get(m.version);
    return {
      version: m.version,
      name: m.name,
      file: m.file,
      type: linted?.classification.type ?? 'unknown',
      risk: linted?.classification.risk ?? 'unknown',
      hasDown: m.down !== null,
      transaction: m.transaction,
      findings: linted?.findings ?? [],
      allowed: (linted?.allowed ?? []).map((a) => ({ rule: a.rule, reason: a.reason })),
    };
  });

  const names = config.environments;
  const environments = names.length === 0
    ? [await readEnvironment(config.environment || 'default', async () => config, config, migrations)]
    : await Promise.all(names.map((name) => readEnvironment(name, () => resolveConfig({ ...environmentOverrides(overrides), env: name }), config, migrations)));

  let schema: ProjectReport['schema'];
  if (options.schema === false) schema = { error: 'left out (--no-schema)' };
  else {
    try {
      const { snapshot, views: viewColumns, asOf } = await schemaSnapshot(config, options.fromDb ?? false);
      const model = schemaModel(snapshot, viewColumns);
      const views = model.relations.filter((r) => r.kind !== 'table').length;
      schema = { svg: renderSvg(model, { title: `Schema as of ${asOf ?? 'no migration'}` }), asOf, tables: model.relations.length - views, views, foreignKeys: model.edges.filter((e) => e.kind === 'foreign key').length };
    } catch (error) {
      schema = { error: redactUrl((error as Error).message) };
    }
  }

  const report: ProjectReport = {
    project: basename(config.root),
    generatedAt: (options.now ?? new Date()).toISOString(),
    migrations: reported,
    environments,
    lint: { errors: lint.errors, warnings: lint.warnings },
    verify: readRecordedVerify(config.root),
    backups: listBackups(config.root),
    schema,
  };
  const html = renderHtml(report);
  if (options.out) {
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, html);
  }
  return { report, html, file: options.out ? relative(config.root, options.out) || options.out : null };
}

/** What picks one database (--url, --env, --d1) is the report's to choose per environment; the rest (--config, --dir, --table) holds for all. */
function environmentOverrides(overrides: ConfigOverrides): ConfigOverrides {
  const { url: _url, env: _env, d1: _d1, remote: _remote, persistTo: _persistTo, ...rest } = overrides;
  return rest;
}

/** The files read once for the report serve an environment that reads the same ones (the same folder, pattern and encoding). */
function sameFiles(a: ResolvedConfig, b: ResolvedConfig): boolean {
  return a.root === b.root && a.migrationsDir === b.migrationsDir && a.migrationsPattern === b.migrationsPattern && a.encoding === b.encoding;
}

async function readEnvironment(name: string, configOf: () => Promise<ResolvedConfig>, project: ResolvedConfig, migrations: readonly Migration[]): Promise<ReportedEnvironment> {
  let config: ResolvedConfig;
  try {
    config = await configOf();
  } catch (error) {
    return { name, target: null, protected: false, follows: null, error: redactUrl((error as Error).message), history: {}, changes: [] };
  }
  const settings = config.environmentSettings;
  const base = { name, target: config.database.display, protected: settings?.protected ?? false, follows: settings?.follows ?? null };
  try {
    const read = sameFiles(config, project) ? migrations : undefined;
    return await withSession(config, { write: false, onEvent: () => undefined, companion: wranglerCompanion, migrations: read }, async (session) => {
      const history: Record<string, ReportedRun> = {};
      for (const s of session.statuses) {
        if (s.state === 'pending' && !s.outOfOrder) continue;
        history[s.version] = {
          name: s.name,
          state: s.state,
          appliedAt: s.record?.appliedAt.toISOString() ?? null,
          appliedBy: s.record?.appliedBy ?? null,
          durationMs: s.record?.durationMs ?? null,
          error: s.record?.error ?? null,
          outOfOrder: s.outOfOrder,
        };
      }
      return { ...base, error: null, history, changes: changesInFlight(session.statuses, settings) };
    });
  } catch (error) {
    return { ...base, error: redactUrl((error as Error).message), history: {}, changes: [] };
  }
}
