/**
 * Splits the SQL section of a migration into individual statements.
 *
 * Each statement is executed on its own so that a failure can be reported
 * with the line it starts on. The scanner is deliberately lexical: it knows
 * just enough about SQLite/D1 and PostgreSQL quoting to find the `;` that
 * really end statements, and leaves every syntax error to the database.
 */

export interface SqlStatement {
  /** The statement text, trimmed, without the trailing semicolon. */
  readonly sql: string;
  /** 1-based line (in the whole file) of the statement's first token. */
  readonly line: number;
  /** 1-based column of the statement's first token. */
  readonly column: number;
  /** 0-based offset of the statement's first token within the input text. */
  readonly offset: number;
}

// Identifiers may contain `$` in PostgreSQL, but cannot start with it
// (a leading `$` is a parameter like `$1` or a dollar quote).
const WORD_START = /[A-Za-z0-9_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_QUOTE = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
const WHITESPACE = /\s/;

// The same three classes by character code for ASCII, which is nearly all of
// a file: a regular expression per character is most of the splitter's time
// on a large seed file. Beyond ASCII, the expressions above decide.
const isSpace = (c: string, code: number): boolean => (code < 0x80 ? code === 32 || (code >= 9 && code <= 13) : WHITESPACE.test(c));
const isWordStart = (c: string, code: number): boolean =>
  code < 0x80 ? (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 95 : WORD_START.test(c);
const isWordPart = (c: string, code: number): boolean => (code < 0x80 ? isWordStart(c, code) || code === 36 : WORD_PART.test(c));
// Characters that end a PostgreSQL expression or type name, so a `[` right
// after them is an array subscript / `int[]`, not a SQLite [identifier].
const SUBSCRIPTABLE = /[A-Za-z0-9_$\u0080-\uffff\])"]/;
// Words allowed between CREATE and TRIGGER, e.g. CREATE TEMP TRIGGER,
// CREATE OR REPLACE CONSTRAINT TRIGGER. Anything else (CREATE TABLE ...) means
// a later word "trigger" is just a name.
const TRIGGER_PREFIX = new Set(['OR', 'REPLACE', 'TEMP', 'TEMPORARY', 'CONSTRAINT']);

/**
 * Splits SQL text into statements. `firstLine` is the file line on which
 * `text` starts (default 1), so callers can split a section of a file and
 * get file line numbers.
 */
export function splitStatements(text: string, options: { firstLine?: number } = {}): SqlStatement[] {
  const statements: SqlStatement[] = [];
  const locate = lineLocator(text, options.firstLine ?? 1);
  const n = text.length;

  // Per-statement state. `start` stays -1 until the first real token, so
  // leading whitespace and comments are not part of the statement.
  let start = -1;
  let wordCount = 0;
  let prevWord = '';
  let maybeTrigger = false;
  let hasBody = false;
  let depth = 0;

  const flush = (end: number): void => {
    if (start >= 0) {
      const sql = text.slice(start, end).trim();
      if (sql !== '') statements.push({ sql, offset: start, ...locate(start) });
    }
    start = -1;
    wordCount = 0;
    prevWord = '';
    maybeTrigger = false;
    hasBody = false;
    depth = 0;
  };

  // Trigger and BEGIN ATOMIC bodies contain `;`, so inside them we count
  // BEGIN/CASE ... END to find the END that closes the body. CASE must count
  // too, or the END of a CASE expression would close the body early.
  const onWord = (upper: string): void => {
    if (wordCount === 0) maybeTrigger = upper === 'CREATE';
    else if (maybeTrigger && upper === 'TRIGGER') {
      hasBody = true;
      maybeTrigger = false;
    } else if (maybeTrigger && !TRIGGER_PREFIX.has(upper)) maybeTrigger = false;
    if (upper === 'ATOMIC' && prevWord === 'BEGIN') hasBody = true;
    if (upper === 'BEGIN' || upper === 'CASE') depth++;
    else if (upper === 'END' && depth > 0) depth--;
    prevWord = upper;
    wordCount++;
  };

  let i = 0;
  while (i < n) {
    const c = text[i]!;
    const code = text.charCodeAt(i);
    const next = text[i + 1];
    if (c === ';') {
      // A plain `BEGIN;` also raises depth, but only bodies keep the `;`.
      if (!hasBody || depth === 0) flush(i);
      i++;
    } else if (isSpace(c, code)) {
      i++;
    } else if (c === '-' && next === '-') {
      while (i < n && text[i] !== '\n' && text[i] !== '\r') i++;
    } else if (c === '/' && next === '*') {
      const end = skipBlockComment(text, i);
      // An unterminated comment may be swallowing statements; hand it to the
      // database as a statement rather than silently dropping that SQL.
      if (end < 0 && start < 0) start = i;
      i = end < 0 ? n : end;
    } else {
      if (start < 0) start = i;
      if (c === "'" || c === '"' || c === '`') {
        i = skipQuoted(text, i, false);
      } else if (c === '[' && !SUBSCRIPTABLE.test(text[i - 1] ?? ' ')) {
        // SQLite [identifier]; has no escapes, so the first `]` closes it.
        const close = text.indexOf(']', i + 1);
        i = close < 0 ? n : close + 1;
      } else if (c === '$') {
        DOLLAR_QUOTE.lastIndex = i;
        const tag = DOLLAR_QUOTE.exec(text)?.[0];
        if (tag === undefined) {
          i++; // `$1` parameter or SQLite `$name`
        } else {
          const close = text.indexOf(tag, i + tag.length);
          i = close < 0 ? n : close + tag.length;
        }
      } else if (isWordStart(c, code)) {
        let j = i + 1;
        while (j < n && isWordPart(text[j]!, text.charCodeAt(j))) j++;
        const word = text.slice(i, j);
        if ((word === 'E' || word === 'e') && text[j] === "'") {
          i = skipQuoted(text, j, true); // PostgreSQL E'...' escape string
        } else {
          onWord(word.toUpperCase());
          i = j;
        }
      } else {
        i++;
      }
    }
  }
  flush(n);
  return statements;
}

/**
 * Whether splitStatements would find at least one statement in `text`, without splitting it:
 * true at the first character that is not whitespace, `;` or a comment (or at an unterminated
 * block comment, which splitStatements hands to the database as a statement).
 */
export function hasStatement(text: string): boolean {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const code = text.charCodeAt(i);
    if (code === 59 /* ; */ || isSpace(text[i]!, code)) i++;
    else if (code === 45 /* - */ && text.charCodeAt(i + 1) === 45) {
      while (i < n && text[i] !== '\n' && text[i] !== '\r') i++;
    } else if (code === 47 /* / */ && text.charCodeAt(i + 1) === 42 /* * */) {
      const end = skipBlockComment(text, i);
      if (end < 0) return true;
      i = end;
    } else return true;
  }
  return false;
}

/** Returns the index after the closing quote (or text length if unterminated). */
function skipQuoted(text: string, open: number, backslashEscapes: boolean): number {
  const quote = text[open];
  let j = open + 1;
  while (j < text.length) {
    const c = text[j];
    if (backslashEscapes && c === '\\') j += 2;
    else if (c !== quote) j++;
    else if (text[j + 1] === quote) j += 2; // doubled quote is an escaped quote
    else return j + 1;
  }
  return text.length;
}

/**
 * Returns the index after the matching `*\/`, or -1 if unterminated.
 * PostgreSQL nests block comments; SQLite does not, but real migrations
 * never rely on `/*` inside a comment being inert, so nesting is harmless.
 */
function skipBlockComment(text: string, open: number): number {
  let nesting = 0;
  let j = open;
  while (j < text.length) {
    if (text.startsWith('/*', j)) {
      nesting++;
      j += 2;
    } else if (text.startsWith('*/', j)) {
      j += 2;
      if (--nesting === 0) return j;
    } else {
      j++;
    }
  }
  return -1;
}

/**
 * Maps offsets to line/column. Offsets must be requested in increasing
 * order, which lets one forward pass count \r\n, \n and lone \r breaks.
 */
function lineLocator(text: string, firstLine: number): (offset: number) => { line: number; column: number } {
  let line = firstLine;
  let lineStart = 0;
  let scanned = 0;
  return (offset) => {
    for (; scanned < offset; scanned++) {
      const c = text[scanned];
      if (c === '\n' || (c === '\r' && text[scanned + 1] !== '\n')) {
        line++;
        lineStart = scanned + 1;
      }
    }
    return { line, column: offset - lineStart + 1 };
  };
}
