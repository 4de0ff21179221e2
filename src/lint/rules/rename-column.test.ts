import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { renameColumn } from './rename-column.js';

const previous = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);\n';

describe.each(['postgres', 'sqlite'] as const)('rename-column [%s]', (dialect) => {
  const options = { dialect, previous, rules: [renameColumn] };

  it('flags renaming a column of an existing table, at the old column name', async () => {
    const findings = await findingsFor('-- migrate:up\nALTER TABLE users\n  RENAME COLUMN email TO email_address;\n', options);
    expect(brief(findings)).toEqual(['rename-column@3']);
    expect(findings[0]).toMatchObject({
      severity: 'error',
      column: 17,
      message: expect.stringContaining('"email" of "users" to "email_address"'),
      help: expect.stringContaining('ADD COLUMN email_address'),
    });
  });

  it('flags the form without the COLUMN keyword', async () => {
    expect(brief(await findingsFor('ALTER TABLE users RENAME name TO full_name;\n', options))).toEqual(['rename-column@1']);
  });

  it('does not flag a column of a table created in the same migration', async () => {
    const sql = 'CREATE TABLE teams (id INTEGER PRIMARY KEY, title TEXT);\nALTER TABLE teams RENAME COLUMN title TO name;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag a column added earlier in the same migration', async () => {
    const sql = 'ALTER TABLE users ADD COLUMN phone_tmp TEXT;\nALTER TABLE users RENAME COLUMN phone_tmp TO phone;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag the expand step of expand–contract', async () => {
    const sql = 'ALTER TABLE users ADD COLUMN email_address TEXT;\nUPDATE users SET email_address = email WHERE id BETWEEN 1 AND 10000;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });
});
