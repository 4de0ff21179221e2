import { describe, expect, it } from 'vitest';
import { BigValue, decode, insertStatements, literal } from './codec.js';

describe('the D1 backup value codec', () => {
  it('decodes each tagged storage class into what better-sqlite3 stores', () => {
    expect(decode(null)).toBeNull();
    expect(decode(1.5)).toBe(1.5);
    expect(decode('i9007199254740993')).toBe(9007199254740993n);
    expect(decode('thello')).toBe('hello');
    expect(decode('x00ff')).toEqual(Buffer.from([0, 255]));
    expect(decode('r+')).toBe(Infinity);
    expect(decode('r-')).toBe(-Infinity);
    expect(decode('T')).toEqual(new BigValue('text'));
    expect(decode('X')).toEqual(new BigValue('blob'));
    expect(() => decode('?what')).toThrow(/unexpected value from D1/);
  });

  it('writes integers and blobs as exact literals, reals and text as parameters', () => {
    const params: unknown[] = [];
    expect([literal(12345678901234567890n, params), literal(Buffer.from([1, 2]), params), literal(0.1, params), literal('a', params), literal(null, params), literal(Infinity, params)]).toEqual(['12345678901234567890', "x'0102'", 'CAST(? AS REAL)', '?', 'NULL', '9e999']);
    expect(params).toEqual([0.1, 'a']);
  });

  it('splits rows into INSERTs of at most 100 bound parameters', () => {
    const rows = Array.from({ length: 150 }, (_, i) => [`name ${i}`]);
    const statements = insertStatements('t', ['name'], rows);
    expect(statements.length).toBe(2);
    expect(statements.map((s) => s.params!.length)).toEqual([100, 50]);
    expect(statements[0]!.sql).toMatch(/^INSERT INTO main\."t" \("name"\) VALUES \(\?\), /);
  });
});
