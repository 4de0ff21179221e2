import type { Directive, Migration, Section } from './migration.js';

/**
 * `-- cairn:batch size=1000 pause=10ms` on the line before a single-table
 * `UPDATE … WHERE …` or `DELETE FROM … WHERE …`: what it asks for, and the
 * statement taken apart just enough to run it one key range at a time. Pure:
 * no database here. The scan is lexical (quotes, comments, dollar quotes,
 * parentheses), like source/split.ts; the database judges the SQL itself.
 */
export interface BatchOptions {
  /** Rows of the key range each batch covers (with `targetMs`: of the first batch). */
  readonly size: number;
  /** How long a batch should take: the size grows or shrinks after each batch toward it. Null: a fixed size. */
  readonly targetMs: number | null;
  /** Sleep between batches, so replicas and other writers keep up. */
  readonly pauseMs: number;
  /** Where the engine can bound it (PostgreSQL's lock_timeout): how long a batch may wait for a row lock before it gives way and is retried. */
  readonly maxLockWaitMs: number | null;
}

export const DEFAULT_BATCH: BatchOptions = { size: 1000, targetMs: null, pauseMs: 0, maxLockWaitMs: null };

/** A statement to run in batches, as `rangeSql` rewrites it. */
export interface BatchedStatement {
  readonly kind: 'update' | 'delete';
  /** The table as written in the statement (possibly quoted or schema-qualified). */
  readonly tableSql: string;
  /** The table's name with quotes removed, for looking it up (`public.users`, `Users`). */
  readonly table: string;
  /** The statement text before the condition (through `WHERE `, or the whole statement when it has none). */
  readonly head: string;
  /** The WHERE condition, or null for none. */
  readonly condition: string | null;
  /** What follows the condition at top level (`RETURNING …`), or ''. */
  readonly tail: string;
}

export interface BatchDirectiveProblem {
  readonly line: number;
  readonly message: string;
  readonly fix: string;
}

export type BatchPlan = { readonly index: number; readonly line: number; readonly options: BatchOptions; readonly statement: BatchedStatement };

/** The statements of `section` that a batch directive applies to, by statement index; problems for misplaced or malformed ones. */
export function batchesOf(migration: Pick<Migration, 'directives'>, section: Section): { readonly batches: ReadonlyMap<number, BatchPlan>; readonly problems: readonly BatchDirectiveProblem[] } {
  const batches = new Map<number, BatchPlan>();
  const problems: BatchDirectiveProblem[] = [];
  const end = section.firstLine + section.text.split('\n').length;
  for (const directive of migration.directives.filter((d) => d.name === 'batch' && d.line >= section.firstLine && d.line < end)) {
    const index = section.statements.findIndex((s) => s.line > directive.line);
    const statement = section.statements[index];
    const problem = (message: string, fix: string) => problems.push({ line: directive.line, message, fix });
    const options = parseBatchOptions(directive);
    if (typeof options === 'string') {
      problem(options, 'write it as -- cairn:batch size=1000 target=50ms pause=10ms maxLockWait=200ms (all optional)');
      continue;
    }
    if (!statement) {
      problem('"cairn:batch" is not followed by a statement', 'put it on the line right before the UPDATE or DELETE to run in batches');
      continue;
    }
    const parsed = parseBatchedStatement(statement.sql);
    if (typeof parsed === 'string') {
      problem(`"cairn:batch" applies to the statement on line ${statement.line}, which ${parsed}`, 'a batch runs one single-table UPDATE … WHERE … or DELETE FROM … WHERE …; move the directive, or split the statement');
      continue;
    }
    if (batches.has(index)) {
      problem(`a second "cairn:batch" for the statement on line ${statement.line}`, 'keep one directive per statement');
      continue;
    }
    batches.set(index, { index, line: statement.line, options, statement: parsed });
  }
  return { batches, problems };
}

/** True when a migration has at least one batch directive (or, in TypeScript, a `ctx.batch` call): it runs step by step, each batch committed on its own. */
export function hasBatches(migration: Pick<Migration, 'directives' | 'script'>): boolean {
  return migration.directives.some((d) => d.name === 'batch') || (migration.script?.batchLines.length ?? 0) > 0;
}

export function parseBatchOptions(directive: Pick<Directive, 'args'>): BatchOptions | string {
  let { size, targetMs, pauseMs, maxLockWaitMs } = DEFAULT_BATCH;
  for (const part of directive.args.split(/\s+/).filter(Boolean)) {
    const [key, value = ''] = part.split('=', 2) as [string, string?];
    if (key === 'size') {
      if (!/^\d+$/.test(value) || Number(value) < 1) return `batch size must be a positive whole number, got "${value}"`;
      size = Number(value);
    } else if (key === 'pause') {
      const ms = parseDuration(value);
      if (ms === null) return `batch pause must be a duration such as 10ms or 1s, got "${value}"`;
      pauseMs = ms;
    } else if (key === 'target') {
      const ms = parseDuration(value);
      if (ms === null || ms < 1) return `batch target must be a duration such as 50ms, got "${value}"`;
      targetMs = ms;
    } else if (key === 'maxLockWait') {
      const ms = parseDuration(value);
      if (ms === null || ms < 1) return `batch maxLockWait must be a duration such as 200ms, got "${value}"`;
      maxLockWaitMs = ms;
    } else {
      return `unknown batch option "${part}"`;
    }
  }
  return { size, targetMs, pauseMs, maxLockWaitMs };
}

function parseDuration(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text);
  if (!match) return null;
  return Math.round(Number(match[1]) * (match[2] === 's' ? 1000 : 1));
}

interface Token {
  readonly word: string | null; // upper-cased word, or null for punctuation/literals
  readonly start: number;
  readonly end: number;
  readonly depth: number;
}

/** Takes apart a single-table UPDATE or DELETE; a string says why it cannot be batched. */
export function parseBatchedStatement(sql: string): BatchedStatement | string {
  const tokens = tokenize(sql);
  const top = tokens.filter((t) => t.depth === 0);
  const first = top[0]?.word;
  if (first !== 'UPDATE' && first !== 'DELETE') return `is not an UPDATE or DELETE${first === 'WITH' ? ' (a WITH … UPDATE cannot be batched)' : ''}`;
  let at = 1;
  if (first === 'DELETE') {
    if (top[at]?.word !== 'FROM') return 'is not a DELETE FROM';
    at++;
  } else if (top[at]?.word === 'OR') at += 2; // UPDATE OR IGNORE …
  if (top[at]?.word === 'ONLY') at++;
  const tableStart = top[at];
  if (!tableStart) return 'names no table';
  // The table: a name, possibly schema-qualified (`a.b`, `"A"."b"`).
  let tableEnd = at;
  while (top[tableEnd + 1] && sql.slice(top[tableEnd]!.end, top[tableEnd + 1]!.start) === '' && sql[top[tableEnd + 1]!.start] === '.') tableEnd += 2;
  const tableSql = sql.slice(tableStart.start, top[tableEnd]!.end);
  const where = top.findIndex((t) => t.word === 'WHERE');
  const fromAt = top.findIndex((t, i) => i > tableEnd && (t.word === 'FROM' || t.word === 'USING'));
  if (fromAt >= 0 && (where < 0 || fromAt < where)) return `reads other tables (${top[fromAt]!.word} …); only a single-table statement can be batched`;
  const tailAt = top.findIndex((t, i) => i > Math.max(where, tableEnd) && ['RETURNING', 'ORDER', 'LIMIT'].includes(t.word ?? ''));
  if (tailAt >= 0 && top[tailAt]!.word !== 'RETURNING') return `has ${top[tailAt]!.word} …, which a batch would change the meaning of`;
  const tailStart = tailAt >= 0 ? top[tailAt]!.start : sql.length;
  const table = tableSql.split('.').map(unquote).join('.');
  if (where < 0) return { kind: first === 'UPDATE' ? 'update' : 'delete', tableSql, table, head: `${sql.slice(0, tailStart).trimEnd()} WHERE `, condition: null, tail: sql.slice(tailStart) };
  const whereToken = top[where]!;
  return {
    kind: first === 'UPDATE' ? 'update' : 'delete',
    tableSql,
    table,
    head: sql.slice(0, whereToken.end) + ' ',
    condition: sql.slice(whereToken.end, tailStart).trim(),
    tail: tailAt >= 0 ? ` ${sql.slice(tailStart)}` : '',
  };
}

/** The statement restricted to keys after `lower` (exclusive; none for the first batch) up to `upper` (inclusive). */
export function rangeSql(statement: BatchedStatement, keySql: string, lowerSql: string | null, upperSql: string): string {
  const range = `${lowerSql ? `${keySql} > ${lowerSql} AND ` : ''}${keySql} <= ${upperSql}`;
  return `${statement.head}${statement.condition ? `(${statement.condition}) AND ` : ''}${range}${statement.tail}`;
}

function unquote(part: string): string {
  const trimmed = part.trim();
  const quoted = /^"(.*)"$|^`(.*)`$|^\[(.*)\]$/s.exec(trimmed);
  return quoted ? (quoted[1] ?? quoted[2] ?? quoted[3] ?? '').replace(/""/g, '"') : trimmed;
}

const WORD = /[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/y;
const DOLLAR_QUOTE = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let depth = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const start = i;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? sql.length : close + 2;
      continue;
    }
    if (c === '(' || c === ')') {
      if (c === ')') depth--;
      tokens.push({ word: null, start, end: i + 1, depth: c === '(' ? depth : depth });
      if (c === '(') depth++;
      i++;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(sql, i, c);
      tokens.push({ word: null, start, end: i, depth });
      continue;
    }
    if (c === '[') {
      const close = sql.indexOf(']', i);
      i = close < 0 ? sql.length : close + 1;
      tokens.push({ word: null, start, end: i, depth });
      continue;
    }
    if (c === '$') {
      DOLLAR_QUOTE.lastIndex = i;
      const tag = DOLLAR_QUOTE.exec(sql)?.[0];
      if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        i = close < 0 ? sql.length : close + tag.length;
        tokens.push({ word: null, start, end: i, depth });
        continue;
      }
    }
    WORD.lastIndex = i;
    const word = WORD.exec(sql)?.[0];
    if (word) {
      i += word.length;
      if ((word === 'E' || word === 'e') && sql[i] === "'") {
        i = skipQuoted(sql, i, "'", true);
        tokens.push({ word: null, start, end: i, depth });
      } else tokens.push({ word: word.toUpperCase(), start, end: i, depth });
      continue;
    }
    i++;
    tokens.push({ word: null, start, end: i, depth });
  }
  return tokens;
}

function skipQuoted(sql: string, open: number, quote: string, backslash = false): number {
  let j = open + 1;
  while (j < sql.length) {
    if (backslash && sql[j] === '\\') j += 2;
    else if (sql[j] !== quote) j++;
    else if (sql[j + 1] === quote) j += 2;
    else return j + 1;
  }
  return sql.length;
}

/**
 * The next batch's size when batches aim at `targetMs`: the rows per ms the
 * last batch achieved, times the target, at most twice and at least a quarter
 * of the last size (one slow or fast batch does not swing it far).
 */
export function nextBatchSize(size: number, rows: number, ms: number, targetMs: number): number {
  if (rows < size || ms <= 0) return size; // a short last batch says nothing about the rate
  const aimed = (rows / ms) * targetMs;
  return Math.max(1, Math.round(Math.min(size * 2, Math.max(size / 4, aimed))));
}
