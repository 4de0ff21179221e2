import type { LintStatement } from '../types.js';

/**
 * The shape of a data statement: its text with every string and number
 * constant replaced by a marker of its kind (and runs of whitespace by one
 * space). A seed file repeats one INSERT shape thousands of times, and two
 * statements of the same shape parse alike: both or neither, into trees that
 * differ only in constants, so with the same facts. The parsers parse one
 * statement of each shape for its facts and leave the tree of the others to be
 * parsed only if a rule asks for it.
 *
 * Null for anything but INSERT / REPLACE / UPDATE / DELETE, and for text the
 * scanner does not fully understand (comments, parameters, dollar quotes,
 * prefixed strings like E'…' or X'…'): those are always parsed.
 */
export interface ParseOptions {
  /** False: parse every statement in full (the fast path's findings are checked against this). */
  readonly fastPath?: boolean;
}

const DATA_CHANGE = /^(?:insert|replace|update|delete)\b/i;
const NUMBER = /\d+(\.\d+)?([eE][+-]?\d+)?/y;
const WORD = /[A-Za-z0-9_$\u0080-\uffff]/;
const PUNCTUATION = new Set('(),.;=<>+-*/|%!~&^'.split(''));

export function shapeOf(sql: string): string | null {
  if (!DATA_CHANGE.test(sql) || sql.includes('\0')) return null;
  let shape = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      while (i < n && (sql[i] === ' ' || sql[i] === '\t' || sql[i] === '\n' || sql[i] === '\r')) i++;
      shape += ' ';
    } else if (c === "'") {
      // A prefix (E'…', X'…', N'…', B'…', U&'…') changes what the quotes may hold.
      if (i > 0 && (WORD.test(sql[i - 1]!) || sql[i - 1] === '&')) return null;
      const end = closing(sql, i, "'");
      if (end < 0) return null;
      shape += "'";
      i = end;
    } else if (c >= '0' && c <= '9') {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(sql)!;
      i += match[0].length;
      // 1.2.3, 12abc, 1. or 0x1F: leave such forms to the parser.
      if (i < n && (WORD.test(sql[i]!) || sql[i] === '.' || sql[i] === "'" || sql[i] === '"')) return null;
      shape += `#${match[1] ? '.' : ''}${match[2] ? 'e' : ''}`;
    } else if (c === '"' || c === '`' || c === '[') {
      const end = closing(sql, i, c === '[' ? ']' : c);
      if (end < 0) return null;
      shape += sql.slice(i, end);
      i = end;
    } else if (c === '$') {
      return null; // $1, $name, $tag$…$tag$
    } else if (WORD.test(c)) {
      const start = i;
      while (i < n && WORD.test(sql[i]!)) i++;
      if (sql[i] === "'") return null;
      shape += sql.slice(start, i);
    } else if ((c === '-' && sql[i + 1] === '-') || (c === '/' && sql[i + 1] === '*')) {
      return null;
    } else if (PUNCTUATION.has(c)) {
      shape += c;
      i++;
    } else {
      return null; // $1, ?, :name, @name, #…
    }
  }
  return shape;
}

/** The index after the quote that closes the one at `open` (a doubled quote is an escaped one), or -1. */
function closing(sql: string, open: number, quote: string): number {
  let j = open + 1;
  while (j < sql.length) {
    if (sql[j] !== quote) j++;
    else if (quote !== ']' && sql[j + 1] === quote) j += 2;
    else return j + 1;
  }
  return -1;
}

/**
 * A statement whose facts came from an earlier statement of the same shape:
 * its own tree is parsed on first read (a rule that looks into it gets the
 * real one), and never when no rule does.
 */
export function withLazyTree<K extends 'pg' | 'sqlite'>(base: Omit<LintStatement, 'pg' | 'sqlite'> & Omit<Pick<LintStatement, 'pg' | 'sqlite'>, K>, key: K, parse: () => NonNullable<LintStatement[K]>): LintStatement {
  let tree: NonNullable<LintStatement[K]> | undefined;
  return Object.defineProperty({ ...base }, key, { enumerable: true, get: () => (tree ??= parse()) }) as unknown as LintStatement;
}
