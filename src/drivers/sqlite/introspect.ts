import type Database from 'better-sqlite3';
import { compareStrings, SnapshotBuilder, type Snapshot } from '../snapshot.js';
import { quoteIdentifier } from '../../sql/quote.js';

/**
 * The schema of a SQLite database's `main` schema as a Snapshot.
 *
 * Keys and descriptions (names as SQLite stores them, unquoted):
 *   table users              table | table without rowid, strict | virtual table using fts5(a, b)
 *   columns users            id, email, name            (order, kept apart from the columns)
 *   column users.email       text collate nocase not null default 'x' | text generated always as (lower(email)) stored
 *   primary key users        primary key (id) [autoincrement]
 *   unique users (email)     unique (email)
 *   foreign key posts (user_id)  (user_id) → users (id) on delete cascade on update no action
 *   check users <name|expr>  [constraint name ]check (age >= 0)
 *   index users_email_idx    create unique index users_email_idx on users(email) where …
 *   view active_users        create view active_users as select …
 *   trigger posts_touch      create trigger posts_touch after update on posts begin … end
 *
 * SQL text (index, view, trigger definitions, types, defaults, expressions)
 * is normalized token by token: comments dropped, bare words and simple
 * quoted identifiers lower-cased (SQLite does not care about their case),
 * one space between tokens, none inside parentheses or before commas.
 *
 * Internal tables (`sqlite_%`), virtual tables' shadow tables and the tables
 * named in `exclude` (with their indexes and triggers) are left out.
 */
/** Runs one reading statement: better-sqlite3 locally, D1 over its API. */
export type SqliteQuery = (sql: string, params?: readonly unknown[]) => Promise<Record<string, unknown>[]>;

/** A SqliteQuery over a better-sqlite3 connection. */
export function queryOf(db: Database.Database): SqliteQuery {
  return async (sql, params = []) => db.prepare(sql).all(...params) as Record<string, unknown>[];
}

/** Tables other than SQLite's own (sqlite_sequence, sqlite_stat1, …) and the `exclude`d ones, sorted. */
export async function sqliteUserTables(query: SqliteQuery, exclude: readonly string[]): Promise<string[]> {
  const rows = await query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name");
  const skip = new Set(exclude.map((name) => name.replace(/^main\./i, '').toLowerCase()));
  return rows.map((row) => String(row.name)).filter((name) => !skip.has(name.toLowerCase()));
}

export async function introspectSqlite(query: SqliteQuery, options: { exclude: readonly string[] }): Promise<Snapshot> {
  const excluded = new Set(options.exclude.map((name) => name.replace(/^main\./i, '').toLowerCase()));
  const skip = (name: string) => excluded.has(name.toLowerCase()) || /^sqlite_/i.test(name);
  const builder = new SnapshotBuilder();

  const master = (await query("SELECT type, name, tbl_name AS tableName, sql FROM main.sqlite_master WHERE type IN ('table', 'view', 'index', 'trigger')")) as unknown as { type: string; name: string; tableName: string; sql: string | null }[];
  const tableSql = new Map(master.filter((row) => row.type === 'table').map((row) => [row.name, row.sql ?? '']));

  const listed = (await query("SELECT name, type, wr, strict FROM pragma_table_list WHERE schema = 'main'")) as unknown as {
    name: string;
    type: 'table' | 'view' | 'virtual' | 'shadow';
    wr: number;
    strict: number;
  }[];
  // A virtual table's shadow tables belong to its module: the virtual table stands for them.
  const shadow = new Set(listed.filter((table) => table.type === 'shadow').map((table) => table.name));
  const tables = listed.filter((table) => table.type === 'table' || table.type === 'virtual').sort((a, b) => compareStrings(a.name, b.name));

  for (const table of tables) {
    if (skip(table.name)) continue;
    const name = table.name;
    const sql = tableSql.get(name) ?? '';
    const tokens = tokenize(sql);
    const columns = (await query('SELECT name, type, "notnull" AS required, dflt_value AS dflt, pk, hidden FROM pragma_table_xinfo(?, \'main\') ORDER BY cid', [name])) as unknown as {
      name: string;
      type: string;
      required: number;
      dflt: string | null;
      pk: number;
      hidden: number;
    }[];

    if (table.type === 'virtual') {
      const using = tokens.findIndex((token) => token.kind === 'word' && token.text.toLowerCase() === 'using');
      builder.add(`table ${name}`, `virtual table using ${using >= 0 ? normalizeSql(render(tokens.slice(using + 1))) : '?'}`);
      builder.add(`columns ${name}`, columns.map((column) => column.name).join(', '));
      continue; // the module owns the rest; its shadow tables are skipped above
    }

    const options = [table.wr ? 'without rowid' : '', table.strict ? 'strict' : ''].filter(Boolean);
    builder.add(`table ${name}`, options.length ? `table ${options.join(', ')}` : 'table');
    builder.add(`columns ${name}`, columns.map((column) => column.name).join(', '));

    const definition = parseCreateTable(tokens);
    for (const column of columns) {
      const parsed = definition.columns.get(column.name.toLowerCase());
      const parts = [column.type ? normalizeSql(column.type) : '(no type)'];
      if (parsed?.collate) parts.push(`collate ${parsed.collate}`);
      if (column.required) parts.push('not null');
      if (column.dflt !== null) parts.push(`default ${normalizeSql(column.dflt)}`);
      if (column.hidden === 2 || column.hidden === 3) {
        parts.push(`generated always as (${parsed?.generated ?? '?'}) ${column.hidden === 3 ? 'stored' : 'virtual'}`);
      } else if (column.hidden === 1) {
        parts.push('hidden');
      }
      builder.add(`column ${name}.${column.name}`, parts.join(' '));
    }

    const primary = columns.filter((column) => column.pk > 0).sort((a, b) => a.pk - b.pk);
    if (primary.length > 0) {
      builder.add(`primary key ${name}`, `primary key (${primary.map((column) => column.name).join(', ')})${definition.autoincrement ? ' autoincrement' : ''}`);
    }

    const indexes = (await query("SELECT name, \"unique\" AS isUnique, origin, partial FROM pragma_index_list(?, 'main')", [name])) as unknown as {
      name: string;
      isUnique: number;
      origin: string;
      partial: number;
    }[];
    for (const index of indexes) {
      if (index.origin !== 'u') continue; // 'pk' is the primary key above; 'c' (CREATE INDEX) comes from sqlite_master below
      const keyColumns = (await query("SELECT name, \"desc\" AS descending, coll FROM pragma_index_xinfo(?, 'main') WHERE key = 1 ORDER BY seqno", [index.name])) as unknown as {
        name: string | null;
        descending: number;
        coll: string | null;
      }[];
      const names = keyColumns.map((column) => column.name ?? '?');
      const described = keyColumns.map((column) => {
        let text = column.name ?? '?';
        if (column.coll && column.coll.toUpperCase() !== 'BINARY') text += ` collate ${column.coll.toLowerCase()}`;
        if (column.descending) text += ' desc';
        return text;
      });
      builder.add(`unique ${name} (${names.join(', ')})`, `unique (${described.join(', ')})`);
    }

    const references = (await query("SELECT id, seq, \"table\" AS parent, \"from\" AS source, \"to\" AS target, on_update AS onUpdate, on_delete AS onDelete, \"match\" AS matching FROM pragma_foreign_key_list(?, 'main') ORDER BY id, seq", [name])) as unknown as {
      id: number;
      seq: number;
      parent: string;
      source: string;
      target: string | null;
      onUpdate: string;
      onDelete: string;
      matching: string;
    }[];
    const byId = new Map<number, typeof references>();
    for (const reference of references) byId.set(reference.id, [...(byId.get(reference.id) ?? []), reference]);
    for (const group of byId.values()) {
      const first = group[0]!;
      const sources = group.map((reference) => reference.source);
      let targets = group.map((reference) => reference.target);
      if (targets.some((target) => target === null)) {
        // `REFERENCES users` without columns means the parent's primary key.
        const parentKey = (await query("SELECT name FROM pragma_table_xinfo(?, 'main') WHERE pk > 0 ORDER BY pk", [first.parent])) as unknown as { name: string }[];
        targets = parentKey.length === group.length ? parentKey.map((column) => column.name) : [];
      }
      let text = `(${sources.join(', ')}) → ${first.parent}${targets.length ? ` (${targets.join(', ')})` : ''}`;
      text += ` on delete ${first.onDelete.toLowerCase()} on update ${first.onUpdate.toLowerCase()}`;
      if (first.matching && first.matching.toUpperCase() !== 'NONE') text += ` match ${first.matching.toLowerCase()}`;
      builder.add(`foreign key ${name} (${sources.join(', ')})`, text);
    }

    for (const check of definition.checks) {
      const expression = normalizeSql(render(check.expression));
      const text = `${check.name ? `constraint ${check.name} ` : ''}check (${expression})`;
      builder.add(`check ${name} ${check.name ?? expression}`, text);
    }
  }

  for (const row of master) {
    if (row.type === 'table' || row.sql === null) continue; // auto-indexes (sql NULL) are covered by their unique key
    if (skip(row.name) || skip(row.tableName) || shadow.has(row.tableName)) continue;
    builder.add(`${row.type} ${row.name}`, normalizeSql(row.sql));
  }

  return builder.build();
}

// --- A small SQLite tokenizer: enough to normalize text and find clauses ---

export interface Token {
  readonly kind: 'word' | 'identifier' | 'string' | 'punct';
  /** Words and punctuation as written; identifiers unquoted; strings with their quotes. */
  readonly text: string;
}

const OPERATORS = ['->>', '->', '<=', '>=', '<>', '!=', '==', '||', '<<', '>>'];

/** Tokens of `sql`, comments and whitespace dropped. Never throws: an unterminated quote runs to the end. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (ch === "'" || ch === '"' || ch === '`' || ch === '[') {
      const close = ch === '[' ? ']' : ch;
      let j = i + 1;
      let text = '';
      while (j < sql.length) {
        if (sql[j] === close && close !== ']' && sql[j + 1] === close) {
          text += close;
          j += 2;
        } else if (sql[j] === close) {
          break;
        } else {
          text += sql[j];
          j++;
        }
      }
      tokens.push(ch === "'" ? { kind: 'string', text: sql.slice(i, j + 1) } : { kind: 'identifier', text });
      i = j + 1;
    } else if (/[\w$\u0080-\uffff]/.test(ch)) {
      let j = i + 1;
      while (j < sql.length && /[\w$\u0080-\uffff]/.test(sql[j]!)) j++;
      const word = sql.slice(i, j);
      if (/^[xX]$/.test(word) && sql[j] === "'") {
        // A blob literal, X'ABCD': one token, hex digits as written.
        const end = sql.indexOf("'", j + 1);
        const stop = end < 0 ? sql.length : end + 1;
        tokens.push({ kind: 'string', text: `x${sql.slice(j, stop)}` });
        i = stop;
      } else {
        tokens.push({ kind: 'word', text: word });
        i = j;
      }
    } else {
      const operator = OPERATORS.find((op) => sql.startsWith(op, i));
      tokens.push({ kind: 'punct', text: operator ?? ch });
      i += operator ? operator.length : 1;
    }
  }
  return tokens;
}

/** Tokens back to text, one space between them, none inside parentheses, before commas or around dots. */
export function render(tokens: readonly Token[]): string {
  let out = '';
  let previous: Token | undefined;
  let beforePrevious: Token | undefined;
  for (const token of tokens) {
    const text = token.kind === 'identifier' ? quoteIdentifier(token.text) : token.text;
    if (previous && needsSpace(beforePrevious, previous, token)) out += ' ';
    out += text;
    beforePrevious = previous;
    previous = token;
  }
  return out;
}

/** Keywords that keep their space before a parenthesis: `x in (1, 2)`, `as (select …)`. */
const SPACED_BEFORE_PAREN = new Set(['in', 'as', 'and', 'or', 'not', 'exists', 'is', 'like', 'glob', 'between', 'when', 'then', 'else', 'case', 'where', 'select', 'from', 'on', 'values', 'check', 'default', 'over', 'filter', 'returning']);

function needsSpace(beforePrevious: Token | undefined, previous: Token, token: Token): boolean {
  if (token.kind === 'punct' && [')', ',', ';', '.'].includes(token.text)) return false;
  if (previous.kind === 'punct' && ['(', '.'].includes(previous.text)) return false;
  // `lower(email)`, `users(id)`; but `in (1, 2)`, `check (x > 0)`.
  if (token.kind === 'punct' && token.text === '(') {
    return !(previous.kind === 'identifier' || (previous.kind === 'word' && !SPACED_BEFORE_PAREN.has(previous.text.toLowerCase())));
  }
  // A sign in front of a number or expression: `-1`, `x > -1`, `(-1)`.
  if (previous.kind === 'punct' && (previous.text === '-' || previous.text === '+')) {
    const operand = beforePrevious && (beforePrevious.kind !== 'punct' || beforePrevious.text === ')');
    if (!operand) return false;
  }
  return true;
}


/**
 * SQL text in a canonical form: comments gone, bare words and plain quoted
 * identifiers lower-cased (SQLite treats both case-insensitively), strings
 * untouched, spacing as `render` puts it.
 */
export function normalizeSql(sql: string): string {
  return render(tokenize(sql).map(normalizeToken)).replace(/;$/, '');
}

function normalizeToken(token: Token): Token {
  if (token.kind === 'word') return { kind: 'word', text: token.text.toLowerCase() };
  if (token.kind === 'identifier' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(token.text)) return { kind: 'word', text: token.text.toLowerCase() };
  return token;
}

// --- CREATE TABLE: what the pragmas do not say (CHECK, generated expressions, collations, AUTOINCREMENT) ---

export interface TableDefinition {
  /** By lower-cased column name. */
  columns: Map<string, { readonly collate: string | null; readonly generated: string | null }>;
  checks: { readonly name: string | null; readonly expression: Token[] }[];
  autoincrement: boolean;
}

const TABLE_CONSTRAINT = new Set(['constraint', 'primary', 'unique', 'check', 'foreign']);

/** Reads the column list of a CREATE TABLE statement's tokens, with a paren-balanced scan. */
export function parseCreateTable(tokens: readonly Token[]): TableDefinition {
  const definition: TableDefinition = { columns: new Map(), checks: [], autoincrement: false };
  const open = tokens.findIndex((token) => isPunct(token, '('));
  if (open < 0) return definition;

  // Split the body at top-level commas.
  const items: Token[][] = [[]];
  let depth = 0;
  for (let i = open + 1; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (isPunct(token, '(')) depth++;
    if (isPunct(token, ')')) {
      if (depth === 0) break;
      depth--;
    }
    if (depth === 0 && isPunct(token, ',')) items.push([]);
    else items.at(-1)!.push(token);
  }

  for (const item of items) {
    const first = item[0];
    if (!first) continue;
    if (item.some((token) => isWord(token, 'autoincrement'))) definition.autoincrement = true;
    for (let i = 0; i < item.length; i++) {
      if (!isWord(item[i]!, 'check') || !isPunct(item[i + 1], '(')) continue;
      const inner = balanced(item, i + 1);
      const named = i >= 2 && isWord(item[i - 2]!, 'constraint') ? item[i - 1]! : null;
      definition.checks.push({ name: named ? named.text : null, expression: inner.tokens });
    }
    if (first.kind === 'word' && TABLE_CONSTRAINT.has(first.text.toLowerCase())) continue;
    if (first.kind !== 'word' && first.kind !== 'identifier' && first.kind !== 'string') continue;

    const name = first.kind === 'string' ? first.text.slice(1, -1).replace(/''/g, "'") : first.text;
    let collate: string | null = null;
    let generated: string | null = null;
    let level = 0;
    for (let i = 1; i < item.length; i++) {
      const token = item[i]!;
      if (isPunct(token, '(')) level++;
      else if (isPunct(token, ')')) level--;
      else if (level === 0 && isWord(token, 'collate') && item[i + 1]) collate = normalizeSql(render([item[i + 1]!]));
      else if (level === 0 && isWord(token, 'as') && isPunct(item[i + 1], '(')) {
        const inner = balanced(item, i + 1);
        generated = normalizeSql(render(inner.tokens));
        i = inner.end;
      }
    }
    definition.columns.set(name.toLowerCase(), { collate, generated });
  }
  return definition;
}

/** The tokens inside the parenthesis opening at `open`, and the index of its closing one. */
function balanced(tokens: readonly Token[], open: number): { tokens: Token[]; end: number } {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (isPunct(tokens[i], '(')) depth++;
    else if (isPunct(tokens[i], ')') && --depth === 0) return { tokens: tokens.slice(open + 1, i), end: i };
  }
  return { tokens: tokens.slice(open + 1), end: tokens.length - 1 };
}

function isPunct(token: Token | undefined, text: string): boolean {
  return token?.kind === 'punct' && token.text === text;
}

function isWord(token: Token | undefined, word: string): boolean {
  return token?.kind === 'word' && token.text.toLowerCase() === word;
}

