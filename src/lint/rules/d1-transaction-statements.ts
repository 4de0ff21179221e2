import type { Rule } from '../types.js';

/**
 * D1 runs a migration as one batch and rejects transaction control in it
 * (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE): the migration fails on D1
 * even though it runs fine on a local SQLite file.
 */
export const d1TransactionStatements: Rule = {
  id: 'd1-transaction-statements',
  dialects: ['sqlite'],
  severity: 'error',
  summary: 'BEGIN / COMMIT / ROLLBACK / SAVEPOINT / RELEASE in a D1 migration',
  statement(statement, context) {
    const { fact } = statement;
    if (!context.target.d1 || fact.kind !== 'transaction') return [];
    // As written: END is COMMIT, ROLLBACK TO undoes to a savepoint.
    const word = fact.action === 'rollback_to' ? 'ROLLBACK TO' : (statement.sql.trim().split(/\s+/)[0] ?? '').toUpperCase();
    return [
      {
        message: `D1 rejects ${word} in a migration: it runs each migration as one batch, without SQL transaction statements`,
        help: 'remove it: Cairn applies each D1 migration atomically as one batch; for foreign keys during a rebuild use PRAGMA defer_foreign_keys = on (and see cascade-on-drop for ON DELETE CASCADE children)',
      },
    ];
  },
};
