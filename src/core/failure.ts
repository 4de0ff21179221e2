import { StatementError } from '../drivers/types.js';
import type { Migration, Section } from '../source/migration.js';
import type { SqlStatement } from '../source/split.js';
import { positionIn } from '../sql/position.js';

/** Steps run up or down. */
export type Direction = 'up' | 'down';

export interface MigrationFailure {
  readonly version: string;
  readonly name: string;
  readonly direction: Direction;
  /** The file and line of the statement the database rejected. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The line of that statement the database pointed at (its first line when it gave no position). */
  readonly statement: string;
  /** Where in `statement` the failing token starts (0-based), when the database gave a position. */
  readonly caret: number | null;
  /** The database's own message and code. */
  readonly message: string;
  readonly engineCode: string | null;
  /** True when nothing of the step remains (it was rolled back whole). */
  readonly rolledBack: boolean;
  /** What to do, when it is not "fix the statement" (a lock wait that ran out: the statement is fine, the table was busy). */
  readonly hint?: string;
}

export class StepFailed extends Error {
  constructor(readonly failure: MigrationFailure) {
    super(failure.message);
  }
}

/** Maps the engine's error to the file, line and statement a human has to look at. */
export function fail(migration: Migration, direction: Direction, section: Section, error: unknown, rolledBack: boolean): StepFailed {
  const index = error instanceof StatementError ? error.index : -1;
  const statement: SqlStatement | undefined = section.statements[index];
  const position = error instanceof StatementError ? error.position : undefined;
  const { line, column } = statement ? locate(statement, position) : { line: section.firstLine, column: 1 };
  const excerpt = statement ? excerptAt(statement, position) : { text: '(recording the migration in the history table)', caret: null };
  return new StepFailed({
    version: migration.version,
    name: migration.name,
    direction,
    file: section.file,
    line,
    column,
    statement: excerpt.text,
    caret: excerpt.caret,
    message: error instanceof Error ? error.message : String(error),
    engineCode: error instanceof StatementError ? (error.engineCode ?? null) : null,
    rolledBack,
  });
}

/** PostgreSQL reports a character position inside the statement (1-based); turn it into a file line. */
function locate(statement: SqlStatement, position: number | undefined): { line: number; column: number } {
  return positionIn(statement, position ? position - 1 : 0);
}

/** The statement's line that holds `position` (1-based, as PostgreSQL reports it), cut to 120 characters around the caret. */
function excerptAt(statement: SqlStatement, position: number | undefined): { text: string; caret: number | null } {
  if (!position) return { text: statement.sql.split('\n')[0]!.slice(0, 120), caret: null };
  const start = statement.sql.lastIndexOf('\n', position - 2) + 1;
  const end = statement.sql.indexOf('\n', start);
  const text = statement.sql.slice(start, end < 0 ? undefined : end);
  const caret = position - 1 - start;
  const from = Math.max(0, Math.min(caret - 60, text.length - 120));
  return { text: text.slice(from, from + 120), caret: caret - from };
}
