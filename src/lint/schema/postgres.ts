import type { Constraint, Node as PgNode } from '@pgsql/types';
import { typeName } from '../parse/postgres.js';

/**
 * What the linter knows of a PostgreSQL schema without a server: the tables,
 * columns and types that earlier statements created, replayed from their parse
 * trees. Enough to tell an existing table from a new one and to know a
 * column's current type, and which CHECK (col IS NOT NULL) constraints are
 * validated (they spare SET NOT NULL its scan); not a full catalogue.
 */
export interface PostgresColumn {
  readonly type: string | null;
  readonly notNull: boolean;
}

export class PostgresSchema {
  private readonly tables = new Map<string, Map<string, PostgresColumn>>();
  private readonly enums = new Set<string>();
  /** Per table: CHECK (col IS NOT NULL) constraints by name, and whether they are validated. */
  private readonly notNullChecks = new Map<string, Map<string, { column: string; valid: boolean }>>();

  hasTable(table: string): boolean {
    return this.tables.has(table);
  }

  column(table: string, column: string): PostgresColumn | undefined {
    return this.tables.get(table)?.get(column);
  }

  hasEnum(name: string): boolean {
    return this.enums.has(name);
  }

  /** True when a validated CHECK (column IS NOT NULL) on the table proves the column has no NULL. */
  provenNotNull(table: string, column: string): boolean {
    for (const check of this.notNullChecks.get(table)?.values() ?? []) if (check.valid && check.column === column) return true;
    return false;
  }

  /** Applies a statement's effect on tables, columns and enum types. */
  apply(node: PgNode | null): void {
    if (!node) return;
    if ('CreateStmt' in node) {
      const columns = new Map<string, PostgresColumn>();
      const table = node.CreateStmt.relation?.relname ?? '';
      this.notNullChecks.delete(table);
      for (const element of node.CreateStmt.tableElts ?? []) {
        if ('ColumnDef' in element) {
          const constraints = (element.ColumnDef.constraints ?? []).flatMap((c) => ('Constraint' in c ? [c.Constraint.contype] : []));
          columns.set(element.ColumnDef.colname ?? '', { type: typeName(element.ColumnDef), notNull: constraints.includes('CONSTR_NOTNULL') || constraints.includes('CONSTR_PRIMARY') });
        } else if ('Constraint' in element) {
          this.addCheck(table, element.Constraint);
        }
      }
      this.tables.set(table, columns);
    } else if ('CreateTableAsStmt' in node) {
      this.tables.set(node.CreateTableAsStmt.into?.rel?.relname ?? '', new Map());
    } else if ('DropStmt' in node && node.DropStmt.removeType === 'OBJECT_TABLE') {
      for (const object of node.DropStmt.objects ?? []) {
        if ('List' in object) {
          const last = object.List.items?.at(-1);
          if (last && 'String' in last) {
            this.tables.delete(last.String.sval ?? '');
            this.notNullChecks.delete(last.String.sval ?? '');
          }
        }
      }
    } else if ('RenameStmt' in node) {
      this.rename(node.RenameStmt.renameType, node.RenameStmt.relation?.relname ?? '', node.RenameStmt.subname, node.RenameStmt.newname ?? '');
    } else if ('AlterTableStmt' in node) {
      const table = node.AlterTableStmt.relation?.relname ?? '';
      const columns = this.tables.get(table);
      if (!columns) return;
      for (const cmd of node.AlterTableStmt.cmds ?? []) {
        if (!('AlterTableCmd' in cmd)) continue;
        const { subtype, name, def } = cmd.AlterTableCmd;
        if (subtype === 'AT_AddColumn' && def && 'ColumnDef' in def) {
          const constraints = (def.ColumnDef.constraints ?? []).flatMap((c) => ('Constraint' in c ? [c.Constraint.contype] : []));
          columns.set(def.ColumnDef.colname ?? '', { type: typeName(def.ColumnDef), notNull: constraints.includes('CONSTR_NOTNULL') });
        } else if (subtype === 'AT_DropColumn' && name) {
          columns.delete(name);
        } else if (subtype === 'AT_AlterColumnType' && name && def && 'ColumnDef' in def) {
          columns.set(name, { type: typeName(def.ColumnDef), notNull: columns.get(name)?.notNull ?? false });
        } else if ((subtype === 'AT_SetNotNull' || subtype === 'AT_DropNotNull') && name && columns.has(name)) {
          columns.set(name, { type: columns.get(name)!.type, notNull: subtype === 'AT_SetNotNull' });
        } else if (subtype === 'AT_AddConstraint' && def && 'Constraint' in def) {
          this.addCheck(table, def.Constraint);
        } else if (subtype === 'AT_ValidateConstraint' && name) {
          const check = this.notNullChecks.get(table)?.get(name);
          if (check) check.valid = true;
        } else if (subtype === 'AT_DropConstraint' && name) {
          this.notNullChecks.get(table)?.delete(name);
        }
      }
    } else if ('CreateEnumStmt' in node) {
      const last = node.CreateEnumStmt.typeName?.at(-1);
      if (last && 'String' in last) this.enums.add(last.String.sval ?? '');
    }
  }

  /** Records a CHECK (col IS NOT NULL); any other constraint is not modelled. */
  private addCheck(table: string, constraint: Constraint): void {
    if (constraint.contype !== 'CONSTR_CHECK') return;
    const test = constraint.raw_expr;
    if (!test || !('NullTest' in test) || test.NullTest.nulltesttype !== 'IS_NOT_NULL') return;
    const ref = test.NullTest.arg;
    const last = ref && 'ColumnRef' in ref ? ref.ColumnRef.fields?.at(-1) : undefined;
    if (!last || !('String' in last) || !last.String.sval) return;
    const column = last.String.sval;
    // PostgreSQL names an unnamed CHECK <table>_<column>_check: VALIDATE and DROP then use that name.
    const name = constraint.conname ?? `${table}_${column}_check`;
    let checks = this.notNullChecks.get(table);
    if (!checks) this.notNullChecks.set(table, (checks = new Map()));
    checks.set(name, { column, valid: constraint.skip_validation !== true });
  }

  private rename(kind: string | undefined, table: string, from: string | undefined, to: string): void {
    const columns = this.tables.get(table);
    if (!columns) return;
    const checks = this.notNullChecks.get(table);
    if (kind === 'OBJECT_TABLE') {
      this.tables.delete(table);
      this.tables.set(to, columns);
      this.notNullChecks.delete(table);
      if (checks) this.notNullChecks.set(to, checks);
    } else if (kind === 'OBJECT_COLUMN' && from && columns.has(from)) {
      columns.set(to, columns.get(from)!);
      columns.delete(from);
      for (const check of checks?.values() ?? []) if (check.column === from) check.column = to;
    }
  }
}
