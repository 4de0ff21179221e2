import type { ConfigOverrides } from '../config/load.js';
import { lintProject, type LintReport } from '../lint/index.js';
import { readProjectMigrations } from '../source/files.js';
import { fleetEngines } from './engines.js';
import { fleetConfig } from './run.js';
import { fleetEntries, type TargetSelection } from './targets.js';
import { fleetStatus } from './status.js';

export interface FleetLintReport {
  /** Error and warning findings over every engine's report. */
  readonly errors: number;
  readonly warnings: number;
  /** One report per engine among the fleet's groups (the rules differ between SQLite, D1 and PostgreSQL), never one per target; with the groups of that engine. */
  readonly engines: readonly { readonly engine: string; readonly groups: readonly string[]; readonly report: LintReport }[];
  /** `--pending`: the versions linted, those some target of the engine has not applied (a target that could not be read counts as needing all). */
  readonly pending?: readonly { readonly engine: string; readonly versions: readonly string[]; readonly unreadable: readonly string[] }[];
}

export interface FleetLintOptions extends Omit<TargetSelection, 'cwd'> {
  /** Lint only the migrations some target has not applied yet: reads every target's history (as `fleet status` does). */
  readonly pending?: boolean | undefined;
  readonly concurrency?: number | undefined;
}

/**
 * The linter over the fleet's migrations, once per engine among its groups:
 * what it finds depends on the files and the dialect, not on which tenant.
 * Opens no database and lists none (no glob, no schema list, no D1 API):
 * it needs no credentials, in a CI job that has none.
 */
export async function fleetLint(overrides: ConfigOverrides, options: FleetLintOptions = {}): Promise<FleetLintReport> {
  const base = await fleetConfig(overrides);
  const entries = fleetEntries(base, { ...options, cwd: overrides.cwd ?? process.cwd() });
  const migrations = readProjectMigrations(base);
  // --pending reads each target's history (read-only, bounded like `fleet status`); without it no database is opened.
  const statuses = options.pending ? (await fleetStatus(overrides, options)).targets : null;
  const engines = [];
  const pending = [];
  for (const { engine, config } of await fleetEngines(entries, overrides)) {
    const groups = [...new Set(entries.filter((e) => e.url.scheme === engine).map((e) => e.group))];
    let selected: Set<string> | undefined;
    if (statuses) {
      const mine = statuses.filter((t) => groups.includes(t.group));
      // A target whose history could not be read may need anything: lint it all.
      const unreadable = mine.filter((t) => t.state === 'failed' && t.applied === 0 && t.pending.length === 0 && t.reason !== null).map((t) => t.target);
      selected = unreadable.length > 0 ? new Set(migrations.map((m) => m.version)) : new Set(mine.flatMap((t) => t.pending));
      pending.push({ engine, versions: migrations.map((m) => m.version).filter((v) => selected!.has(v)), unreadable });
    }
    engines.push({ engine, groups, report: await lintProject(migrations, config.lint, selected) });
  }
  return { errors: engines.reduce((sum, e) => sum + e.report.errors, 0), warnings: engines.reduce((sum, e) => sum + e.report.warnings, 0), engines, ...(statuses ? { pending } : {}) };
}
