import type { AlterTableStmt, ColumnDef, Constraint } from '@pgsql/types';
import { alterTableCommands, isNullConstant } from '../parse/postgres.js';
import type { LintStatement, Report, Rule, StatementContext } from '../types.js';

/**
 * Adding a FOREIGN KEY or CHECK constraint checks every existing row before
 * the statement returns. A CHECK does it under ACCESS EXCLUSIVE (no reads, no
 * writes); a FOREIGN KEY under SHARE ROW EXCLUSIVE on both tables (no writes
 * to either). NOT VALID skips that check; a later VALIDATE CONSTRAINT does it
 * under SHARE UPDATE EXCLUSIVE, which lets reads and writes through.
 */
export const constraintMissingNotValid: Rule = {
  id: 'constraint-missing-not-valid',
  dialects: ['postgres'],
  severity: 'error',
  summary: 'ADD CONSTRAINT … FOREIGN KEY / CHECK on an existing table without NOT VALID',
  statement(statement, context) {
    const alter = alterTableCommands(statement);
    if (!alter || context.createdHere(alter.table)) return [];
    const { table, commands } = alter;
    const reports: Report[] = [];
    for (const { subtype, def, name } of commands) {
      if (subtype === 'AT_AddConstraint' && def && 'Constraint' in def) {
        const constraint = def.Constraint;
        if (validates(constraint) && constraint.skip_validation !== true) reports.push(tableConstraint(table, constraint));
      } else if (subtype === 'AT_AddColumn' && def && 'ColumnDef' in def) {
        reports.push(...columnConstraints(table, def.ColumnDef));
      } else if (subtype === 'AT_ValidateConstraint' && name && context.inTransaction) {
        const added = addedNotValidBefore(context, table, name);
        if (added) reports.push(validateInSameTransaction(table, name, statement, added));
      }
    }
    return reports;
  },
};

function validates(constraint: Constraint): boolean {
  return constraint.contype === 'CONSTR_FOREIGN' || constraint.contype === 'CONSTR_CHECK';
}

function describe(constraint: Constraint): string {
  const kind = constraint.contype === 'CONSTR_FOREIGN' ? 'FOREIGN KEY' : 'CHECK constraint';
  return constraint.conname ? `${kind} ${constraint.conname}` : kind;
}

function lockEffect(table: string, constraint: Constraint): string {
  if (constraint.contype === 'CONSTR_FOREIGN') {
    const referenced = constraint.pktable?.relname ?? '';
    return `checks every existing row of "${table}" against "${referenced}" while holding SHARE ROW EXCLUSIVE locks on both, blocking writes to "${table}" and "${referenced}" until it is done`;
  }
  return `scans every existing row of "${table}" under an ACCESS EXCLUSIVE lock, blocking its reads and writes until it is done`;
}

function tableConstraint(table: string, constraint: Constraint): Report {
  const columns = (constraint.fk_attrs ?? []).flatMap((a) => ('String' in a ? [a.String.sval ?? ''] : []));
  const name = constraint.conname ?? (constraint.contype === 'CONSTR_FOREIGN' ? `${table}_${columns.join('_')}_fkey` : `${table}_check`);
  return {
    message: `adding ${describe(constraint)} on "${table}" ${lockEffect(table, constraint)}`,
    help: `add it with NOT VALID (ALTER TABLE ${table} ADD CONSTRAINT ${name} … NOT VALID;), which only checks new and updated rows, then in a separate, later migration run ALTER TABLE ${table} VALIDATE CONSTRAINT ${name}; (it scans under SHARE UPDATE EXCLUSIVE, which does not block reads or writes)`,
    offset: constraint.location,
  };
}

/**
 * A column added without a default is NULL in every existing row, so its
 * REFERENCES or CHECK holds trivially; with a default, every row gets that
 * value and the constraint is checked against each of them.
 */
function columnConstraints(table: string, column: ColumnDef): Report[] {
  const constraints = (column.constraints ?? []).flatMap((c) => ('Constraint' in c ? [c.Constraint] : []));
  const defaultValue = constraints.find((c) => c.contype === 'CONSTR_DEFAULT');
  const hasDefault = defaultValue !== undefined && !isNullConstant(defaultValue.raw_expr);
  if (!hasDefault) return [];
  const columnName = column.colname ?? '';
  return constraints.filter(validates).map((constraint) => {
    const name = constraint.conname ?? `${table}_${columnName}_${constraint.contype === 'CONSTR_FOREIGN' ? 'fkey' : 'check'}`;
    const definition =
      constraint.contype === 'CONSTR_FOREIGN' ? `FOREIGN KEY (${columnName}) REFERENCES ${constraint.pktable?.relname ?? '…'}${referencedColumns(constraint)}` : 'CHECK (…)';
    const effect =
      constraint.contype === 'CONSTR_FOREIGN'
        ? `is checked against "${constraint.pktable?.relname ?? ''}" while "${table}" is locked ACCESS EXCLUSIVE and writes to "${constraint.pktable?.relname ?? ''}" are blocked`
        : `is checked while "${table}" is locked ACCESS EXCLUSIVE, blocking its reads and writes`;
    return {
      message: `column "${columnName}" is added to "${table}" with a DEFAULT and ${constraint.contype === 'CONSTR_FOREIGN' ? 'a REFERENCES' : 'a CHECK'} constraint: every existing row gets the default and ${effect}`,
      help: `add the column without the constraint, then ALTER TABLE ${table} ADD CONSTRAINT ${name} ${definition} NOT VALID; and in a separate, later migration ALTER TABLE ${table} VALIDATE CONSTRAINT ${name};`,
      offset: constraint.location,
    };
  });
}

function referencedColumns(constraint: Constraint): string {
  const columns = (constraint.pk_attrs ?? []).flatMap((a) => ('String' in a ? [a.String.sval ?? ''] : []));
  return columns.length > 0 ? ` (${columns.join(', ')})` : '';
}

/** The earlier statement of this file that added constraint `name` to `table` with NOT VALID, if any. */
function addedNotValidBefore(context: StatementContext, table: string, name: string): LintStatement | undefined {
  return context.before.find(({ pg }) => {
    if (!pg || !('AlterTableStmt' in pg)) return false;
    const alter: AlterTableStmt = pg.AlterTableStmt;
    if (alter.relation?.relname !== table) return false;
    return (alter.cmds ?? []).some((cmd) => {
      if (!('AlterTableCmd' in cmd) || cmd.AlterTableCmd.subtype !== 'AT_AddConstraint') return false;
      const def = cmd.AlterTableCmd.def;
      return def !== undefined && 'Constraint' in def && def.Constraint.conname === name && def.Constraint.skip_validation === true;
    });
  });
}

function validateInSameTransaction(table: string, name: string, statement: LintStatement, added: LintStatement): Report {
  return {
    message: `VALIDATE CONSTRAINT ${name} runs in the same transaction that added it NOT VALID (line ${added.line}): the lock taken by ADD CONSTRAINT is held until commit, so the validating scan of "${table}" blocks writes after all`,
    help: `move ALTER TABLE ${table} VALIDATE CONSTRAINT ${name}; to a separate, later migration`,
    offset: Math.max(0, statement.sql.search(/\bVALIDATE\s+CONSTRAINT\b/i)),
  };
}
