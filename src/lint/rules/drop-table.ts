import { assertionsOf, type Assertion } from '../../source/assertions.js';
import type { LintStatement, Rule, StatementContext } from '../types.js';

/**
 * Dropping a table loses every row in it for good, and every running copy of
 * the code that still selects from or writes to it starts failing the moment
 * the migration commits. A `down` that recreates it brings back an empty table.
 */
export const dropTable: Rule = {
  id: 'drop-table',
  dialects: ['postgres', 'sqlite'],
  severity: 'error',
  summary: 'DROP TABLE of a table that existed before the migration',
  statement(statement, context) {
    const { fact } = statement;
    if (fact.kind !== 'drop_table') return [];
    return fact.tables
      .filter((table) => !context.createdHere(table) && !isRebuild(table, statement, context))
      .map((table) => {
        const guard = emptyGuard(table, context);
        if (guard) {
          // No rows can be lost: the migration runs only while the table is empty. Code that still uses it can still break.
          return {
            message: `dropping table "${table}" breaks code that still reads or writes it (no rows are lost: -- cairn:assert-empty on line ${guard.line} lets the migration run only while it is empty)`,
            help: `deploy code that no longer uses "${table}" before this migration runs; add -- cairn:allow drop-table <why> to silence this`,
            offset: nameOffset(statement.sql, table),
            severity: 'warning' as const,
          };
        }
        return {
          message: `dropping table "${table}" deletes all its rows and breaks code that still reads or writes it`,
          help: `expand–contract: first deploy code that no longer uses "${table}" (or rename it and watch for errors), back it up (e.g. CREATE TABLE ${table}_archive AS SELECT * FROM ${table}, or a dump), then drop it in a later migration with -- cairn:allow drop-table <why it is safe>; or, if it must be empty by now, guard the migration with -- cairn:assert-empty ${table}`,
          offset: nameOffset(statement.sql, table),
        };
      });
  },
};

/** The file's `-- cairn:assert-empty <table>` for this table, if it has one. */
function emptyGuard(table: string, context: StatementContext): Assertion | undefined {
  const bare = (name: string) => name.replace(/^["`[]|["`\]]$/g, '').toLowerCase();
  return assertionsOf(context.migration).find((a) => a.form === 'assert-empty' && a.table !== null && bare(a.table) === bare(table));
}

/**
 * A table rebuild keeps the data: the replacement is created and filled from
 * the old table in this same migration and takes its name, either
 *   CREATE new; INSERT INTO new …; DROP old; ALTER TABLE new RENAME TO old
 * or (renaming the old one out of the way first)
 *   ALTER TABLE t RENAME TO old; CREATE t; INSERT INTO t …; DROP old.
 */
function isRebuild(table: string, drop: LintStatement, context: StatementContext): boolean {
  const { statements } = context;
  const before = statements.slice(0, drop.index);
  const after = statements.slice(drop.index + 1);
  const createdBefore = (name: string) => before.some((s) => s.fact.kind === 'create_table' && s.fact.table === name);
  const filledBefore = (name: string) => before.some((s) => s.fact.kind === 'insert' && s.fact.table === name);
  const renames = (s: LintStatement, to: string): string | null =>
    s.fact.kind === 'alter_table' && s.fact.actions.some((a) => a.type === 'rename_table' && a.to === to) ? s.fact.table : null;

  // New table swapped in after the drop, filled before it or, from a copy of the old rows, after the rename (cascade-on-drop's copy-aside form).
  for (const [index, statement] of after.entries()) {
    const replacement = renames(statement, table);
    const filledAfter = () => after.slice(index + 1).some((s) => s.fact.kind === 'insert' && s.fact.table === table);
    if (replacement && createdBefore(replacement) && (filledBefore(replacement) || filledAfter())) return true;
  }
  // Old table renamed out of the way, its name recreated and filled, then dropped.
  for (const [index, statement] of before.entries()) {
    const original = renames(statement, table);
    if (!original) continue;
    const later = before.slice(index + 1);
    if (later.some((s) => s.fact.kind === 'create_table' && s.fact.table === original) && later.some((s) => s.fact.kind === 'insert' && s.fact.table === original)) return true;
  }
  return false;
}

/** Offset of `name` (bare or quoted) after the DROP TABLE keywords, or 0. */
function nameOffset(sql: string, name: string): number {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const start = Math.max(0, sql.search(/\bTABLE\b/i));
  const found = sql.slice(start).search(new RegExp(`(?<![\\w$])["\`[]?${escaped}["\`\\]]?(?![\\w$])`, 'i'));
  return found < 0 ? 0 : start + found;
}
