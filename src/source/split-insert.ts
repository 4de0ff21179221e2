/**
 * Splitting a multi-row `INSERT … VALUES (…), (…)` into INSERTs of at most `max` bytes each, for engines
 * that cap a statement's size (D1). Shared by the runner (which sends the pieces in one batch) and lint
 * (which then only warns).
 */
function bytes(sql: string): number {
  return Buffer.byteLength(sql, 'utf8');
}

/** `INSERT … VALUES (…), (…), …` → the same head with groups of rows, each under `max` bytes; null when it is not that shape or one row is too big. */
export function splitInsert(sql: string, max: number): string[] | null {
  if (!/^\s*(INSERT|REPLACE)\b/i.test(sql)) return null;
  const values = findValues(sql);
  if (values < 0) return null;
  const head = sql.slice(0, values);
  const rows = tuples(sql, values);
  if (!rows || rows.length < 2) return null;
  const pieces: string[] = [];
  let current: string[] = [];
  let size = bytes(head);
  for (const row of rows) {
    const rowBytes = bytes(row) + 2;
    if (bytes(head) + rowBytes > max) return null;
    if (current.length > 0 && size + rowBytes > max) {
      pieces.push(head + current.join(', '));
      current = [];
      size = bytes(head);
    }
    current.push(row);
    size += rowBytes;
  }
  if (current.length > 0) pieces.push(head + current.join(', '));
  return pieces;
}

/** Offset just after the top-level VALUES keyword (and its space), or -1. */
function findValues(sql: string): number {
  let depth = 0;
  for (let i = 0; i < sql.length; i++) {
    const skipped = skipQuoted(sql, i);
    if (skipped !== i) {
      i = skipped - 1;
      continue;
    }
    const c = sql[i]!;
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && /^VALUES\b/i.test(sql.slice(i, i + 7)) && (i === 0 || /[\s)]/.test(sql[i - 1]!))) {
      let end = i + 6;
      while (end < sql.length && /\s/.test(sql[end]!)) end++;
      return end;
    }
  }
  return -1;
}

/** The `(…)` rows after VALUES; null when anything but rows and commas follows (ON CONFLICT, RETURNING, a SELECT). */
function tuples(sql: string, from: number): string[] | null {
  const rows: string[] = [];
  let i = from;
  while (i < sql.length) {
    while (i < sql.length && /[\s,]/.test(sql[i]!)) i++;
    if (i >= sql.length) break;
    if (sql[i] !== '(') return null;
    const start = i;
    let depth = 0;
    for (; i < sql.length; i++) {
      const skipped = skipQuoted(sql, i);
      if (skipped !== i) {
        i = skipped - 1;
        continue;
      }
      if (sql[i] === '(') depth++;
      else if (sql[i] === ')' && --depth === 0) break;
    }
    if (depth !== 0) return null;
    rows.push(sql.slice(start, ++i));
  }
  return rows;
}

/** Past a string, quoted identifier or comment starting at `i`; `i` when none starts there. */
function skipQuoted(sql: string, i: number): number {
  const c = sql[i]!;
  const close = c === "'" ? "'" : c === '"' ? '"' : c === '`' ? '`' : c === '[' ? ']' : null;
  if (close) {
    let j = i + 1;
    while (j < sql.length) {
      if (sql[j] === close) {
        if (close !== ']' && sql[j + 1] === close) j += 2;
        else return j + 1;
      } else j++;
    }
    return sql.length;
  }
  if (c === '-' && sql[i + 1] === '-') {
    const end = sql.indexOf('\n', i);
    return end < 0 ? sql.length : end + 1;
  }
  if (c === '/' && sql[i + 1] === '*') {
    const end = sql.indexOf('*/', i + 2);
    return end < 0 ? sql.length : end + 2;
  }
  return i;
}
