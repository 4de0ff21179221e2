import type { Rule } from '../types.js';

/**
 * An UPDATE or DELETE without WHERE touches every row in one statement: on
 * PostgreSQL it row-locks the whole table (blocking every write to it) until
 * the migration commits, writes a new version of each row and a WAL record for
 * it; on SQLite it holds the database's single write lock for all of it. On a
 * big table that is minutes of blocked writes, and a failure throws it all away.
 */
export const unbatchedDataChange: Rule = {
  id: 'unbatched-data-change',
  dialects: ['postgres', 'sqlite'],
  severity: 'error',
  summary: 'UPDATE or DELETE without WHERE on a table that existed before the migration',
  statement(statement, context) {
    const { fact } = statement;
    if ((fact.kind !== 'update' && fact.kind !== 'delete') || fact.hasWhere || context.createdHere(fact.table)) return [];
    const locks = context.target.dialect === 'postgres' ? 'locks every row of it against writes until the migration commits' : "holds the database's write lock until the migration commits";
    if (fact.kind === 'update') {
      return [
        {
          message: `UPDATE of every row of "${fact.table}" in one statement ${locks}`,
          help: `backfill in batches, each its own short transaction: put -- cairn:batch size=1000 on the line before, and give the UPDATE a WHERE that skips rows already done (UPDATE ${fact.table} SET … WHERE <column> IS NULL); Cairn walks the primary key, checkpoints each batch and resumes after a crash`,
        },
      ];
    }
    return [
      {
        message: `DELETE of every row of "${fact.table}" in one statement ${locks}, and the rows are gone`,
        help: `delete in batches, each its own short transaction: in a migration marked -- cairn:no-transaction, DELETE FROM ${fact.table} WHERE id BETWEEN 1 AND 10000; then the next range …, or from a script after deploy; if emptying a small lookup table is really the point, say so with -- cairn:allow unbatched-data-change <reason>`,
      },
    ];
  },
};
