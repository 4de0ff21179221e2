import type { PhaseFile, TableFacts } from './types.js';

/**
 * What a change that moves a column's values into a new column must carry
 * over besides the values: the old column's default and the indexes that read
 * it. Pure: everything comes from the TableFacts read before planning.
 */

/**
 * The line every backfill file starts with: batches of about 40 ms (half of the 100 ms a
 * writer should wait at most; bench/README.md "Aiming at a batch duration"), starting at
 * 1000 rows, with a pause between them for other writers and replicas.
 */
export const BACKFILL_BATCH = '-- cairn:batch size=1000 target=40ms pause=10ms';

/** An index of the table, rewritten to read the new column instead of the old one. */
export interface CarriedIndex {
  /** The index on the old column, as the database has it. */
  readonly name: string;
  readonly sql: string;
  /** The same index on the new column. */
  readonly newName: string;
  /** CREATE [UNIQUE] INDEX newName ON table (…new column…) …, without a trailing semicolon. */
  readonly newSql: string;
}

/** The indexes of the table that read `column` (as a key, in an expression or in a partial index's WHERE), rewritten for `newColumn`. */
export function carriedIndexes(facts: TableFacts, column: string, newColumn: string): CarriedIndex[] {
  const maxName = facts.dialect === 'postgres' ? 63 : Infinity;
  return facts.indexes.flatMap((index) => {
    const parts = splitIndex(index.sql);
    if (!parts || !readsIdentifier(parts.tail, column)) return [];
    const renamed = index.name.includes(column) ? index.name.replace(column, newColumn) : `${index.name}_${newColumn}`;
    const newName = renamed.slice(0, maxName);
    const newSql = `${parts.head} ${facts.q(newName)} ON ${parts.table}${replaceIdentifier(parts.tail, column, facts.q(newColumn))}`;
    return [{ name: index.name, sql: index.sql.replace(/;\s*$/, ''), newName, newSql }];
  });
}

/**
 * PostgreSQL's extra expand file: the carried indexes built on the new column
 * without blocking writes (CONCURRENTLY, which no transaction may hold).
 */
export function concurrentIndexFiles(plan: {
  readonly table: string;
  readonly column: string;
  readonly newColumn: string;
  readonly title: string;
  readonly change: string;
  readonly indexes: readonly CarriedIndex[];
  readonly q: (name: string) => string;
}): PhaseFile[] {
  const { table, column, newColumn, title, change, indexes, q } = plan;
  if (indexes.length === 0) return [];
  return [
    {
      phase: 'expand',
      name: `expand_${table}_${newColumn}_indexes`,
      type: 'additive',
      title: `${title}, phase 1 of 3 (expand, indexes): ${column}'s indexes on ${newColumn}, built without blocking writes`,
      rollback: `drops the indexes on ${newColumn}`,
      change,
      directives: ['cairn:no-transaction'],
      up: indexes.map((i) => concurrently(i, q)).join('\n'),
      down: indexes.map((i) => `DROP INDEX CONCURRENTLY IF EXISTS ${q(i.newName)};`).join('\n'),
    },
  ];
}

/**
 * The index built without blocking writes, in a file that may run again after failing half-way:
 * a CONCURRENTLY build that fails leaves an invalid index behind, so any index of that name goes first.
 */
function concurrently(index: CarriedIndex, q: (name: string) => string): string {
  return `DROP INDEX CONCURRENTLY IF EXISTS ${q(index.newName)};\n${index.newSql.replace(/^(\s*CREATE\s+(?:UNIQUE\s+)?INDEX)\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?/i, '$1 CONCURRENTLY ')};`;
}

/**
 * A default SQLite can give a column that ALTER TABLE ADD COLUMN adds: a
 * literal, or a constant expression (no CURRENT_TIME/DATE/TIMESTAMP, no function
 * whose value changes). Anything else is left to the user, with a note.
 */
export function addableOnSqlite(defaultSql: string): boolean {
  return !/\bcurrent_(time|date|timestamp)\b|\b(random|randomblob|changes|last_insert_rowid|total_changes)\s*\(/i.test(defaultSql);
}

/**
 * A default that can be compared with (an INSERT that left the column out holds
 * it): not one that changes the database or the value each time it is read.
 */
export function comparableDefault(defaultSql: string): boolean {
  return !/\b(nextval|random|randomblob|gen_random_uuid|uuid_generate_v[14]|clock_timestamp|timeofday|statement_timestamp)\s*\(/i.test(defaultSql);
}

/**
 * `expression` with every bare reference to the column `name` (outside string
 * literals, not after a dot) replaced by `replacement`: `CAST(amount AS int)` →
 * `CAST(('0') AS int)`. Quoted references match exactly, unquoted ones in any case.
 */
export function replaceIdentifier(expression: string, name: string, replacement: string): string {
  let out = '';
  for (const token of tokens(expression)) out += token.identifier === name || (token.bare && token.identifier?.toLowerCase() === name.toLowerCase()) ? (token.afterDot ? token.text : replacement) : token.text;
  return out;
}

function readsIdentifier(expression: string, name: string): boolean {
  return replaceIdentifier(expression, name, '\u0000') !== expression;
}

/** `CREATE UNIQUE INDEX x ON public.t USING btree (a) WHERE …` → head `CREATE UNIQUE INDEX`, table `public.t`, tail ` USING btree (a) WHERE …`. */
function splitIndex(sql: string): { head: string; table: string; tail: string } | null {
  const match = /^\s*(CREATE\s+(?:UNIQUE\s+)?INDEX)\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?:"(?:[^"]|"")*"|[\w$]+)(?:\.(?:"(?:[^"]|"")*"|[\w$]+))?\s+ON\s+((?:ONLY\s+)?(?:"(?:[^"]|"")*"|[\w$]+)(?:\.(?:"(?:[^"]|"")*"|[\w$]+))?)/i.exec(sql);
  if (!match) return null;
  return { head: match[1]!.replace(/\s+/g, ' '), table: match[2]!, tail: sql.slice(match[0].length).replace(/;\s*$/, '') };
}

interface Token {
  readonly text: string;
  /** The name, unquoted, when the token is an identifier. */
  readonly identifier?: string;
  readonly bare?: boolean;
  /** A qualified name's later part (`t.amount`): another table's column, never replaced. */
  readonly afterDot?: boolean;
}

function* tokens(sql: string): Generator<Token> {
  let i = 0;
  let previous = '';
  while (i < sql.length) {
    const rest = sql.slice(i);
    const string = /^'(?:[^']|'')*'/.exec(rest);
    const quoted = /^"((?:[^"]|"")*)"/.exec(rest);
    const bare = /^[A-Za-z_][\w$]*/.exec(rest);
    const other = /^(?:\s+|::|[\d.]+|.)/s.exec(rest)!;
    const afterDot = previous === '.';
    if (string) {
      yield { text: string[0] };
      i += string[0].length;
    } else if (quoted) {
      yield { text: quoted[0], identifier: quoted[1]!.replace(/""/g, '"'), bare: false, afterDot };
      i += quoted[0].length;
    } else if (bare) {
      yield { text: bare[0], identifier: bare[0], bare: true, afterDot };
      i += bare[0].length;
    } else {
      yield { text: other[0] };
      i += other[0].length;
    }
    const last = string?.[0] ?? quoted?.[0] ?? bare?.[0] ?? other[0];
    if (!/^\s+$/.test(last)) previous = last;
  }
}
