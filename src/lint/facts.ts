import type { Scan } from './scan.js';

/**
 * A dialect-neutral summary of what a statement does, made by each parser
 * adapter from its own tree. Rules that apply to both PostgreSQL and SQLite
 * read these; dialect-specific rules read the raw tree as well. Names are
 * unquoted and lower-cased (quoted mixed-case identifiers keep their case),
 * without schema prefix.
 */
export interface AddColumn {
  readonly type: 'add_column';
  readonly column: string;
  /** Declared type as written (e.g. "integer", "varchar(20)"), or null. */
  readonly dataType: string | null;
  readonly notNull: boolean;
  /** Has a DEFAULT other than DEFAULT NULL. */
  readonly hasDefault: boolean;
  /** Says DEFAULT NULL explicitly. */
  readonly defaultIsNull: boolean;
  readonly primaryKey: boolean;
  readonly unique: boolean;
  /** Table it REFERENCES, if any. */
  readonly references: string | null;
  /** Offset of the column name inside the statement. */
  readonly offset: number;
}

export type TableAction =
  | AddColumn
  | { readonly type: 'drop_column'; readonly column: string; readonly offset: number }
  | { readonly type: 'rename_column'; readonly from: string; readonly to: string; readonly offset: number }
  | { readonly type: 'rename_table'; readonly to: string; readonly offset: number }
  /** Anything else (ALTER COLUMN TYPE, ADD CONSTRAINT, …): dialect rules look at the tree. */
  | { readonly type: 'other'; readonly offset: number };

export type Fact =
  | { readonly kind: 'create_table'; readonly table: string; readonly ifNotExists: boolean; readonly asSelect: boolean }
  | { readonly kind: 'drop_table'; readonly tables: readonly string[]; readonly ifExists: boolean }
  | { readonly kind: 'alter_table'; readonly table: string; readonly actions: readonly TableAction[] }
  | { readonly kind: 'create_index'; readonly table: string; readonly index: string | null; readonly unique: boolean; readonly concurrently: boolean; readonly ifNotExists: boolean }
  | { readonly kind: 'drop_index'; readonly indexes: readonly string[]; readonly concurrently: boolean; readonly ifExists: boolean }
  | { readonly kind: 'create_view' | 'drop_view' | 'create_trigger' | 'drop_trigger'; readonly name: string; readonly table: string | null }
  | { readonly kind: 'insert'; readonly table: string }
  | { readonly kind: 'update' | 'delete'; readonly table: string; readonly hasWhere: boolean }
  | { readonly kind: 'transaction'; readonly action: 'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollback_to' }
  | { readonly kind: 'pragma'; readonly name: string; readonly value: string | null }
  /** Everything else; `name` is the parser's statement type (e.g. VacuumStmt, select_stmt). */
  | { readonly kind: 'other'; readonly name: string }
  /** The statement did not parse. */
  | { readonly kind: 'unparsed' };

/** Statements that change data rather than schema. */
export function isDataChange(fact: Fact): boolean {
  return fact.kind === 'insert' || fact.kind === 'update' || fact.kind === 'delete';
}

/** Statements that change schema. */
export function isSchemaChange(fact: Fact): boolean {
  return ['create_table', 'drop_table', 'alter_table', 'create_index', 'drop_index', 'create_view', 'drop_view', 'create_trigger', 'drop_trigger'].includes(fact.kind);
}

/** Whether an explicit BEGIN is open, not yet closed by a COMMIT or ROLLBACK: ask it with stateBefore. */
export const explicitTransaction: Scan<boolean> = {
  initial: false,
  step: (open, { fact }) => (fact.kind !== 'transaction' ? open : fact.action === 'begin' ? true : fact.action === 'commit' || fact.action === 'rollback' ? false : open),
};
