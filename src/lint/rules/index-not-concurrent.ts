import type { Rule } from '../types.js';

/**
 * CREATE INDEX takes a SHARE lock that blocks every INSERT, UPDATE and DELETE
 * on the table until the index is built; DROP INDEX and REINDEX take ACCESS
 * EXCLUSIVE. On a big table that is minutes of failed writes.
 */
export const indexNotConcurrent: Rule = {
  id: 'index-not-concurrent',
  dialects: ['postgres'],
  severity: 'error',
  summary: 'CREATE INDEX, DROP INDEX or REINDEX on an existing table without CONCURRENTLY',
  statement(statement, context) {
    const { fact } = statement;
    const help = 'use CONCURRENTLY, in a migration of its own marked -- cairn:no-transaction (it cannot run inside a transaction)';
    if (fact.kind === 'create_index' && !fact.concurrently && !context.createdHere(fact.table)) {
      return [{ message: `CREATE INDEX${fact.index ? ` ${fact.index}` : ''} on "${fact.table}" blocks writes to it until the index is built`, help: `${help}: CREATE INDEX CONCURRENTLY …` }];
    }
    if (fact.kind === 'drop_index' && !fact.concurrently) {
      return [{ message: `DROP INDEX ${fact.indexes.join(', ')} locks its table against reads and writes while it runs`, help: `${help}: DROP INDEX CONCURRENTLY …` }];
    }
    const pg = fact.kind === 'other' ? statement.pg : null;
    if (pg && 'ReindexStmt' in pg && !(pg.ReindexStmt.params ?? []).some((p) => 'DefElem' in p && p.DefElem.defname === 'concurrently')) {
      return [{ message: 'REINDEX locks the table against writes (and the index against reads) while it runs', help: `${help}: REINDEX (CONCURRENTLY) … (PostgreSQL 12+)` }];
    }
    return [];
  },
};
