import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { renameTable } from './rename-table.js';

const previous = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n';

describe.each(['postgres', 'sqlite'] as const)('rename-table [%s]', (dialect) => {
  const options = { dialect, previous, rules: [renameTable] };

  it('flags renaming an existing table', async () => {
    const findings = await findingsFor('-- migrate:up\nALTER TABLE users RENAME TO accounts;\n-- migrate:down\nALTER TABLE accounts RENAME TO users;\n', options);
    expect(brief(findings)).toEqual(['rename-table@2']);
    expect(findings[0]).toMatchObject({
      severity: 'error',
      message: expect.stringContaining('"users" to "accounts"'),
      help: expect.stringContaining('CREATE VIEW users AS SELECT * FROM accounts'),
    });
  });

  it('does not flag renaming a table created earlier in the same migration', async () => {
    const sql = 'CREATE TABLE accounts_tmp (id INTEGER PRIMARY KEY, name TEXT);\nALTER TABLE accounts_tmp RENAME TO accounts;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag a rename followed by a view under the old name', async () => {
    const sql = 'ALTER TABLE users RENAME TO accounts;\nCREATE VIEW users AS SELECT * FROM accounts;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag renaming the old table out of the way in a rebuild', async () => {
    const sql = [
      'ALTER TABLE users RENAME TO users_old;',
      'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);',
      'INSERT INTO users (id, email) SELECT id, email FROM users_old;',
      'DROP TABLE users_old;',
    ].join('\n');
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('leaves column renames to rename-column', async () => {
    expect(await findingsFor('ALTER TABLE users RENAME COLUMN email TO email_address;\n', options)).toEqual([]);
  });
});
