import { alterTableCommands, escapeRegExp } from '../parse/postgres.js';
import type { Report, Rule, StatementContext } from '../types.js';

/**
 * SET NOT NULL reads the whole table to prove there is no NULL, holding the
 * ACCESS EXCLUSIVE lock of ALTER TABLE meanwhile: no reads, no writes. From
 * PostgreSQL 12 the scan is skipped when a validated CHECK (col IS NOT NULL)
 * already proves it, and PostgreSQL 18 can add the NOT NULL itself NOT VALID.
 */
export const setNotNullScan: Rule = {
  id: 'set-not-null-scan',
  dialects: ['postgres'],
  severity: 'error',
  summary: 'ALTER COLUMN … SET NOT NULL on an existing table (full scan under ACCESS EXCLUSIVE)',
  statement(statement, context) {
    const alter = alterTableCommands(statement);
    if (!alter || context.createdHere(alter.table)) return [];
    const { table, commands } = alter;
    const reports: Report[] = [];
    for (const { subtype, name, def } of commands) {
      if (subtype === 'AT_SetNotNull' && name) {
        // Already NOT NULL: PostgreSQL has nothing to check; a validated CHECK (col IS NOT NULL) spares the scan from PostgreSQL 12.
        if (context.postgres?.column(table, name)?.notNull === true || provenByCheck(table, name, context)) continue;
        const offset = Math.max(0, statement.sql.search(new RegExp(`\\bALTER\\s+(?:COLUMN\\s+)?"?${escapeRegExp(name)}"?\\s+SET\\s+NOT\\s+NULL\\b`, 'i')));
        reports.push(report(table, name, 'SET NOT NULL', offset, context));
      } else if (subtype === 'AT_AddConstraint' && def && 'Constraint' in def && def.Constraint.contype === 'CONSTR_NOTNULL' && def.Constraint.skip_validation !== true) {
        // PostgreSQL 18: ADD CONSTRAINT name NOT NULL col, which checks every row like SET NOT NULL.
        for (const key of def.Constraint.keys ?? []) {
          const column = 'String' in key ? (key.String.sval ?? '') : '';
          if (column && context.postgres?.column(table, column)?.notNull !== true && !provenByCheck(table, column, context)) {
            const what = def.Constraint.conname ? `ADD CONSTRAINT ${def.Constraint.conname} NOT NULL` : 'ADD NOT NULL';
            reports.push(report(table, column, what, def.Constraint.location ?? 0, context));
          }
        }
      }
    }
    return reports;
  },
};

function provenByCheck(table: string, column: string, context: StatementContext): boolean {
  return context.target.postgresVersion >= 12 && context.postgres?.provenNotNull(table, column) === true;
}

function report(table: string, column: string, what: string, offset: number, context: StatementContext): Report {
  return {
    message: `${what} on "${table}"."${column}" scans every row of "${table}" under an ACCESS EXCLUSIVE lock, blocking its reads and writes until the scan is done (and fails if a row is NULL)`,
    help: help(table, column, context.target.postgresVersion),
    offset,
  };
}

function help(table: string, column: string, version: number): string {
  const check = `${table}_${column}_not_null`;
  if (version >= 18) {
    return `ALTER TABLE ${table} ADD CONSTRAINT ${check} NOT NULL ${column} NOT VALID; (checks new rows only), backfill the NULLs, then in a later migration ALTER TABLE ${table} VALIDATE CONSTRAINT ${check}; (scans without blocking reads or writes)`;
  }
  if (version >= 12) {
    return `ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${column} IS NOT NULL) NOT VALID;, backfill the NULLs, then in a later migration ALTER TABLE ${table} VALIDATE CONSTRAINT ${check}; (scans without blocking reads or writes), then ALTER TABLE ${table} ALTER COLUMN ${column} SET NOT NULL; (PostgreSQL skips the scan: the valid CHECK proves it, and this rule stays quiet) and ALTER TABLE ${table} DROP CONSTRAINT ${check};`;
  }
  return `before PostgreSQL 12, SET NOT NULL always scans: enforce it with ALTER TABLE ${table} ADD CONSTRAINT ${check} CHECK (${column} IS NOT NULL) NOT VALID; and, in a later migration, ALTER TABLE ${table} VALIDATE CONSTRAINT ${check}; and keep the CHECK instead of SET NOT NULL`;
}
