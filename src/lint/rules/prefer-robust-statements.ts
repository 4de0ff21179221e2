import { explicitTransaction, isDataChange } from '../facts.js';
import { stateBefore } from '../scan.js';
import { alterTableCommands, offsetOf } from '../parse/postgres.js';
import type { Report, Rule } from '../types.js';

/**
 * A migration that runs outside a transaction (-- cairn:no-transaction) keeps
 * whatever its statements did before one failed. Running it again after the
 * fix then stops at the first statement that already happened ("relation
 * already exists", "column does not exist"). IF [NOT] EXISTS makes each
 * statement safe to repeat. A transactional migration is rolled back whole and
 * re-runs cleanly, so it is not flagged (squawk's prefer-robust-stmts reasons
 * the same way).
 */
export const preferRobustStatements: Rule = {
  id: 'prefer-robust-statements',
  dialects: ['postgres'],
  severity: 'warning',
  summary: 'CREATE/DROP/ADD COLUMN/DROP COLUMN without IF [NOT] EXISTS in a migration that runs outside a transaction',
  statement(statement, context) {
    // Between an explicit BEGIN and its COMMIT/ROLLBACK, a failure rolls back the block: nothing to re-run.
    if (context.inTransaction || stateBefore(context.statements, statement.index, explicitTransaction)) return [];
    // A data statement is none of these, and its tree may not even be parsed (parse/shape.ts): leave it unread.
    if (isDataChange(statement.fact)) return [];
    const { pg, sql } = statement;
    if (!pg) return [];
    const rerun = 'if a later statement fails, this one has already happened and the migration cannot simply be run again';

    if ('CreateStmt' in pg && !pg.CreateStmt.if_not_exists && pg.CreateStmt.relation?.relpersistence !== 't') {
      const table = pg.CreateStmt.relation?.relname ?? '';
      return [report(`CREATE TABLE "${table}" without IF NOT EXISTS: ${rerun} ("relation already exists")`, `CREATE TABLE IF NOT EXISTS ${table} (…)`, offsetOf(sql, /\bTABLE\b/i))];
    }
    if ('CreateTableAsStmt' in pg && pg.CreateTableAsStmt.objtype === 'OBJECT_TABLE' && !pg.CreateTableAsStmt.if_not_exists && pg.CreateTableAsStmt.into?.rel?.relpersistence !== 't') {
      const table = pg.CreateTableAsStmt.into?.rel?.relname ?? '';
      return [report(`CREATE TABLE "${table}" AS … without IF NOT EXISTS: ${rerun} ("relation already exists")`, `CREATE TABLE IF NOT EXISTS ${table} AS …`, offsetOf(sql, /\bTABLE\b/i))];
    }
    if ('IndexStmt' in pg && !pg.IndexStmt.if_not_exists) {
      const index = pg.IndexStmt.idxname;
      const table = pg.IndexStmt.relation?.relname ?? '';
      const concurrently = pg.IndexStmt.concurrent ? ' CONCURRENTLY' : '';
      const unique = pg.IndexStmt.unique ? ' UNIQUE' : '';
      if (!index) {
        return [
          report(
            `CREATE INDEX on "${table}" without a name: running the migration again builds a second, duplicate index`,
            `name the index and add IF NOT EXISTS: CREATE${unique} INDEX${concurrently} IF NOT EXISTS ${table}_…_idx ON ${table} (…)`,
            0,
          ),
        ];
      }
      const invalid = pg.IndexStmt.concurrent ? `; a failed CONCURRENTLY build leaves an INVALID index behind that IF NOT EXISTS would keep, so drop it first: DROP INDEX CONCURRENTLY IF EXISTS ${index}` : '';
      return [report(`CREATE INDEX ${index} without IF NOT EXISTS: ${rerun} ("relation already exists")`, `CREATE${unique} INDEX${concurrently} IF NOT EXISTS ${index} ON ${table} (…)${invalid}`, 0)];
    }
    if ('CreateSeqStmt' in pg && !pg.CreateSeqStmt.if_not_exists && pg.CreateSeqStmt.sequence?.relpersistence !== 't') {
      const sequence = pg.CreateSeqStmt.sequence?.relname ?? '';
      return [report(`CREATE SEQUENCE "${sequence}" without IF NOT EXISTS: ${rerun} ("relation already exists")`, `CREATE SEQUENCE IF NOT EXISTS ${sequence} …`, offsetOf(sql, /\bSEQUENCE\b/i))];
    }
    if ('CreateSchemaStmt' in pg && !pg.CreateSchemaStmt.if_not_exists) {
      const schema = pg.CreateSchemaStmt.schemaname ?? pg.CreateSchemaStmt.authrole?.rolename ?? '';
      return [report(`CREATE SCHEMA "${schema}" without IF NOT EXISTS: ${rerun} ("schema already exists")`, `CREATE SCHEMA IF NOT EXISTS ${schema}`, offsetOf(sql, /\bSCHEMA\b/i))];
    }
    const { fact } = statement;
    if (fact.kind === 'drop_table' && !fact.ifExists) {
      return [report(`DROP TABLE ${fact.tables.join(', ')} without IF EXISTS: ${rerun} ("table does not exist")`, `DROP TABLE IF EXISTS ${fact.tables.join(', ')}`, offsetOf(sql, /\bTABLE\b/i))];
    }
    if (fact.kind === 'drop_index' && !fact.ifExists) {
      const concurrently = fact.concurrently ? ' CONCURRENTLY' : '';
      return [report(`DROP INDEX ${fact.indexes.join(', ')} without IF EXISTS: ${rerun} ("index does not exist")`, `DROP INDEX${concurrently} IF EXISTS ${fact.indexes.join(', ')}`, offsetOf(sql, /\bINDEX\b/i))];
    }
    const alter = alterTableCommands(statement);
    if (alter) {
      const { table, commands } = alter;
      const reports: Report[] = [];
      for (const cmd of commands) {
        if (cmd.missing_ok) continue;
        if (cmd.subtype === 'AT_AddColumn' && cmd.def && 'ColumnDef' in cmd.def) {
          const column = cmd.def.ColumnDef.colname ?? '';
          reports.push(report(`ADD COLUMN "${column}" to "${table}" without IF NOT EXISTS: ${rerun} ("column already exists")`, `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${column} …`, cmd.def.ColumnDef.location ?? 0));
        } else if (cmd.subtype === 'AT_DropColumn') {
          const column = cmd.name ?? '';
          const action = fact.kind === 'alter_table' ? fact.actions.find((a) => a.type === 'drop_column' && a.column === column) : undefined;
          reports.push(report(`DROP COLUMN "${column}" of "${table}" without IF EXISTS: ${rerun} ("column does not exist")`, `ALTER TABLE ${table} DROP COLUMN IF EXISTS ${column}`, action?.offset ?? 0));
        }
      }
      return reports;
    }
    return [];
  },
};

function report(message: string, fix: string, offset: number): Report {
  return { message, help: `make it safe to repeat: ${fix}; or, if nothing in this migration needs to run outside a transaction, remove -- cairn:no-transaction so a failure rolls it back whole`, offset };
}
