import type { Node as PgNode } from '@pgsql/types';
import type Database from 'better-sqlite3';
import type { Statement as SqliteNode } from 'sql-parser-cst';
import type { Migration } from '../source/migration.js';
import type { Fact } from './facts.js';
import type { PostgresSchema } from './schema/postgres.js';

export type Severity = 'error' | 'warning';
export type Dialect = 'postgres' | 'sqlite';

/** What the migrations will run on: decides which rules apply and what they know. */
export interface LintTarget {
  readonly dialect: Dialect;
  /** PostgreSQL major version, e.g. 15. */
  readonly postgresVersion: number;
  /** SQLite version, e.g. "3.45.0"; null for PostgreSQL unless configured (nothing reads it there, and finding it would load better-sqlite3). */
  readonly sqliteVersion: string | null;
  /** Cloudflare D1: SQLite with D1's own restrictions. */
  readonly d1: boolean;
  /** Cairn itself sets lock_timeout at the start of each transactional migration (config statementLockTimeout; PostgreSQL). */
  readonly cairnLockTimeout?: boolean;
}

/** One statement of a migration, parsed by the dialect's real parser. */
export interface LintStatement {
  readonly index: number;
  readonly sql: string;
  /** File line and column of the statement's first token. */
  readonly line: number;
  readonly column: number;
  /** Dialect-neutral summary that the rules for both dialects read. */
  readonly fact: Fact;
  /** The PostgreSQL parse tree (libpg-query), when the dialect is postgres and it parsed. */
  readonly pg: PgNode | null;
  /** The SQLite syntax tree (sql-parser-cst), when the dialect is sqlite and it parsed. */
  readonly sqlite: SqliteNode | null;
  /** The parser's message when the statement did not parse. */
  readonly parseError: string | null;
  /** Where in `sql` the parser stopped (0-based), when it said. */
  readonly parseErrorOffset?: number;
}

/** What a rule reports; the linter adds the rule id, severity and file. */
export interface Report {
  readonly message: string;
  /** The safe alternative, concretely. */
  readonly help: string;
  /** Character offset inside the statement to point at (default: its first token). */
  readonly offset?: number;
  /** For a file rule: the index of the statement the finding is about (default: the file itself). */
  readonly statement?: number;
  /**
   * This finding's severity when it differs from the rule's default (lower where
   * the file declares the risk, higher where the migration certainly fails); a
   * severity set in the config still wins.
   */
  readonly severity?: Severity;
}

export interface FileContext {
  readonly migration: Migration;
  readonly statements: readonly LintStatement[];
  readonly target: LintTarget;
  /** True when the runner wraps this migration in a transaction (no `-- cairn:no-transaction`). */
  readonly inTransaction: boolean;
  /**
   * True when the header rules apply: the file carries a header field
   * (`-- Migration:`, `-- Type:`, `-- Rollback:`) or the config says
   * `lint.header: 'required'`.
   */
  readonly headerConvention: boolean;
}

export interface StatementContext extends FileContext {
  /**
   * Statements before this one in the same file: a copy made on each read, so
   * read it only for a statement being reported on; for what holds at every
   * statement (an open transaction, a pragma in force) fold the file once with
   * stateBefore (scan.ts).
   */
  readonly before: readonly LintStatement[];
  /** True when `table` was created by an earlier statement of this same migration (so nobody uses it yet). */
  createdHere(table: string): boolean;
  /** PostgreSQL: tables, columns and types as earlier migrations and statements left them. */
  readonly postgres: PostgresSchema | null;
  /**
   * SQLite: a real in-memory SQLite holding the schema as it stands just before
   * this statement (earlier migrations and statements applied). Ask it with
   * PRAGMA index_list, foreign_key_list, sqlite_master … Never write to it.
   */
  readonly sqlite: Database.Database | null;
}

export interface Rule {
  /** kebab-case; the same in output, config and `-- cairn:allow`. */
  readonly id: string;
  readonly dialects: readonly Dialect[];
  readonly severity: Severity;
  /** One line: what it catches. */
  readonly summary: string;
  /** Called for each statement, before the statement is applied to the schema model. */
  statement?(statement: LintStatement, context: StatementContext): readonly Report[];
  /** Called once per file, after its statements. */
  file?(context: FileContext): readonly Report[];
}

export interface Finding {
  readonly rule: string;
  readonly severity: Severity;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly help: string;
  /** The source line the finding points at, for compiler-style output. */
  readonly source: string;
}
