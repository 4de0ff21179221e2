import { readMigrations } from '../../src/source/files.js';
import { lintMigrations, type LintReport } from '../../src/lint/linter.js';
import type { Dialect, Finding, LintTarget, Rule, Severity } from '../../src/lint/types.js';
import { tempDir, writeMigrations } from './databases.js';

export interface LintFixtureOptions {
  readonly dialect: Dialect;
  /** Only these rules (default: every registered rule). */
  readonly rules?: readonly Rule[];
  readonly d1?: boolean;
  readonly postgresVersion?: number;
  readonly sqliteVersion?: string;
  readonly severities?: Readonly<Record<string, Severity | 'off'>>;
  /** lint.header: 'required' makes the header rules check files without any header field. */
  readonly header?: 'opt-in' | 'required';
  /** Cairn sets lock_timeout itself (config statementLockTimeout on). */
  readonly cairnLockTimeout?: boolean;
}

export function targetFor(options: LintFixtureOptions): LintTarget {
  return { dialect: options.dialect, d1: options.d1 ?? false, postgresVersion: options.postgresVersion ?? 15, sqliteVersion: options.sqliteVersion ?? '3.45.0', cairnLockTimeout: options.cairnLockTimeout ?? false };
}

/** Lints real migration files written to a temp project; every file is linted. */
export async function lintFiles(files: Readonly<Record<string, string>>, options: LintFixtureOptions): Promise<LintReport> {
  const root = tempDir('cairn-lint-');
  const migrations = readMigrations(writeMigrations(root, files), root);
  return lintMigrations(migrations, { target: targetFor(options), rules: options.rules, severities: options.severities, header: options.header });
}

/**
 * Findings for `sql` as migration 0002_change.sql, after `previous` (if given)
 * as 0001_previous.sql, which sets up the schema the change runs against.
 * `sql` may carry its own markers and directives.
 */
export async function findingsFor(sql: string, options: LintFixtureOptions & { readonly previous?: string; readonly fileName?: string }): Promise<Finding[]> {
  const files: Record<string, string> = {};
  if (options.previous) files['0001_previous.sql'] = options.previous;
  const name = options.fileName ?? '0002_change.sql';
  files[name] = sql;
  const report = await lintFiles(files, options);
  return report.files.find((f) => f.file.endsWith(name))!.findings as Finding[];
}

/** `rule@line` for compact assertions. */
export function brief(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.rule}@${f.line}`);
}
