import type { Node as PgNode } from '@pgsql/types';
import { typeName } from '../parse/postgres.js';

/**
 * What the linter knows of a PostgreSQL schema without a server: the tables,
 * columns and types that earlier statements created, replayed from their parse
 * trees. Enough to tell an existing table from a new one and to know a
 * column's current type; not a full catalogue.
 */
export interface PostgresColumn {
  readonly type: string | null;
  readonly notNull: boolean;
}

export class PostgresSchema {
  private readonly tables = new Map<string, Map<string, PostgresColumn>>();
  private readonly enums = new Set<string>();

  hasTable(table: string): boolean {
    return this.tables.has(table);
  }

  column(table: string, column: string): PostgresColumn | undefined {
    return this.tables.get(table)?.get(column);
  }

  hasEnum(name: string): boolean {
    return this.enums.has(name);
  }

  /** Applies a statement's effect on tables, columns and enum types. */
  apply(node: PgNode | null): void {
    if (!node) return;
    if ('CreateStmt' in node) {
      const columns = new Map<string, PostgresColumn>();
      for (const element of node.CreateStmt.tableElts ?? []) {
        if ('ColumnDef' in element) {
          const constraints = (element.ColumnDef.constraints ?? []).flatMap((c) => ('Constraint' in c ? [c.Constraint.contype] : []));
          columns.set(element.ColumnDef.colname ?? '', { type: typeName(element.ColumnDef), notNull: constraints.includes('CONSTR_NOTNULL') || constraints.includes('CONSTR_PRIMARY') });
        }
      }
      this.tables.set(node.CreateStmt.relation?.relname ?? '', columns);
    } else if ('CreateTableAsStmt' in node) {
      this.tables.set(node.CreateTableAsStmt.into?.rel?.relname ?? '', new Map());
    } else if ('DropStmt' in node && node.DropStmt.removeType === 'OBJECT_TABLE') {
      for (const object of node.DropStmt.objects ?? []) {
        if ('List' in object) {
          const last = object.List.items?.at(-1);
          if (last && 'String' in last) this.tables.delete(last.String.sval ?? '');
        }
      }
    } else if ('RenameStmt' in node) {
      this.rename(node.RenameStmt.renameType, node.RenameStmt.relation?.relname ?? '', node.RenameStmt.subname, node.RenameStmt.newname ?? '');
    } else if ('AlterTableStmt' in node) {
      const columns = this.tables.get(node.AlterTableStmt.relation?.relname ?? '');
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
        }
      }
    } else if ('CreateEnumStmt' in node) {
      const last = node.CreateEnumStmt.typeName?.at(-1);
      if (last && 'String' in last) this.enums.add(last.String.sval ?? '');
    }
  }

  private rename(kind: string | undefined, table: string, from: string | undefined, to: string): void {
    const columns = this.tables.get(table);
    if (!columns) return;
    if (kind === 'OBJECT_TABLE') {
      this.tables.delete(table);
      this.tables.set(to, columns);
    } else if (kind === 'OBJECT_COLUMN' && from && columns.has(from)) {
      columns.set(to, columns.get(from)!);
      columns.delete(from);
    }
  }
}
