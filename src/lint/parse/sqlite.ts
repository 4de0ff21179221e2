import type { Statement as SqliteNode } from 'sql-parser-cst';
import type { SqlStatement } from '../../source/split.js';
import { isDataChange, type AddColumn, type Fact, type TableAction } from '../facts.js';
import type { LintStatement } from '../types.js';
import { ShapedSqliteStatement, shapeOf, type ParseOptions } from './shape.js';
import { beforeParserLoads } from './engine-flags.js';

/**
 * SQLite statements through a real SQLite grammar (sql-parser-cst). It
 * rejects what SQLite rejects (ALTER COLUMN, ADD CONSTRAINT): such a
 * statement comes back with `parseError` set, and the rules that know those
 * forms recognise them from its text.
 */
type Parser = typeof import('sql-parser-cst');
let parser: Promise<Parser> | undefined;
let loaded: Parser | undefined;

/** Loads the grammar once, on first use: it takes ~250 ms, which a PostgreSQL project never pays. */
function loadSqliteParser(): Promise<Parser> {
  parser ??= beforeParserLoads()
    .then(() => import('sql-parser-cst'))
    .then((module) => (loaded = module));
  return parser;
}

/** The grammar for rules that parse more (a CHECK, a trigger body): parseSqlite has loaded it before any rule runs. */
export function sqliteGrammar(): Parser {
  if (!loaded) throw new Error('the SQLite grammar is used before parseSqlite loaded it');
  return loaded;
}

export async function parseSqlite(statements: readonly SqlStatement[], options: ParseOptions = {}): Promise<LintStatement[]> {
  const { parse } = await loadSqliteParser();
  const tree = (sql: string) => parse(sql, { dialect: 'sqlite', includeRange: true }).statements[0];
  const shapes = new Map<string, Fact>();
  return statements.map((statement, index) => {
    const base = { index, sql: statement.sql, line: statement.line, column: statement.column, pg: null };
    const shape = options.fastPath === false ? null : shapeOf(statement.sql);
    const known = shape === null ? undefined : shapes.get(shape);
    if (known) return new ShapedSqliteStatement(index, statement.sql, statement.line, statement.column, known, tree as (sql: string) => SqliteNode);
    try {
      const node = tree(statement.sql);
      if (!node || node.type === 'empty') return { ...base, fact: { kind: 'other', name: 'empty' }, sqlite: null, parseError: null };
      const fact = factOf(node);
      if (shape !== null && isDataChange(fact)) shapes.set(shape, fact);
      return { ...base, fact, sqlite: node, parseError: null };
    } catch (error) {
      const offset = errorOffset(statement.sql, (error as Error).message);
      return { ...base, fact: { kind: 'unparsed' }, sqlite: null, parseError: firstLine((error as Error).message), ...(offset === undefined ? {} : { parseErrorOffset: offset }) };
    }
  });
}

/** The grammar's message ends with `--> undefined:<line>:<column>`: turn that into an offset in `sql`. */
function errorOffset(sql: string, message: string): number | undefined {
  const match = /--> [^\n]*?:(\d+):(\d+)\s*(\n|$)/.exec(message);
  if (!match) return undefined;
  const lines = sql.split('\n').slice(0, Number(match[1]) - 1);
  return lines.reduce((sum, line) => sum + line.length + 1, 0) + Number(match[2]) - 1;
}

/** A loosely typed view of a CST node, for walking the parts the adapter and the SQLite rules read. */
export interface Loose {
  readonly type: string;
  readonly range?: [number, number];
  readonly [key: string]: unknown;
}

export function factOf(node: SqliteNode): Fact {
  switch (node.type) {
    case 'create_table_stmt':
      return { kind: 'create_table', table: nameOf(node.name), ifNotExists: node.ifNotExistsKw !== undefined, asSelect: node.clauses.some((c) => c.type === 'as_clause') };
    case 'drop_table_stmt':
      return { kind: 'drop_table', tables: node.tables.items.map(nameOf), ifExists: node.ifExistsKw !== undefined };
    case 'alter_table_stmt':
      return { kind: 'alter_table', table: nameOf(node.table), actions: node.actions.items.map((a) => tableAction(a as unknown as Loose)) };
    case 'create_index_stmt':
      return { kind: 'create_index', table: nameOf(node.table), index: node.name ? nameOf(node.name) : null, unique: node.indexTypeKw !== undefined, concurrently: false, ifNotExists: node.ifNotExistsKw !== undefined };
    case 'drop_index_stmt':
      return { kind: 'drop_index', indexes: node.indexes.items.map(nameOf), concurrently: false, ifExists: node.ifExistsKw !== undefined };
    case 'create_view_stmt':
      return { kind: 'create_view', name: nameOf(node.name), table: null };
    case 'drop_view_stmt':
      return { kind: 'drop_view', name: nameOf(node.views.items[0]), table: null };
    case 'create_trigger_stmt':
      return { kind: 'create_trigger', name: nameOf(node.name), table: nameOf((node.target as unknown as Loose).table) };
    case 'drop_trigger_stmt':
      return { kind: 'drop_trigger', name: nameOf(node.trigger), table: null };
    case 'insert_stmt': {
      const clause = node.clauses.find((c) => c.type === 'insert_clause') as Loose | undefined;
      return { kind: 'insert', table: nameOf(clause?.table) };
    }
    case 'update_stmt':
    case 'delete_stmt': {
      const clauses = node.clauses as unknown as readonly Loose[];
      const clause = clauses.find((c) => c.type === 'update_clause' || c.type === 'delete_clause');
      const table = (clause?.tables as Loose | undefined)?.items as unknown[] | undefined;
      return { kind: node.type === 'update_stmt' ? 'update' : 'delete', table: nameOf(table?.[0]), hasWhere: clauses.some((c) => c.type === 'where_clause') };
    }
    case 'start_transaction_stmt':
      return { kind: 'transaction', action: 'begin' };
    case 'commit_transaction_stmt':
      return { kind: 'transaction', action: 'commit' };
    case 'rollback_transaction_stmt':
      return { kind: 'transaction', action: (node as unknown as Loose).savepoint ? 'rollback_to' : 'rollback' };
    case 'savepoint_stmt':
      return { kind: 'transaction', action: 'savepoint' };
    case 'release_savepoint_stmt':
      return { kind: 'transaction', action: 'release' };
    case 'pragma_stmt': {
      const pragma = node.pragma as unknown as Loose;
      if (pragma.type === 'pragma_assignment') return { kind: 'pragma', name: nameOf(pragma.name).toLowerCase(), value: textOf(pragma.value) };
      if (pragma.type === 'pragma_func_call') return { kind: 'pragma', name: nameOf(pragma.name).toLowerCase(), value: textOf((pragma.args as Loose).expr) };
      return { kind: 'pragma', name: nameOf(pragma).toLowerCase(), value: null };
    }
    default:
      return { kind: 'other', name: node.type };
  }
}

function tableAction(action: Loose): TableAction {
  const offset = action.range?.[0] ?? 0;
  switch (action.type) {
    case 'alter_action_add_column':
      return addColumn(action.column as Loose);
    case 'alter_action_drop_column':
      return { type: 'drop_column', column: nameOf(action.column), offset };
    case 'alter_action_rename_column':
      return { type: 'rename_column', from: nameOf(action.oldName), to: nameOf(action.newName), offset };
    case 'alter_action_rename':
    case 'alter_action_rename_table':
      return { type: 'rename_table', to: nameOf(action.newName), offset };
    default:
      return { type: 'other', offset };
  }
}

function addColumn(column: Loose): AddColumn {
  const constraints = ((column.constraints as Loose[] | undefined) ?? []).map((c) => (c.type === 'constraint' ? (c.constraint as Loose) : c));
  const defaultConstraint = constraints.find((c) => c.type === 'constraint_default');
  const reference = constraints.find((c) => c.type === 'references_specification');
  const primaryKey = constraints.some((c) => c.type === 'constraint_primary_key');
  return {
    type: 'add_column',
    column: nameOf(column.name),
    dataType: column.dataType ? dataTypeText(column.dataType as Loose) : null,
    notNull: constraints.some((c) => c.type === 'constraint_not_null'),
    hasDefault: defaultConstraint !== undefined && unwrap(defaultConstraint.expr as Loose).type !== 'null_literal',
    defaultIsNull: defaultConstraint !== undefined && unwrap(defaultConstraint.expr as Loose).type === 'null_literal',
    primaryKey,
    unique: constraints.some((c) => c.type === 'constraint_unique'),
    references: reference ? nameOf(reference.table) : null,
    offset: (column.range as [number, number] | undefined)?.[0] ?? 0,
  };
}

/** DEFAULT (NULL) is DEFAULT NULL. */
export function unwrap(expression: Loose): Loose {
  return expression.type === 'paren_expr' ? unwrap(expression.expr as Loose) : expression;
}

/** The unquoted name of an identifier, or the last part of `schema.name`. */
export function nameOf(node: unknown): string {
  const n = node as Loose | undefined;
  if (!n) return '';
  if (n.type === 'identifier') return String(n.name ?? n.text ?? '');
  if (n.type === 'member_expr') return nameOf(n.property);
  if (n.type === 'alias') return nameOf(n.expr);
  if (n.type === 'table_without_inheritance') return nameOf(n.table);
  return String(n.name ?? n.text ?? '');
}

function textOf(node: unknown): string | null {
  const n = node as Loose | undefined;
  if (!n) return null;
  if (typeof n.text === 'string') return n.text;
  if (n.value !== undefined) return String(n.value);
  return null;
}

function dataTypeText(dataType: Loose): string {
  const name = dataType.name as Loose | Loose[] | undefined;
  if (Array.isArray(name)) return name.map((k) => String(k.text)).join(' ');
  if (name) return String(name.text);
  return dataType.dataType ? dataTypeText(dataType.dataType as Loose) : '';
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
