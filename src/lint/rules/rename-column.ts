import type { Rule } from '../types.js';

/**
 * Renaming a column breaks every running copy of the code that still selects,
 * inserts or updates it by its old name: during a deploy old and new code run
 * side by side, and there is no moment when both names work.
 */
export const renameColumn: Rule = {
  id: 'rename-column',
  dialects: ['postgres', 'sqlite'],
  severity: 'error',
  summary: 'ALTER TABLE … RENAME COLUMN on a table that existed before the migration',
  statement(statement, context) {
    const { fact } = statement;
    if (fact.kind !== 'alter_table' || context.createdHere(fact.table) || !fact.actions.some((a) => a.type === 'rename_column')) return [];
    // A column added earlier in this same migration is not used by any code yet.
    const addedHere = new Set(
      context.before.flatMap((s) => (s.fact.kind === 'alter_table' && s.fact.table === fact.table ? s.fact.actions.flatMap((a) => (a.type === 'add_column' ? [a.column] : [])) : [])),
    );
    return fact.actions.flatMap((action) =>
      action.type === 'rename_column' && !addedHere.has(action.from)
        ? [
            {
              message: `renaming column "${action.from}" of "${fact.table}" to "${action.to}" breaks running code that still uses "${action.from}"`,
              help: `expand–contract: ALTER TABLE ${fact.table} ADD COLUMN ${action.to} …; deploy code that writes both columns (or a trigger that copies ${action.from} into ${action.to}); backfill in batches (UPDATE ${fact.table} SET ${action.to} = ${action.from} WHERE id BETWEEN … AND …); switch reads to ${action.to}; drop ${action.from} in a later migration`,
              offset: columnOffset(statement.sql, action.from, action.offset),
            },
          ]
        : [],
    );
  },
};

/** Offset of the old column name after RENAME [COLUMN]; the parser's offset otherwise. */
function columnOffset(sql: string, column: string, fallback: number): number {
  const escaped = column.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`\\bRENAME\\s+(?:COLUMN\\s+)?(?=["\`[]?${escaped}["\`\\]]?(?![\\w$]))`, 'i').exec(sql);
  return match ? match.index + match[0].length : fallback;
}
