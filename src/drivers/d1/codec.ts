import type { SqlCommand } from '../types.js';
import { quoteIdentifier as q } from '../../sql/quote.js';

/**
 * How a D1 backup carries values through D1's JSON and back (drivers/d1/backup.ts
 * says why): `encode` is the SQL that reads a column as tagged text, `decode`
 * turns that back into what better-sqlite3 stores, and `insertStatements`
 * writes rows back as exact literals and parameters, within D1's limits.
 */

/** D1 refuses a statement with more than 100 bound parameters or 100 KB of SQL. */
const MAX_PARAMS = 100;
const MAX_STATEMENT_CHARS = 90_000;
/** D1 refuses a string or blob over 2,000,000 bytes, hex() output included: values that could pass that are read in pieces. */
const BIG_TEXT_CHARS = 450_000;
const BIG_BLOB = 900_000;

/** Stands for a value too big to come back whole as JSON text (D1 refuses strings over 2 MB, and hex doubles a blob). */
export class BigValue {
  constructor(readonly kind: 'text' | 'blob') {}
}

/**
 * A value as D1's JSON can carry it exactly: null; a real as a number
 * (±infinity, which JSON cannot hold, as 'r+' / 'r-'); otherwise text tagged
 * with its storage class: 'i' + decimal integer, 't' + text, 'x' + hex blob.
 */
export function encode(c: string): string {
  const real = `CASE WHEN ${c} = 9e999 THEN 'r+' WHEN ${c} = -9e999 THEN 'r-' ELSE ${c} END`;
  // A text of more than BIG_TEXT_CHARS characters may pass 2 MB as UTF-8; a blob over BIG_BLOB bytes would as hex: 'T' / 'X', read apart.
  const text = `CASE WHEN length(${c}) > ${BIG_TEXT_CHARS} THEN 'T' ELSE 't' || ${c} END`;
  const blob = `CASE WHEN length(${c}) > ${BIG_BLOB} THEN 'X' ELSE 'x' || hex(${c}) END`;
  return `CASE typeof(${c}) WHEN 'integer' THEN 'i' || ${c} WHEN 'real' THEN ${real} WHEN 'text' THEN ${text} WHEN 'blob' THEN ${blob} END`;
}

/** The value `encode` read, in the JavaScript type that better-sqlite3 stores in the same storage class. */
export function decode(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  const text = String(value);
  switch (text[0]) {
    case 'i':
      return BigInt(text.slice(1));
    case 't':
      return text.slice(1);
    case 'x':
      return Buffer.from(text.slice(1), 'hex');
    case 'r':
      return text[1] === '+' ? Infinity : -Infinity;
    case 'T':
      return new BigValue('text');
    case 'X':
      return new BigValue('blob');
    default:
      throw new Error(`unexpected value from D1 while backing up: ${text.slice(0, 20)}`);
  }
}

/**
 * Multi-row INSERTs into a staging table, each within D1's limits. Integers
 * and blobs go as SQL literals (exact: an integer literal is read as written),
 * text and reals as parameters (a real literal would be read inexactly); the
 * staging table has no column types, so every value keeps its storage class.
 */
export function insertStatements(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): SqlCommand[] {
  const head = `INSERT INTO main.${q(table)} (${columns.map(q).join(', ')}) VALUES `;
  const statements: SqlCommand[] = [];
  let tuples: string[] = [];
  let params: unknown[] = [];
  let chars = head.length;
  const flush = () => {
    if (tuples.length > 0) statements.push({ sql: head + tuples.join(', '), params });
    tuples = [];
    params = [];
    chars = head.length;
  };
  for (const row of rows) {
    const rowParams: unknown[] = [];
    const tuple = `(${row.map((value) => literal(value, rowParams)).join(', ')})`;
    if (tuples.length > 0 && (params.length + rowParams.length > MAX_PARAMS || chars + tuple.length > MAX_STATEMENT_CHARS || tuples.length >= 500)) flush();
    tuples.push(tuple);
    params.push(...rowParams);
    chars += tuple.length + 2;
  }
  flush();
  return statements;
}

export function literal(value: unknown, params: unknown[]): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (value === Infinity) return '9e999';
    if (value === -Infinity) return '-9e999';
    params.push(value);
    return 'CAST(? AS REAL)';
  }
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    const hex = Buffer.from(value).toString('hex');
    if (hex.length < MAX_STATEMENT_CHARS / 4) return `x'${hex}'`;
    // Too long for the statement: as hex parameters, in pieces that stay far below D1's 2 MB string limit (|| keeps every byte).
    const pieces = hex.match(/[0-9a-f]{1,100000}/g)!;
    params.push(...pieces);
    return pieces.length === 1 ? 'unhex(?)' : `CAST(${pieces.map(() => 'unhex(?)').join(' || ')} AS BLOB)`;
  }
  params.push(String(value));
  return '?';
}
