import type { Node as PgNode } from '@pgsql/types';
import type { Statement as SqliteNode } from 'sql-parser-cst';
import type { Fact } from '../facts.js';
import type { LintStatement } from '../types.js';

export interface ParseOptions {
  /** False: parse every statement in full (the fast path's findings are checked against this). */
  readonly fastPath?: boolean;
}

const DATA_CHANGE = /^(?:insert|replace|update|delete)\b/i;
const NUMBER = /\d+(\.\d+)?([eE][+-]?\d+)?/y;
const PUNCTUATION = new Set('(),.;=<>+-*/|%!~&^'.split(''));

/** [A-Za-z0-9_$] or beyond ASCII: a character of a word (character codes: a seed file has millions of them). */
function isWord(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 95 || code === 36 || code >= 0x80;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9;
}

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
export function shapeOf(sql: string): string | null {
  if (!DATA_CHANGE.test(sql) || sql.includes('\0')) return null;
  let shape = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const code = sql.charCodeAt(i);
    if (isSpace(code)) {
      while (i < n && isSpace(sql.charCodeAt(i))) i++;
      shape += ' ';
    } else if (c === "'") {
      // A prefix (E'…', X'…', N'…', B'…', U&'…') changes what the quotes may hold.
      if (i > 0 && (isWord(sql.charCodeAt(i - 1)) || sql[i - 1] === '&')) return null;
      const end = closing(sql, i, "'");
      if (end < 0) return null;
      shape += "'";
      i = end;
    } else if (code >= 48 && code <= 57) {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(sql)!;
      i += match[0].length;
      // 1.2.3, 12abc, 1. or 0x1F: leave such forms to the parser.
      if (i < n && (isWord(sql.charCodeAt(i)) || sql[i] === '.' || sql[i] === "'" || sql[i] === '"')) return null;
      shape += `#${match[1] ? '.' : ''}${match[2] ? 'e' : ''}`;
    } else if (c === '"' || c === '`' || c === '[') {
      const end = closing(sql, i, c === '[' ? ']' : c);
      if (end < 0) return null;
      shape += sql.slice(i, end);
      i = end;
    } else if (c === '$') {
      return null; // $1, $name, $tag$…$tag$
    } else if (isWord(code)) {
      const start = i;
      while (i < n && isWord(sql.charCodeAt(i))) i++;
      if (sql[i] === "'") return null;
      shape += sql.slice(start, i);
    } else if ((c === '-' && sql[i + 1] === '-') || (c === '/' && sql[i + 1] === '*')) {
      return null;
    } else if (PUNCTUATION.has(c)) {
      shape += c;
      i++;
    } else {
      return null; // ?, :name, @name, #…
    }
  }
  return shape;
}

/** The index after the quote that closes the one at `open` (a doubled quote is an escaped one), or -1. */
function closing(sql: string, open: number, quote: string): number {
  let j = open + 1;
  for (;;) {
    j = sql.indexOf(quote, j);
    if (j < 0) return -1;
    if (quote !== ']' && sql[j + 1] === quote) j += 2;
    else return j + 1;
  }
}

/**
 * A statement whose facts came from an earlier statement of the same shape:
 * its own tree is parsed on first read (a rule that looks into it gets the
 * real one), and never when no rule does. A class, not an object with its own
 * getter: a seed file makes tens of thousands of these.
 */
abstract class ShapedStatement<Tree> {
  readonly parseError = null;
  #tree: Tree | undefined;

  constructor(
    readonly index: number,
    readonly sql: string,
    readonly line: number,
    readonly column: number,
    readonly fact: Fact,
    private readonly parse: (sql: string) => Tree,
  ) {}

  protected tree(): Tree {
    return (this.#tree ??= this.parse(this.sql));
  }
}

export class ShapedSqliteStatement extends ShapedStatement<SqliteNode> implements LintStatement {
  readonly pg = null;
  get sqlite(): SqliteNode {
    return this.tree();
  }
}

export class ShapedPostgresStatement extends ShapedStatement<PgNode> implements LintStatement {
  readonly sqlite = null;
  get pg(): PgNode {
    return this.tree();
  }
}
