import type { Directive, Migration, SourceProblem } from './migration.js';

/**
 * Guards a migration's author writes in its header: conditions that must hold
 * for the migration to be safe, checked in the migration's own transaction (on
 * D1: its batch) before its first statement, so a false one applies nothing.
 *
 *   -- cairn:assert no_legacy_orders: SELECT count(*) = 0 FROM orders WHERE status = 'legacy'
 *   -- cairn:assert-empty legacy_sessions
 *   -- cairn:assert-unique users(email)
 *
 * The SQL of `assert` returns one row whose (only) value is true; no row, NULL,
 * false or 0 fail. The short forms are written out as such a query.
 */
export type AssertionForm = 'assert' | 'assert-empty' | 'assert-unique';

export interface Assertion {
  readonly form: AssertionForm;
  /** What the message calls it: the name given, or "<table> is empty" / "<table>(<cols>) is unique". */
  readonly name: string;
  /** A query whose first value must be true. */
  readonly sql: string;
  /** 1-based line of the directive in the file. */
  readonly line: number;
  /** For the short forms: the table they guard (lint knows a drop guarded by assert-empty). */
  readonly table: string | null;
  /** The directive as written, for messages: `-- cairn:assert-empty legacy_sessions`. */
  readonly directive: string;
}

export const ASSERTION_DIRECTIVES: readonly AssertionForm[] = ['assert', 'assert-empty', 'assert-unique'];

const NAMED = /^([A-Za-z_][A-Za-z0-9_-]*)\s*:\s*(\S[\s\S]*)$/;
const IDENTIFIER = String.raw`(?:"(?:[^"]|"")+"|\x60[^\x60]+\x60|\[[^\]]+\]|[A-Za-z_][A-Za-z0-9_$]*)`;
const TABLE = new RegExp(`^(${IDENTIFIER}(?:\\.${IDENTIFIER})?)$`);
const UNIQUE = new RegExp(`^(${IDENTIFIER}(?:\\.${IDENTIFIER})?)\\s*\\(\\s*(${IDENTIFIER}(?:\\s*,\\s*${IDENTIFIER})*)\\s*\\)$`);

/** One directive → its assertion, or the problem with it (file and line, and the form that works). */
export function parseAssertion(directive: Directive, file: string): Assertion | SourceProblem {
  const args = directive.args.trim().replace(/;\s*$/, '');
  const line = directive.line;
  const written = `-- cairn:${directive.name} ${args}`;
  switch (directive.name as AssertionForm) {
    case 'assert': {
      const match = NAMED.exec(args);
      if (!match) return { file, line, message: '"cairn:assert" needs a name and a query', fix: "write -- cairn:assert <name>: <SQL whose one value is true>, e.g. -- cairn:assert no_legacy: SELECT count(*) = 0 FROM orders WHERE status = 'legacy'" };
      return { form: 'assert', name: match[1]!, sql: match[2]!.trim(), line, table: null, directive: written };
    }
    case 'assert-empty': {
      if (!TABLE.test(args)) return { file, line, message: `"cairn:assert-empty" needs one table name${args ? `, got "${args}"` : ''}`, fix: 'write -- cairn:assert-empty <table>, e.g. -- cairn:assert-empty legacy_sessions' };
      return { form: 'assert-empty', name: `${args} is empty`, sql: `SELECT NOT EXISTS (SELECT 1 FROM ${args})`, line, table: args, directive: written };
    }
    case 'assert-unique': {
      const match = UNIQUE.exec(args);
      if (!match) return { file, line, message: `"cairn:assert-unique" needs a table and its columns${args ? `, got "${args}"` : ''}`, fix: 'write -- cairn:assert-unique <table>(<column>, …), e.g. -- cairn:assert-unique users(email)' };
      const [table, columns] = [match[1]!, match[2]!.split(',').map((c) => c.trim())];
      // As a UNIQUE constraint sees it: rows with a NULL in the key never collide.
      const sql = `SELECT NOT EXISTS (SELECT 1 FROM ${table} WHERE ${columns.map((c) => `${c} IS NOT NULL`).join(' AND ')} GROUP BY ${columns.join(', ')} HAVING count(*) > 1)`;
      return { form: 'assert-unique', name: `${table}(${columns.join(', ')}) is unique`, sql, line, table, directive: written };
    }
    default:
      return { file, line, message: `"cairn:${directive.name}" is not an assertion`, fix: `assertions are ${ASSERTION_DIRECTIVES.map((d) => `cairn:${d}`).join(', ')}` };
  }
}

export function isAssertion(value: Assertion | SourceProblem): value is Assertion {
  return 'sql' in value;
}

/** The assertions of a migration, in file order (problems were reported when it was read). */
export function assertionsOf(migration: Pick<Migration, 'directives' | 'file'>): Assertion[] {
  return migration.directives
    .filter((d) => (ASSERTION_DIRECTIVES as readonly string[]).includes(d.name))
    .map((d) => parseAssertion(d, migration.file))
    .filter(isAssertion);
}

/** The problems of a file's assertion directives, for readMigrations to report with the rest. */
export function assertionProblems(directives: readonly Directive[], file: string): SourceProblem[] {
  return directives
    .filter((d) => (ASSERTION_DIRECTIVES as readonly string[]).includes(d.name))
    .map((d) => parseAssertion(d, file))
    .filter((a): a is SourceProblem => !isAssertion(a));
}

/** How an engine's answer reads as a truth value: true, 1, 't', 'true' hold; anything else (no row, NULL, 0, false) does not. */
export function holds(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return Number(value) !== 0;
  if (typeof value === 'string') return ['t', 'true', '1'].includes(value.trim().toLowerCase());
  return false;
}
