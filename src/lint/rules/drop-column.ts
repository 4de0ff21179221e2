import type { Rule } from '../types.js';

/** Dropping a column breaks every running copy of the code that still reads or writes it, and loses its data. */
export const dropColumn: Rule = {
  id: 'drop-column',
  dialects: ['postgres', 'sqlite'],
  severity: 'error',
  summary: 'ALTER TABLE … DROP COLUMN on an existing table',
  statement(statement, context) {
    const { fact } = statement;
    if (fact.kind !== 'alter_table' || context.createdHere(fact.table)) return [];
    return fact.actions.flatMap((action) =>
      action.type === 'drop_column'
        ? [
            {
              message: `dropping column "${action.column}" of "${fact.table}" loses its data and breaks code that still reads it`,
              help: 'expand–contract: first deploy code that no longer reads or writes the column, then drop it in a later migration (after a backup) and say so with -- cairn:allow drop-column <reason>',
              offset: action.offset,
            },
          ]
        : [],
    );
  },
};
