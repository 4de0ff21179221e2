import type { Constraint } from '@pgsql/types';
import { alterTableCommands } from '../parse/postgres.js';
import type { Report, Rule, StatementContext } from '../types.js';

/**
 * ALTER TABLE … ADD UNIQUE / PRIMARY KEY builds the backing index inside the
 * ALTER TABLE, under its ACCESS EXCLUSIVE lock: no reads and no writes on the
 * table until every row is indexed. Building the index CONCURRENTLY first and
 * attaching it with USING INDEX takes that lock only for a moment.
 */
export const uniqueConstraintLocks: Rule = {
  id: 'unique-constraint-locks',
  dialects: ['postgres'],
  severity: 'error',
  summary: 'ADD CONSTRAINT … UNIQUE / PRIMARY KEY on an existing table without USING INDEX',
  statement(statement, context) {
    const alter = alterTableCommands(statement);
    if (!alter || context.createdHere(alter.table)) return [];
    const { table, commands } = alter;
    const reports: Report[] = [];
    for (const { subtype, def } of commands) {
      if (subtype === 'AT_AddConstraint' && def && 'Constraint' in def && buildsIndex(def.Constraint) && !def.Constraint.indexname) {
        reports.push(tableConstraint(table, def.Constraint, context));
      } else if (subtype === 'AT_AddColumn' && def && 'ColumnDef' in def) {
        const column = def.ColumnDef.colname ?? '';
        for (const c of def.ColumnDef.constraints ?? []) {
          if ('Constraint' in c && buildsIndex(c.Constraint)) reports.push(columnConstraint(table, column, c.Constraint));
        }
      }
    }
    return reports;
  },
};

function buildsIndex(constraint: Constraint): boolean {
  return constraint.contype === 'CONSTR_UNIQUE' || constraint.contype === 'CONSTR_PRIMARY';
}

function kind(constraint: Constraint): string {
  return constraint.contype === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'UNIQUE';
}

function defaultName(table: string, columns: readonly string[], constraint: Constraint): string {
  return constraint.contype === 'CONSTR_PRIMARY' ? `${table}_pkey` : `${table}_${columns.join('_')}_key`;
}

function tableConstraint(table: string, constraint: Constraint, context: StatementContext): Report {
  const columns = (constraint.keys ?? []).flatMap((k) => ('String' in k ? [k.String.sval ?? ''] : []));
  const name = constraint.conname ?? defaultName(table, columns, constraint);
  const what = `${kind(constraint)}${constraint.conname ? ` constraint ${constraint.conname}` : ''} (${columns.join(', ')})`;
  // A primary key also sets its columns NOT NULL, which scans the table when they are nullable.
  const nullable = constraint.contype === 'CONSTR_PRIMARY' ? columns.filter((c) => context.postgres?.column(table, c)?.notNull === false) : [];
  const notNullFirst = nullable.length > 0 ? ` First make ${nullable.join(', ')} NOT NULL without a long lock (see set-not-null-scan): ADD PRIMARY KEY would otherwise scan "${table}" to set it.` : '';
  return {
    message: `adding ${what} on "${table}" builds its unique index under an ACCESS EXCLUSIVE lock: reads and writes of "${table}" wait until every row is indexed`,
    help: `build the index first, in a migration marked -- cairn:no-transaction: CREATE UNIQUE INDEX CONCURRENTLY ${name} ON ${table} (${columns.join(', ')}); then, in the next migration: ALTER TABLE ${table} ADD CONSTRAINT ${name} ${kind(constraint)} USING INDEX ${name};${notNullFirst}`,
    offset: constraint.location,
  };
}

function columnConstraint(table: string, column: string, constraint: Constraint): Report {
  const name = constraint.conname ?? defaultName(table, [column], constraint);
  return {
    message: `adding column "${column}" to "${table}" as ${kind(constraint)} builds a unique index over every row under an ACCESS EXCLUSIVE lock: reads and writes of "${table}" wait until it is built`,
    help: `add the column without ${kind(constraint)}; then, in a migration marked -- cairn:no-transaction: CREATE UNIQUE INDEX CONCURRENTLY ${name} ON ${table} (${column}); then ALTER TABLE ${table} ADD CONSTRAINT ${name} ${kind(constraint)} USING INDEX ${name};`,
    offset: constraint.location,
  };
}
