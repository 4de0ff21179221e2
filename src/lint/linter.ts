import { batchesOf } from '../source/batch.js';
import Database from 'better-sqlite3';
import type { Migration } from '../source/migration.js';
import { classify, tablesAtRisk, withFindings, type Classification } from './classify.js';
import { isDataChange, isSchemaChange } from './facts.js';
import { parsePostgres } from './parse/postgres.js';
import { parseSqlite } from './parse/sqlite.js';
import { rules as allRules } from './registry.js';
import { PostgresSchema } from './schema/postgres.js';
import { allowsOf } from './suppress.js';
import type { FileContext, Finding, LintStatement, LintTarget, Report, Rule, Severity, StatementContext } from './types.js';
import { positionIn } from '../sql/position.js';

export interface LintOptions {
  readonly target: LintTarget;
  /** Per-rule severity or `off`, from the config. */
  readonly severities?: Readonly<Record<string, Severity | 'off'>>;
  /** The rules to run (default: all of them); tests pass one. */
  readonly rules?: readonly Rule[];
  /** False: parse every statement in full, even a data statement whose shape was seen before (see parse/shape.ts). */
  readonly fastPath?: boolean;
  /** 'required': header rules check every file; default 'opt-in': only files that carry a header field. */
  readonly header?: 'opt-in' | 'required';
  /**
   * SQLite: the schema model as it stood after the first `count` migrations (an image of the
   * in-memory database, from `keepModel`): those are not replayed again. Each DDL statement
   * costs SQLite a scan of its whole schema, so replaying a long history grows with its square.
   */
  readonly model?: { readonly count: number; readonly image: Buffer };
  /** SQLite: receives the image of the schema model after the last migration. */
  readonly keepModel?: (image: Buffer) => void;
}

export interface FileLint {
  readonly file: string;
  readonly version: string;
  readonly name: string;
  readonly classification: Classification;
  /** Tables whose existing rows this migration can destroy: what `cairn up` backs up first. */
  readonly tablesAtRisk: readonly string[];
  /** Lines of the up section's `-- cairn:batch` statements: the file then runs outside one transaction. */
  readonly batched: readonly number[];
  readonly findings: readonly Finding[];
  /** Findings an `-- cairn:allow` covered, with its reason. */
  readonly allowed: readonly (Finding & { readonly reason: string })[];
  /** A TypeScript migration: its SQL is built when it runs, so it is not linted. */
  readonly script?: true;
}

export interface LintReport {
  readonly target: LintTarget;
  readonly files: readonly FileLint[];
  readonly errors: number;
  readonly warnings: number;
}

/**
 * Lints `selected` (default: all) of the project's migrations. Every earlier
 * migration is replayed into the schema model first, so a rule knows whether a
 * table existed, was created in this same file, is indexed or referenced.
 */
export async function lintMigrations(migrations: readonly Migration[], options: LintOptions, selected?: ReadonlySet<string>): Promise<LintReport> {
  const { target } = options;
  const rules = (options.rules ?? allRules).filter((rule) => rule.dialects.includes(target.dialect) && options.severities?.[rule.id] !== 'off');
  const knownIds = new Set((options.rules ?? allRules).map((r) => r.id).concat(META_RULES));
  const activeIds = new Set(rules.map((r) => r.id).concat(META_RULES));
  const postgres = target.dialect === 'postgres' ? new PostgresSchema() : null;
  const start = target.dialect === 'sqlite' && options.model ? options.model : null;
  const sqlite = target.dialect === 'sqlite' ? new Database(start ? start.image : ':memory:') : null;
  // Every table and index takes at least a page: small pages keep a long history's model (and its saved image) small.
  if (sqlite && !start) sqlite.pragma('page_size = 512');
  const files: FileLint[] = [];
  try {
    for (const [index, migration] of migrations.entries()) {
      if (start && index < start.count) continue;
      if (selected && !selected.has(migration.version)) {
        await replay(migration, postgres, sqlite);
        continue;
      }
      if (migration.script) {
        files.push({ ...settle(migration, [], [], options, knownIds, activeIds), batched: migration.script.batchLines, script: true });
        continue;
      }
      const parseOptions = { fastPath: options.fastPath ?? true };
      const statements = target.dialect === 'postgres' ? await parsePostgres(migration.up.statements, parseOptions) : await parseSqlite(migration.up.statements, parseOptions);
      const reports: { rule: Rule | string; statement: LintStatement | null; report: Report }[] = [];
      const file: FileContext = { migration, statements, target, inTransaction: migration.transaction, headerConvention: options.header === 'required' || hasHeaderField(migration) };
      const created = new Set<string>();
      // One context for the whole file, pointed at each statement in turn (a rule must not keep it).
      let current = 0;
      const context: StatementContext = {
        ...file,
        // Copied only for the rule that asks (a statement it reports on): copying for every statement would be quadratic.
        get before() {
          return statements.slice(0, current);
        },
        createdHere: (table) => created.has(table),
        postgres,
        sqlite,
      };
      for (const statement of statements) {
        current = statement.index;
        const before = reports.length;
        for (const rule of rules) for (const report of rule.statement?.(statement, context) ?? []) reports.push({ rule, statement, report });
        if (statement.parseError && reports.length === before) {
          reports.push({ rule: 'syntax-error', statement, report: { message: `does not parse: ${statement.parseError}`, help: 'fix the syntax; the database would reject this statement', offset: statement.parseErrorOffset } });
        }
        if (statement.fact.kind === 'create_table') created.add(statement.fact.table);
        // Data statements change no schema: their trees stay unread (and unparsed, on the fast path).
        if (postgres && !isDataChange(statement.fact)) postgres.apply(statement.pg);
        if (sqlite && isSchemaChange(statement.fact)) applyToSqlite(sqlite, statement.sql);
      }
      for (const rule of rules) for (const report of rule.file?.(file) ?? []) reports.push({ rule, statement: statements[report.statement ?? -1] ?? null, report });
      files.push(settle(migration, statements, reports, options, knownIds, activeIds));
    }
    if (sqlite && options.keepModel) options.keepModel(sqlite.serialize());
  } finally {
    sqlite?.close();
  }
  const all = files.flatMap((f) => f.findings);
  return { target, files, errors: all.filter((f) => f.severity === 'error').length, warnings: all.filter((f) => f.severity === 'warning').length };
}

/** The header fields `cairn new` writes: a file with any of them has opted into the convention. */
function hasHeaderField(migration: Migration): boolean {
  return ['migration', 'type', 'rollback'].some((key) => key in migration.header);
}

/** Findings about `-- cairn:allow` itself and statements that do not parse. */
const META_RULES = ['syntax-error', 'invalid-allow', 'unused-allow'];
const META_SEVERITY: Record<string, Severity> = { 'syntax-error': 'error', 'invalid-allow': 'error', 'unused-allow': 'warning' };

function settle(
  migration: Migration,
  statements: readonly LintStatement[],
  reports: readonly { rule: Rule | string; statement: LintStatement | null; report: Report }[],
  options: LintOptions,
  knownIds: ReadonlySet<string>,
  activeIds: ReadonlySet<string>,
): FileLint {
  const lines = migration.up.text.split('\n');
  const at = (line: number, column: number): { line: number; column: number; source: string } => ({ line, column, source: lines[line - migration.up.firstLine] ?? '' });
  const allows = allowsOf(migration, statements);
  const used = new Set<number>();
  const findings: Finding[] = [];
  const allowed: (Finding & { reason: string })[] = [];

  for (const { rule, statement, report } of reports) {
    const id = typeof rule === 'string' ? rule : rule.id;
    const severity = (options.severities?.[id] as Severity | undefined) ?? report.severity ?? (typeof rule === 'string' ? META_SEVERITY[id]! : rule.severity);
    // A finding about the file itself (its name, its header) points at its first line.
    const position = statement ? locate(statement, report.offset) : null;
    const where = position ? at(position.line, position.column) : { line: 1, column: 1, source: '' };
    const finding: Finding = { rule: id, severity, file: migration.file, ...where, message: report.message, help: report.help };
    const allow = allows.findIndex((a) => a.rule === id && a.reason && (a.statement === null || a.statement === statement?.index));
    if (allow >= 0) {
      used.add(allow);
      allowed.push({ ...finding, reason: allows[allow]!.reason });
    } else {
      findings.push(finding);
    }
  }
  allows.forEach((allow, index) => {
    const where = at(allow.line, 1);
    const base = { file: migration.file, ...where };
    if (!knownIds.has(allow.rule)) {
      findings.push({ ...base, rule: 'invalid-allow', severity: 'error', message: `"${allow.rule}" is not a rule id`, help: `rule ids are kebab-case, as printed in findings; known: ${[...knownIds].sort().join(', ')}` });
    } else if (!allow.reason) {
      findings.push({ ...base, rule: 'invalid-allow', severity: 'error', message: `allowing ${allow.rule} needs a reason`, help: `write why it is safe here: -- cairn:allow ${allow.rule} <reason>` });
    } else if (!used.has(index) && activeIds.has(allow.rule)) {
      // (An allow for a rule of the other dialect, or one turned off, is kept quiet: one file can serve both engines.)
      findings.push({ ...base, rule: 'unused-allow', severity: 'warning', message: `-- cairn:allow ${allow.rule} suppresses nothing`, help: 'remove it, or move it to the line right before the statement it is meant for' });
    }
  });
  findings.sort((a, b) => a.line - b.line || a.column - b.column);
  const classification = withFindings(classify(statements), [...findings, ...allowed].map((f) => f.severity));
  return { file: migration.file, version: migration.version, name: migration.name, classification, tablesAtRisk: tablesAtRisk(statements), batched: [...batchesOf(migration, migration.up).batches.values()].map((b) => b.line), findings, allowed };
}

/** An offset inside a statement → file line and column. */
export function locate(statement: LintStatement, offset: number | undefined): { line: number; column: number } {
  return positionIn(statement, offset ?? 0);
}

/**
 * A migration that is not being reported on only has to leave its mark on the
 * schema model: apply its DDL without the full parse (SQLite judges it), or
 * parse only its DDL (PostgreSQL). This keeps `up` with one file pending on top
 * of a long history fast.
 */
const DDL = /^\s*(CREATE|ALTER|DROP)\b/i;

async function replay(migration: Migration, postgres: PostgresSchema | null, sqlite: Database.Database | null): Promise<void> {
  const ddl = migration.up.statements.filter((statement) => DDL.test(statement.sql));
  if (sqlite) for (const statement of ddl) applyToSqlite(sqlite, statement.sql);
  if (postgres) for (const statement of await parsePostgres(ddl)) postgres.apply(statement.pg);
}

function applyToSqlite(db: Database.Database, sql: string): void {
  try {
    db.exec(sql);
  } catch {
    // A statement SQLite rejects changes nothing; rules have reported on it.
  }
}
