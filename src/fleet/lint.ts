import type { ConfigOverrides } from '../config/load.js';
import { lintProject, type LintReport } from '../lint/index.js';
import { readProjectMigrations } from '../source/files.js';
import { fleetEngines } from './engines.js';
import { fleetConfig } from './run.js';
import { fleetEntries, type TargetSelection } from './targets.js';

export interface FleetLintReport {
  /** Error and warning findings over every engine's report. */
  readonly errors: number;
  readonly warnings: number;
  /** One report per engine among the fleet's groups (the rules differ between SQLite, D1 and PostgreSQL), never one per target; with the groups of that engine. */
  readonly engines: readonly { readonly engine: string; readonly groups: readonly string[]; readonly report: LintReport }[];
}

/**
 * The linter over the fleet's migrations, once per engine among its groups:
 * what it finds depends on the files and the dialect, not on which tenant.
 * Opens no database and lists none (no glob, no schema list, no D1 API):
 * it needs no credentials, in a CI job that has none.
 */
export async function fleetLint(overrides: ConfigOverrides, options: Omit<TargetSelection, 'cwd'> = {}): Promise<FleetLintReport> {
  const base = await fleetConfig(overrides);
  const entries = fleetEntries(base, { ...options, cwd: overrides.cwd ?? process.cwd() });
  const migrations = readProjectMigrations(base);
  const engines = [];
  for (const { engine, config } of await fleetEngines(entries, overrides)) {
    const groups = [...new Set(entries.filter((e) => e.url.scheme === engine).map((e) => e.group))];
    engines.push({ engine, groups, report: await lintProject(migrations, config.lint) });
  }
  return { errors: engines.reduce((sum, e) => sum + e.report.errors, 0), warnings: engines.reduce((sum, e) => sum + e.report.warnings, 0), engines };
}
