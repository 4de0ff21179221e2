import { explicitTransaction, isDataChange } from '../facts.js';
import { stateBefore } from '../scan.js';
import type { LintStatement, Rule } from '../types.js';

/**
 * PostgreSQL refuses the CONCURRENTLY forms inside a transaction block
 * ("cannot run inside a transaction block"): they commit internally between
 * phases. In a migration the runner wraps in a transaction (or after an
 * explicit BEGIN) the statement fails, and the whole migration with it.
 */
export const concurrentlyInTransaction: Rule = {
  id: 'concurrently-in-transaction',
  dialects: ['postgres'],
  severity: 'error',
  summary: 'CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY or DETACH PARTITION CONCURRENTLY inside a transaction',
  statement(statement, context) {
    const what = concurrentForm(statement);
    if (!what) return [];
    const explicit = stateBefore(context.statements, statement.index, explicitTransaction);
    if (!context.inTransaction && !explicit) return [];
    const where = context.inTransaction ? 'this migration runs in a transaction' : 'it follows an explicit BEGIN';
    return [
      {
        message: `${what.label} cannot run inside a transaction block and ${where}: PostgreSQL rejects it and the migration fails`,
        help: context.inTransaction
          ? `add -- cairn:no-transaction to the migration header and keep this statement alone in its migration (without a transaction, a failure half-way would leave the statements before it applied)`
          : `remove the BEGIN/COMMIT around it (in a -- cairn:no-transaction migration each statement runs on its own) and keep this statement alone in its migration`,
        offset: what.offset,
      },
    ];
  },
};

/** The CONCURRENTLY form this statement is (with what it names), and where to point, or null. */
function concurrentForm(statement: LintStatement): { label: string; offset: number } | null {
  const { sql, fact } = statement;
  // A data statement is none of these, and its tree may not even be parsed (parse/shape.ts): leave it unread.
  if (isDataChange(fact)) return null;
  const { pg } = statement;
  if (!pg) return null;
  if ('IndexStmt' in pg && pg.IndexStmt.concurrent === true && fact.kind === 'create_index') {
    return { label: `CREATE INDEX CONCURRENTLY${fact.index ? ` ${fact.index}` : ''} on "${fact.table}"`, offset: 0 };
  }
  if ('DropStmt' in pg && pg.DropStmt.concurrent === true && fact.kind === 'drop_index') {
    return { label: `DROP INDEX CONCURRENTLY ${fact.indexes.join(', ')}`, offset: 0 };
  }
  if ('ReindexStmt' in pg && (pg.ReindexStmt.params ?? []).some((p) => 'DefElem' in p && p.DefElem.defname === 'concurrently')) {
    const target = pg.ReindexStmt.relation?.relname ?? pg.ReindexStmt.name;
    return { label: `REINDEX CONCURRENTLY${target ? ` ${target}` : ''}`, offset: 0 };
  }
  if ('AlterTableStmt' in pg) {
    for (const cmd of pg.AlterTableStmt.cmds ?? []) {
      if (!('AlterTableCmd' in cmd) || cmd.AlterTableCmd.subtype !== 'AT_DetachPartition') continue;
      const def = cmd.AlterTableCmd.def;
      if (def && 'PartitionCmd' in def && def.PartitionCmd.concurrent === true) {
        const partition = def.PartitionCmd.name?.relname ?? '';
        return {
          label: `DETACH PARTITION ${partition} CONCURRENTLY (from "${pg.AlterTableStmt.relation?.relname ?? ''}")`,
          offset: Math.max(0, sql.search(/\bDETACH\s+PARTITION\b/i)),
        };
      }
    }
  }
  return null;
}
