import type { Rule } from '../types.js';

/**
 * Cairn runs each migration and its history record in one transaction of its
 * own. A BEGIN inside it fails on SQLite ("cannot start a transaction within a
 * transaction") and is ignored with a warning on PostgreSQL; a COMMIT ends it
 * early, so what follows runs outside any transaction and a failure there
 * leaves the migration half applied and unrecorded; a ROLLBACK silently undoes
 * what came before. SAVEPOINT / RELEASE / ROLLBACK TO nest inside a
 * transaction and are left alone.
 */
export const transactionControl: Rule = {
  id: 'transaction-control',
  dialects: ['postgres', 'sqlite'],
  severity: 'error',
  summary: 'BEGIN, COMMIT or ROLLBACK in a migration that Cairn already runs in a transaction',
  statement(statement, context) {
    const { fact } = statement;
    // D1 rejects them all, transaction or not: d1-transaction-statements reports that.
    if (fact.kind !== 'transaction' || !context.inTransaction || context.target.d1) return [];
    const first = (/^\s*(\w+)/.exec(statement.sql)?.[1] ?? fact.action).toUpperCase();
    const keyword = first === 'START' ? 'START TRANSACTION' : first;
    const postgres = context.target.dialect === 'postgres';
    const effect =
      fact.action === 'begin'
        ? postgres
          ? 'does nothing ("there is already a transaction in progress"), and a COMMIT meant to close it ends Cairn\'s transaction instead'
          : 'fails: "cannot start a transaction within a transaction"'
        : fact.action === 'commit'
          ? 'ends it early: the statements after it run outside any transaction, and a failure after it leaves the migration half applied and unrecorded (though reported as rolled back)'
          : fact.action === 'rollback'
            ? 'undoes the statements before it and ends the transaction: the rest runs outside any transaction'
            : null;
    if (!effect) return [];
    return [
      {
        message: `${keyword} inside the transaction Cairn already runs this migration in ${effect}`,
        help: 'remove BEGIN/COMMIT/ROLLBACK: every migration already runs in its own transaction, committed together with its history record. If you really must manage transactions yourself, mark the file -- cairn:no-transaction in its header',
      },
    ];
  },
};
