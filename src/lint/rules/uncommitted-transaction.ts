import type { Rule } from '../types.js';

/**
 * In a `-- cairn:no-transaction` migration Cairn runs the statements one by
 * one and then records the migration in its history table. A BEGIN that is
 * never closed leaves the session inside that transaction when Cairn writes
 * the record: on SQLite the record's own BEGIN fails ("cannot start a
 * transaction within a transaction"), everything after the BEGIN is lost when
 * the connection closes and the migration stays recorded as running; on
 * PostgreSQL Cairn's COMMIT closes it by accident, and if a statement in it
 * fails, the aborted transaction rejects the failure record too (the
 * migration stays "running", with no error recorded).
 */
export const uncommittedTransaction: Rule = {
  id: 'uncommitted-transaction',
  dialects: ['postgres', 'sqlite'],
  severity: 'error',
  summary: 'BEGIN without a later COMMIT or ROLLBACK in a -- cairn:no-transaction migration',
  statement(statement, context) {
    const { fact } = statement;
    // In a transactional migration any BEGIN is transaction-control's; D1 rejects BEGIN outright (also transaction-control's).
    if (fact.kind !== 'transaction' || fact.action !== 'begin' || context.inTransaction || context.target.d1) return [];
    for (const later of context.statements.slice(statement.index + 1)) {
      if (later.fact.kind !== 'transaction') continue;
      if (later.fact.action === 'commit' || later.fact.action === 'rollback') return [];
      if (later.fact.action === 'begin') break;
    }
    const effect =
      context.target.dialect === 'postgres'
        ? "only Cairn's own bookkeeping closes it, by accident; if a statement in it fails, the aborted transaction keeps Cairn from recording the failure and the migration stays recorded as running"
        : "Cairn's history write then fails (\"cannot start a transaction within a transaction\"): everything after the BEGIN is lost and the migration stays recorded as running";
    return [
      {
        message: `this BEGIN is never closed by COMMIT or ROLLBACK: the transaction stays open after the last statement, and ${effect}`,
        help: 'add COMMIT; after the statements that belong together (before the next BEGIN, if there is one)',
      },
    ];
  },
};
