import type { Migration } from '../../source/migration.js';
import type { Rule, Severity } from '../types.js';

/**
 * Dropping a column breaks every running copy of the code that still reads or
 * writes it, and loses its data. A file whose header declares
 * `-- Type: destructive` and says how to roll back has been through that
 * thought: there it is a warning, so `up` does not refuse what was declared.
 */
export const dropColumn: Rule = {
  id: 'drop-column',
  dialects: ['postgres', 'sqlite'],
  severity: 'error',
  summary: 'ALTER TABLE … DROP COLUMN on an existing table',
  statement(statement, context) {
    const { fact } = statement;
    if (fact.kind !== 'alter_table' || context.createdHere(fact.table)) return [];
    const severity = declaredDestructive(context.migration) ? { severity: 'warning' as Severity } : {};
    return fact.actions.flatMap((action) =>
      action.type === 'drop_column'
        ? [
            {
              message: `dropping column "${action.column}" of "${fact.table}" loses its data and breaks code that still reads it`,
              help: 'expand–contract: first deploy code that no longer reads or writes the column, then drop it in a later migration (after a backup) and say so with -- cairn:allow drop-column <reason>',
              offset: action.offset,
              ...severity,
            },
          ]
        : [],
    );
  },
};

/** `-- Type: destructive` and a `-- Rollback:` that says something: the author declared the drop and its way back. */
function declaredDestructive(migration: Migration): boolean {
  return migration.header.type?.trim().toLowerCase() === 'destructive' && Boolean(migration.header.rollback?.trim());
}
