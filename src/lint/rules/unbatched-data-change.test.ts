import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { unbatchedDataChange } from './unbatched-data-change.js';

const previous = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, email_lower TEXT);\nCREATE TABLE countries (code TEXT PRIMARY KEY, name TEXT);\n';

describe.each(['postgres', 'sqlite'] as const)('unbatched-data-change [%s]', (dialect) => {
  const options = { dialect, previous, rules: [unbatchedDataChange] };

  it('flags UPDATE and DELETE without WHERE on existing tables', async () => {
    const sql = '-- migrate:up\nUPDATE users SET email_lower = lower(email);\n\nDELETE FROM countries;\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['unbatched-data-change@2', 'unbatched-data-change@4']);
    expect(findings[0]).toMatchObject({ severity: 'error', message: expect.stringContaining('UPDATE of every row of "users"'), help: expect.stringContaining('-- cairn:batch size=1000') });
    expect(findings[1]).toMatchObject({ message: expect.stringContaining('DELETE of every row of "countries"'), help: expect.stringContaining('cairn:allow unbatched-data-change') });
  });

  it('accepts statements with a WHERE clause', async () => {
    const sql = "UPDATE users SET email_lower = lower(email) WHERE id BETWEEN 1 AND 10000;\nDELETE FROM countries WHERE code = 'YU';\n";
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag tables created in the same migration', async () => {
    const sql = 'CREATE TABLE staging (id INTEGER PRIMARY KEY, done INTEGER);\nINSERT INTO staging (id, done) VALUES (1, 0);\nUPDATE staging SET done = 1;\nDELETE FROM staging;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('is silenced by an allow with a reason', async () => {
    const sql = '-- cairn:allow unbatched-data-change 250-row lookup table, reloaded below\nDELETE FROM countries;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });
});
