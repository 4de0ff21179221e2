import type { ConfigOverrides } from '../config/load.js';
import { lintProject, type LintReport } from '../lint/index.js';
import { readMigrations } from '../source/files.js';
import { fleetEngines } from './engines.js';
import { fleetConfig, selectTargets } from './run.js';
import type { TargetSelection } from './targets.js';

export interface FleetLintReport {
  /** Error and warning findings over every engine's report. */
  readonly errors: number;
  readonly warnings: number;
  readonly total: number;
  /** One report per engine among the targets (the rules differ between SQLite, D1 and PostgreSQL), never one per target. */
  readonly engines: readonly { readonly engine: string; readonly targets: number; readonly report: LintReport }[];
}

/**
 * The linter over the fleet's migrations, once per engine among its
 * targets: what it finds depends on the files and the dialect, not on which
 * tenant. Opens no database.
 */
export async function fleetLint(overrides: ConfigOverrides, options: Omit<TargetSelection, 'cwd'> = {}): Promise<FleetLintReport> {
  const base = await fleetConfig(overrides);
  const targets = await selectTargets(base, overrides, options);
  const migrations = readMigrations(base.migrationsDir, base.root, base.encoding);
  const engines = [];
  for (const { engine, targets: count, config } of await fleetEngines(targets, overrides)) engines.push({ engine, targets: count, report: await lintProject(migrations, config.lint) });
  return {
    errors: engines.reduce((sum, e) => sum + e.report.errors, 0),
    warnings: engines.reduce((sum, e) => sum + e.report.warnings, 0),
    total: targets.length,
    engines,
  };
}
