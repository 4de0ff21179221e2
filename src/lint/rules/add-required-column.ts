import type { AddColumn } from '../facts.js';
import { alterTableCommands } from '../parse/postgres.js';
import type { Loose } from '../parse/sqlite.js';
import type { LintStatement, Rule } from '../types.js';

/**
 * A NOT NULL column without a DEFAULT has no value to give the rows already
 * there: PostgreSQL fails with "column … contains null values" and SQLite with
 * "Cannot add a NOT NULL column with default value NULL" as soon as the table
 * has a row (so it passes on an empty dev database and fails in production).
 * And once it is in, old code that inserts without the column fails.
 */
export const addRequiredColumn: Rule = {
  id: 'add-required-column',
  dialects: ['postgres', 'sqlite'],
  severity: 'error',
  summary: 'ALTER TABLE … ADD COLUMN … NOT NULL without a DEFAULT on an existing table',
  statement(statement, context) {
    const { fact } = statement;
    if (fact.kind !== 'alter_table' || context.createdHere(fact.table)) return [];
    const postgres = context.target.dialect === 'postgres';
    return fact.actions.flatMap((action) => {
      // A primary key column is sqlite-add-column-illegal's business (and PostgreSQL fills no value for it either way).
      if (action.type !== 'add_column' || !action.notNull || action.hasDefault || action.primaryKey) return [];
      if (fillsItself(statement, action)) return [];
      // An explicit DEFAULT NULL on SQLite is a form SQLite refuses outright: sqlite-add-column-illegal reports it.
      if (!postgres && action.defaultIsNull) return [];
      const type = action.dataType ? (PG_TYPE_NAMES[action.dataType] ?? action.dataType) : postgres ? 'text' : 'TEXT';
      const fails = postgres ? 'fails ("contains null values")' : 'fails ("Cannot add a NOT NULL column with default value NULL")';
      return [
        {
          message: `adding NOT NULL column "${action.column}" to "${fact.table}" without a DEFAULT ${fails} once the table has rows, and breaks running code that inserts without it`,
          help: postgres
            ? `add it nullable (ALTER TABLE ${fact.table} ADD COLUMN ${action.column} ${type};), backfill in batches, then ALTER TABLE ${fact.table} ADD CONSTRAINT ${fact.table}_${action.column}_not_null CHECK (${action.column} IS NOT NULL) NOT VALID; ALTER TABLE ${fact.table} VALIDATE CONSTRAINT ${fact.table}_${action.column}_not_null; ALTER TABLE ${fact.table} ALTER COLUMN ${action.column} SET NOT NULL; (PostgreSQL 12+ uses the validated CHECK instead of scanning). Or give it a constant DEFAULT: ADD COLUMN ${action.column} ${type} NOT NULL DEFAULT … (no table rewrite on PostgreSQL 11+)`
            : `give it a DEFAULT (ALTER TABLE ${fact.table} ADD COLUMN ${action.column} ${type} NOT NULL DEFAULT …), or add it nullable, backfill in batches and enforce NOT NULL in code (SQLite can only add the constraint later by rebuilding the table)`,
          offset: action.offset,
        },
      ];
    });
  },
};

/** libpg-query reports internal type names; write them as people do. */
const PG_TYPE_NAMES: Record<string, string> = { int8: 'bigint', int4: 'integer', int2: 'smallint', bool: 'boolean', float8: 'double precision', float4: 'real' };

const SERIAL = /^(small|big)?serial[248]?$/i;

/** Identity, generated and serial columns compute their own value for existing rows. */
function fillsItself(statement: LintStatement, action: AddColumn): boolean {
  const { pg, sqlite } = statement;
  for (const { subtype, def } of alterTableCommands(statement)?.commands ?? []) {
    if (subtype !== 'AT_AddColumn' || !def || !('ColumnDef' in def) || def.ColumnDef.colname !== action.column) continue;
    if (action.dataType && SERIAL.test(action.dataType)) return true;
    return (def.ColumnDef.constraints ?? []).some((c) => 'Constraint' in c && (c.Constraint.contype === 'CONSTR_IDENTITY' || c.Constraint.contype === 'CONSTR_GENERATED'));
  }
  if (sqlite && sqlite.type === 'alter_table_stmt') {
    for (const item of sqlite.actions.items as unknown as readonly Loose[]) {
      if (item.type !== 'alter_action_add_column') continue;
      const column = item.column as Loose;
      if (column.range?.[0] !== action.offset) continue;
      const constraints = ((column.constraints as Loose[] | undefined) ?? []).map((c) => (c.type === 'constraint' ? (c.constraint as Loose) : c));
      return constraints.some((c) => c.type === 'constraint_generated');
    }
  }
  return false;
}
