import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { d1Limits } from './d1-limits.js';

const options = { dialect: 'sqlite' as const, rules: [d1Limits], d1: true };

const columns = (n: number, prefix = 'c') => Array.from({ length: n }, (_, i) => `${prefix}${i + 1} TEXT`).join(',\n  ');
/** A multi-row INSERT of about `bytes` bytes (UTF-8), made of `char`. */
function bigInsert(bytes: number, char = 'x'): string {
  const rowValue = char.repeat(Math.floor(1000 / Buffer.byteLength(char)));
  const row = `('${rowValue}')`;
  const rows = Math.ceil(bytes / (Buffer.byteLength(row) + 2));
  return `INSERT INTO notes (body) VALUES ${Array.from({ length: rows }, () => row).join(', ')};\n`;
}

describe('d1-limits', () => {
  it('flags a statement over 100,000 bytes', async () => {
    const findings = await findingsFor(bigInsert(101_000).replace(/;\n$/, ' ON CONFLICT DO NOTHING;\n'), { ...options, previous: 'CREATE TABLE notes (body TEXT);\n' });
    expect(brief(findings)).toEqual(['d1-limits@1']);
    expect(findings[0]).toMatchObject({ severity: 'error', message: expect.stringMatching(/this statement is 10\d,\d{3} bytes: D1 rejects statements over 100,000 bytes/) });
    expect(findings[0]!.help).toContain('split it');
  });

  it('only warns about a multi-row INSERT over the limit: Cairn splits it within the batch', async () => {
    const findings = await findingsFor(bigInsert(250_000), { ...options, previous: 'CREATE TABLE notes (body TEXT);\n' });
    expect(findings[0]).toMatchObject({ rule: 'd1-limits', severity: 'warning', message: expect.stringMatching(/Cairn sends it as 3 INSERTs in the same batch/) });
  });

  it('counts bytes, not characters', async () => {
    const sql = bigInsert(110_000, 'é');
    expect(sql.length).toBeLessThan(100_000);
    expect(brief(await findingsFor(sql, { ...options, previous: 'CREATE TABLE notes (body TEXT);\n' }))).toEqual(['d1-limits@1']);
  });

  it('does not flag a statement just under the limit', async () => {
    const sql = bigInsert(98_000);
    expect(Buffer.byteLength(sql)).toBeLessThan(100_000);
    expect(await findingsFor(sql, { ...options, previous: 'CREATE TABLE notes (body TEXT);\n' })).toEqual([]);
  });

  it('flags CREATE TABLE with more than 100 columns, at the 101st', async () => {
    const findings = await findingsFor(`CREATE TABLE wide (\n  ${columns(101)}\n);\n`, options);
    expect(brief(findings)).toEqual(['d1-limits@102']);
    expect(findings[0]!.message).toBe('CREATE TABLE wide has 101 columns: D1 allows at most 100 per table');
    expect(findings[0]!.help).toContain('wide_details');
  });

  it('flags CREATE TABLE … AS SELECT with more than 100 result columns', async () => {
    const previous = `CREATE TABLE a (\n  ${columns(60, 'a')}\n);\nCREATE TABLE b (\n  ${columns(60, 'b')}\n);\n`;
    const findings = await findingsFor('CREATE TABLE ab AS SELECT * FROM a, b;\n', { ...options, previous });
    expect(findings.map((f) => f.message)).toEqual(['CREATE TABLE ab has 120 columns: D1 allows at most 100 per table']);
  });

  it('flags ADD COLUMN that takes a table past 100 columns, counting what it has', async () => {
    const previous = `CREATE TABLE wide (\n  ${columns(100)}\n);\nCREATE TABLE narrow (\n  ${columns(99)}\n);\n`;
    const findings = await findingsFor('ALTER TABLE wide ADD COLUMN c101 TEXT;\nALTER TABLE narrow ADD COLUMN c100 TEXT;\n', { ...options, previous });
    expect(brief(findings)).toEqual(['d1-limits@1']);
    expect(findings[0]!.message).toBe('ADD COLUMN gives wide 101 columns: D1 allows at most 100 per table');
  });

  it('does not flag 100 columns', async () => {
    expect(await findingsFor(`CREATE TABLE wide (\n  ${columns(100)}\n);\n`, options)).toEqual([]);
  });

  it('is silent when the target is not D1', async () => {
    const sql = `CREATE TABLE wide (\n  ${columns(101)}\n);\nCREATE TABLE notes (body TEXT);\n${bigInsert(101_000)}`;
    expect(await findingsFor(sql, { ...options, d1: false })).toEqual([]);
  });
});
