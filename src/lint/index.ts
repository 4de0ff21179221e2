import type { ResolvedLintConfig } from '../config/load.js';
import { CairnError } from '../core/errors.js';
import type { Migration } from '../source/migration.js';
import type { LintReport } from './linter.js';
import type { LintTarget } from './types.js';

export { formatFinding, formatText } from './format/text.js';
export { formatGithub } from './format/github.js';
export { formatSarif } from './format/sarif.js';
export type { Classification } from './classify.js';
export type { FileLint, LintReport } from './linter.js';
export type { Finding, LintTarget, Rule, Severity } from './types.js';

/**
 * Lints with the project's lint settings; `selected` limits which versions report findings.
 * The linter, its rules and the parsers load here, on first use: `cairn status` and an `up`
 * with nothing pending do not pay for them.
 */
export async function lintProject(migrations: readonly Migration[], config: ResolvedLintConfig, selected?: ReadonlySet<string>): Promise<LintReport> {
  const [{ lintMigrations }, { rules }] = await Promise.all([import('./linter.js'), import('./registry.js')]);
  const known = new Set([...rules.map((r) => r.id), 'syntax-error', 'invalid-allow', 'unused-allow']);
  const unknown = Object.keys(config.rules).filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new CairnError('CONFIG', `lint.rules names unknown rule${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')}`, {
      hint: `rule ids: ${[...known].sort().join(', ')}`,
    });
  }
  const target: LintTarget = {
    dialect: config.dialect,
    postgresVersion: config.postgresVersion,
    sqliteVersion: config.sqliteVersion ?? (await bundledSqliteVersion()),
    d1: config.d1,
    cairnLockTimeout: config.cairnLockTimeout,
  };
  return lintMigrations(migrations, { target, severities: config.rules, header: config.header }, selected);
}

let sqliteVersion: Promise<string> | undefined;

/** The SQLite that Cairn applies migrations with: the default lint target. */
function bundledSqliteVersion(): Promise<string> {
  sqliteVersion ??= import('better-sqlite3').then(({ default: Database }) => {
    const db = new Database(':memory:');
    try {
      return (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    } finally {
      db.close();
    }
  });
  return sqliteVersion;
}
