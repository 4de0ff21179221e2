import type { AlterTableCmd, ColumnDef, Constraint, Node as PgNode, RangeVar } from '@pgsql/types';
import type { SqlStatement } from '../../source/split.js';
import { isDataChange, type AddColumn, type Fact, type TableAction } from '../facts.js';
import type { LintStatement } from '../types.js';
import { ShapedPostgresStatement, shapeOf, type ParseOptions } from './shape.js';
import { beforeParserLoads } from './engine-flags.js';

/**
 * PostgreSQL statements through the real Postgres parser (libpg-query, WASM).
 * Each statement is parsed on its own, so one that does not parse is reported
 * with its line and the rest are still linted.
 */
type Parser = typeof import('libpg-query');
let parser: Promise<Parser> | undefined;

/** Loads the WASM parser once per process (~50 ms). */
export function loadPostgresParser(): Promise<Parser> {
  parser ??= beforeParserLoads()
    .then(() => import('libpg-query'))
    .then(async (module) => {
      await module.loadModule();
      return module;
    });
  return parser;
}

export async function parsePostgres(statements: readonly SqlStatement[], options: ParseOptions = {}): Promise<LintStatement[]> {
  const { parseSync } = await loadPostgresParser();
  const tree = (sql: string) => parseSync(sql).stmts?.[0]?.stmt;
  const shapes = new Map<string, Fact>();
  return statements.map((statement, index) => {
    const base = { index, sql: statement.sql, line: statement.line, column: statement.column, sqlite: null };
    const shape = options.fastPath === false ? null : shapeOf(statement.sql);
    const known = shape === null ? undefined : shapes.get(shape);
    if (known) return new ShapedPostgresStatement(index, statement.sql, statement.line, statement.column, known, tree as (sql: string) => PgNode);
    try {
      const node = tree(statement.sql);
      if (!node) return { ...base, fact: { kind: 'other', name: 'empty' }, pg: null, parseError: null };
      const fact = factOf(node, statement.sql);
      if (shape !== null && isDataChange(fact)) shapes.set(shape, fact);
      return { ...base, fact, pg: node, parseError: null };
    } catch (error) {
      const offset = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
      return { ...base, fact: { kind: 'unparsed' }, pg: null, parseError: (error as Error).message, ...(offset === undefined ? {} : { parseErrorOffset: offset }) };
    }
  });
}

export function factOf(node: PgNode, sql: string): Fact {
  if ('CreateStmt' in node) {
    return { kind: 'create_table', table: relationName(node.CreateStmt.relation), ifNotExists: node.CreateStmt.if_not_exists === true, asSelect: false };
  }
  if ('CreateTableAsStmt' in node && node.CreateTableAsStmt.objtype === 'OBJECT_TABLE') {
    return { kind: 'create_table', table: relationName(node.CreateTableAsStmt.into?.rel), ifNotExists: node.CreateTableAsStmt.if_not_exists === true, asSelect: true };
  }
  if ('DropStmt' in node) {
    const drop = node.DropStmt;
    const names = (drop.objects ?? []).map(objectName);
    if (drop.removeType === 'OBJECT_TABLE') return { kind: 'drop_table', tables: names, ifExists: drop.missing_ok === true };
    if (drop.removeType === 'OBJECT_INDEX') return { kind: 'drop_index', indexes: names, concurrently: drop.concurrent === true, ifExists: drop.missing_ok === true };
    if (drop.removeType === 'OBJECT_VIEW') return { kind: 'drop_view', name: names[0] ?? '', table: null };
    if (drop.removeType === 'OBJECT_TRIGGER') return { kind: 'drop_trigger', name: names[0] ?? '', table: null };
    return { kind: 'other', name: `DropStmt:${drop.removeType ?? ''}` };
  }
  if ('AlterTableStmt' in node && node.AlterTableStmt.objtype === 'OBJECT_TABLE') {
    const actions = (node.AlterTableStmt.cmds ?? []).map((cmd) => ('AlterTableCmd' in cmd ? tableAction(cmd.AlterTableCmd, sql) : { type: 'other' as const, offset: 0 }));
    return { kind: 'alter_table', table: relationName(node.AlterTableStmt.relation), actions };
  }
  if ('RenameStmt' in node) {
    const rename = node.RenameStmt;
    const offset = rename.relation?.location ?? 0;
    if (rename.renameType === 'OBJECT_TABLE') return { kind: 'alter_table', table: relationName(rename.relation), actions: [{ type: 'rename_table', to: rename.newname ?? '', offset }] };
    if (rename.renameType === 'OBJECT_COLUMN' && rename.relationType === 'OBJECT_TABLE') {
      return { kind: 'alter_table', table: relationName(rename.relation), actions: [{ type: 'rename_column', from: rename.subname ?? '', to: rename.newname ?? '', offset }] };
    }
    return { kind: 'other', name: `RenameStmt:${rename.renameType ?? ''}` };
  }
  if ('IndexStmt' in node) {
    const index = node.IndexStmt;
    return { kind: 'create_index', table: relationName(index.relation), index: index.idxname ?? null, unique: index.unique === true, concurrently: index.concurrent === true, ifNotExists: index.if_not_exists === true };
  }
  if ('ViewStmt' in node) return { kind: 'create_view', name: relationName(node.ViewStmt.view), table: null };
  if ('CreateTrigStmt' in node) return { kind: 'create_trigger', name: node.CreateTrigStmt.trigname ?? '', table: relationName(node.CreateTrigStmt.relation) };
  if ('InsertStmt' in node) return { kind: 'insert', table: relationName(node.InsertStmt.relation) };
  if ('UpdateStmt' in node) return { kind: 'update', table: relationName(node.UpdateStmt.relation), hasWhere: node.UpdateStmt.whereClause !== undefined };
  if ('DeleteStmt' in node) return { kind: 'delete', table: relationName(node.DeleteStmt.relation), hasWhere: node.DeleteStmt.whereClause !== undefined };
  if ('TransactionStmt' in node) {
    const action = TRANSACTION_ACTIONS[node.TransactionStmt.kind ?? ''];
    if (action) return { kind: 'transaction', action };
  }
  return { kind: 'other', name: Object.keys(node)[0] ?? 'unknown' };
}

const TRANSACTION_ACTIONS: Record<string, 'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollback_to'> = {
  TRANS_STMT_BEGIN: 'begin',
  TRANS_STMT_START: 'begin',
  TRANS_STMT_COMMIT: 'commit',
  TRANS_STMT_ROLLBACK: 'rollback',
  TRANS_STMT_SAVEPOINT: 'savepoint',
  TRANS_STMT_RELEASE: 'release',
  TRANS_STMT_ROLLBACK_TO: 'rollback_to',
  TRANS_STMT_PREPARE: 'commit',
  TRANS_STMT_COMMIT_PREPARED: 'commit',
  TRANS_STMT_ROLLBACK_PREPARED: 'rollback',
};

function tableAction(cmd: AlterTableCmd, sql: string): TableAction {
  switch (cmd.subtype) {
    case 'AT_AddColumn':
      return cmd.def && 'ColumnDef' in cmd.def ? addColumn(cmd.def.ColumnDef) : { type: 'other', offset: 0 };
    case 'AT_DropColumn':
      // The parser keeps no location for DROP COLUMN; find it in the text.
      return { type: 'drop_column', column: cmd.name ?? '', offset: offsetOf(sql, new RegExp(`\\bDROP\\s+(?:COLUMN\\s+)?(?:IF\\s+EXISTS\\s+)?"?${escapeRegExp(cmd.name ?? '')}\\b`, 'i')) };
    default:
      return { type: 'other', offset: 0 };
  }
}

function addColumn(column: ColumnDef): AddColumn {
  const constraints = (column.constraints ?? []).flatMap((c) => ('Constraint' in c ? [c.Constraint] : []));
  const has = (type: Constraint['contype']) => constraints.some((c) => c.contype === type);
  const defaultConstraint = constraints.find((c) => c.contype === 'CONSTR_DEFAULT');
  const reference = constraints.find((c) => c.contype === 'CONSTR_FOREIGN');
  return {
    type: 'add_column',
    column: column.colname ?? '',
    dataType: typeName(column),
    notNull: has('CONSTR_NOTNULL') || has('CONSTR_PRIMARY'),
    hasDefault: defaultConstraint !== undefined && !isNullConstant(defaultConstraint.raw_expr),
    defaultIsNull: defaultConstraint !== undefined && isNullConstant(defaultConstraint.raw_expr),
    primaryKey: has('CONSTR_PRIMARY'),
    unique: has('CONSTR_UNIQUE'),
    references: reference?.pktable ? relationName(reference.pktable) : null,
    offset: column.location ?? 0,
  };
}

/** A literal NULL (as in DEFAULT NULL). */
export function isNullConstant(expression: PgNode | undefined): boolean {
  return expression !== undefined && 'A_Const' in expression && expression.A_Const.isnull === true;
}

/** `varchar(20)`, `int4`, `timestamptz`: the type's last name plus modifiers, without pg_catalog. */
export function typeName(column: ColumnDef): string | null {
  const names = (column.typeName?.names ?? []).flatMap((n) => ('String' in n ? [n.String.sval ?? ''] : []));
  const base = names.filter((n) => n !== 'pg_catalog').join('.');
  if (!base) return null;
  const modifiers = (column.typeName?.typmods ?? []).flatMap((m) => ('A_Const' in m && m.A_Const.ival ? [String(m.A_Const.ival.ival ?? 0)] : []));
  const array = (column.typeName?.arrayBounds?.length ?? 0) > 0 ? '[]' : '';
  return `${base}${modifiers.length > 0 ? `(${modifiers.join(',')})` : ''}${array}`;
}

/**
 * An ALTER TABLE on a table (not an index, view or sequence): its name and its
 * commands. Null for any other statement.
 */
export function alterTableCommands(statement: LintStatement): { table: string; commands: AlterTableCmd[] } | null {
  // The fact first: other statements' trees stay unread (a data statement's may not even be parsed, see shape.ts).
  if (statement.fact.kind !== 'alter_table') return null;
  const node = statement.pg;
  if (!node || !('AlterTableStmt' in node) || node.AlterTableStmt.objtype !== 'OBJECT_TABLE') return null;
  const commands = (node.AlterTableStmt.cmds ?? []).flatMap((cmd) => ('AlterTableCmd' in cmd ? [cmd.AlterTableCmd] : []));
  return { table: relationName(node.AlterTableStmt.relation), commands };
}

/** Calls `visit` on every node object of a parse tree (or part of one), depth-first, parents first. */
export function walk(node: unknown, visit: (node: PgNode) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
  } else if (node && typeof node === 'object') {
    visit(node as PgNode);
    for (const value of Object.values(node)) walk(value, visit);
  }
}

export function relationName(relation: RangeVar | undefined): string {
  return relation?.relname ?? '';
}

/** The last part of a dotted name given as a list of String nodes (a type's or function's name), or ''. */
export function lastName(names: readonly PgNode[] | undefined): string {
  const last = names?.at(-1);
  return last && 'String' in last ? (last.String.sval ?? '') : '';
}

/**
 * The tables a statement names, as `schema.table` where the SQL says a schema
 * (facts drop it): DROP TABLE, ALTER TABLE, UPDATE, DELETE and TRUNCATE.
 */
export function qualifiedTables(node: PgNode): string[] {
  const qualified = (relation: RangeVar | undefined) => (relation?.relname ? [relation.schemaname ? `${relation.schemaname}.${relation.relname}` : relation.relname] : []);
  if ('DropStmt' in node && node.DropStmt.removeType === 'OBJECT_TABLE') {
    return (node.DropStmt.objects ?? []).flatMap((object) => ('List' in object ? [(object.List.items ?? []).flatMap((item) => ('String' in item ? [item.String.sval ?? ''] : [])).join('.')] : []));
  }
  if ('AlterTableStmt' in node) return qualified(node.AlterTableStmt.relation);
  if ('UpdateStmt' in node) return qualified(node.UpdateStmt.relation);
  if ('DeleteStmt' in node) return qualified(node.DeleteStmt.relation);
  if ('TruncateStmt' in node) return (node.TruncateStmt.relations ?? []).flatMap((r) => ('RangeVar' in r ? qualified(r.RangeVar) : []));
  return [];
}

/** The last part of a dotted name in a DropStmt object list. */
function objectName(object: PgNode): string {
  if ('List' in object) {
    const parts = (object.List.items ?? []).flatMap((item) => ('String' in item ? [item.String.sval ?? ''] : []));
    return parts.at(-1) ?? '';
  }
  if ('String' in object) return object.String.sval ?? '';
  return '';
}

/** Where `pattern` first matches in the statement's text, or 0 (its start). */
export function offsetOf(sql: string, pattern: RegExp): number {
  return Math.max(0, sql.search(pattern));
}

/** `text` for use inside a RegExp, matching itself literally (to find a name in a statement's text). */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
