/**
 * Where a 0-based offset inside a statement falls in its file: the line and
 * column, given the line and column of the statement's first character.
 */
export function positionIn(statement: { readonly sql: string; readonly line: number; readonly column: number }, offset: number): { line: number; column: number } {
  if (offset <= 0) return { line: statement.line, column: statement.column };
  const before = statement.sql.slice(0, offset).split('\n');
  return before.length === 1 ? { line: statement.line, column: statement.column + before[0]!.length } : { line: statement.line + before.length - 1, column: before.at(-1)!.length + 1 };
}
