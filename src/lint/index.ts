import type { ResolvedLintConfig } from '../config/load.js';
import { CairnError } from '../errors.js';
import type { Migration } from '../source/migration.js';
import { fingerprintOf, LintCache } from './cache.js';
import type { FileLint, LintReport } from './linter.js';
import type { LintTarget } from './types.js';

export { formatFinding, formatText } from './format/text.js';
export { formatGithub } from './format/github.js';
export { formatSarif } from './format/sarif.js';
export type { Classification } from './classify.js';
export type { FileLint, LintReport } from './linter.js';
export type { Finding, LintTarget, Rule, Severity } from './types.js';

/**
 * Lints with the project's lint settings; `selected` limits which versions report findings.
 * Results come from the lint cache (cache.ts) where it has them; the linter, its rules and
 * the parsers load only for the files it does not have: `cairn status` after `cairn up`, and
 * `cairn up` after `cairn lint`, parse nothing.
 */
export async function lintProject(migrations: readonly Migration[], config: ResolvedLintConfig, selected?: ReadonlySet<string>): Promise<LintReport> {
  const wanted = migrations.filter((m) => !selected || selected.has(m.version));
  const sqliteVersion = config.sqliteVersion ?? (config.dialect === 'sqlite' ? await bundledSqliteVersion() : null);
  const cache = config.cache
    ? new LintCache(config.cache, fingerprintOf({ dialect: config.dialect, postgresVersion: config.postgresVersion, sqliteVersion, d1: config.d1, cairnLockTimeout: config.cairnLockTimeout ?? false, rules: config.rules, header: config.header }))
    : null;
  const keys = cache?.keys(migrations) ?? [];
  const keyOf = new Map(migrations.map((m, i) => [m.version, keys[i]!]));
  const cached = new Map<string, FileLint>();
  if (cache) {
    for (const m of wanted) {
      const hit = cache.get(keyOf.get(m.version)!);
      if (hit) cached.set(m.version, hit);
    }
  }
  const target = cached.size === wanted.length && wanted.length > 0 ? cache!.target() : undefined;
  // Every file answered from the cache: these settings were checked when it was written.
  if (target) return reportOf(target, wanted.map((m) => cached.get(m.version)!));

  const [{ lintMigrations }, { rules }] = await Promise.all([import('./linter.js'), import('./registry.js')]);
  const known = new Set([...rules.map((r) => r.id), 'syntax-error', 'invalid-allow', 'unused-allow']);
  const unknown = Object.keys(config.rules).filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new CairnError('CONFIG', `lint.rules names unknown rule${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')}`, {
      hint: `rule ids: ${[...known].sort().join(', ')}`,
    });
  }
  const lintTarget: LintTarget = {
    dialect: config.dialect,
    postgresVersion: config.postgresVersion,
    sqliteVersion,
    d1: config.d1,
    cairnLockTimeout: config.cairnLockTimeout,
  };
  if (wanted.length === 0) return reportOf(lintTarget, []);
  const missing = new Set(wanted.filter((m) => !cached.has(m.version)).map((m) => m.version));
  if (!cache) return lintMigrations(migrations, { target: lintTarget, severities: config.rules, header: config.header }, selected);
  // The schema model saved by an earlier run, up to the first file to lint: the files before it are not replayed.
  const firstMissing = migrations.findIndex((m) => missing.has(m.version));
  const model = config.dialect === 'sqlite' ? cache.model(keys.slice(0, firstMissing)) : undefined;
  const linted = await lintMigrations(migrations, { target: lintTarget, severities: config.rules, header: config.header, model, keepModel: (image) => cache.saveModel(keys.at(-1)!, image) }, missing);
  const fresh = new Map(linted.files.map((f) => [f.version, f]));
  cache.save(lintTarget, keys, new Map([...fresh].map(([version, f]) => [keyOf.get(version)!, f])));
  return reportOf(lintTarget, wanted.map((m) => fresh.get(m.version) ?? cached.get(m.version)!));
}

function reportOf(target: LintTarget, files: readonly FileLint[]): LintReport {
  let errors = 0;
  let warnings = 0;
  for (const finding of files.flatMap((f) => f.findings)) {
    if (finding.severity === 'error') errors++;
    else if (finding.severity === 'warning') warnings++;
  }
  return { target, files, errors, warnings };
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
