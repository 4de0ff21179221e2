import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { schemaAndDataMixed } from './schema-and-data-mixed.js';

const previous = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\nCREATE TABLE plans (code TEXT PRIMARY KEY, name TEXT);\n';

describe.each(['postgres', 'sqlite'] as const)('schema-and-data-mixed [%s]', (dialect) => {
  const options = { dialect, previous, rules: [schemaAndDataMixed] };

  it('flags a column added and backfilled in one migration, once, at the first data statement', async () => {
    const sql = [
      '-- migrate:up',
      'ALTER TABLE users ADD COLUMN email_lower TEXT;',
      '',
      'UPDATE users SET email_lower = lower(email) WHERE email_lower IS NULL;',
      "INSERT INTO plans (code, name) VALUES ('pro', 'Pro');",
    ].join('\n');
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['schema-and-data-mixed@4']);
    expect(findings[0]).toMatchObject({
      severity: 'warning',
      message: expect.stringContaining('line 2: ALTER TABLE users'),
      help: expect.stringContaining('split it'),
    });
    expect(findings[0]!.message).toContain('"users" (UPDATE)');
  });

  it('flags a data change that comes before the schema change', async () => {
    const sql = "DELETE FROM plans WHERE code = 'legacy';\nCREATE INDEX users_email ON users (email);\n";
    expect(brief(await findingsFor(sql, options))).toEqual(['schema-and-data-mixed@1']);
  });

  it('does not flag seeding a table created in the same migration', async () => {
    const sql = "CREATE TABLE roles (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nCREATE INDEX roles_name ON roles (name);\nINSERT INTO roles (id, name) VALUES (1, 'admin'), (2, 'member');\n";
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag a new table filled from an existing one', async () => {
    const sql = 'CREATE TABLE user_emails (user_id INTEGER PRIMARY KEY, email TEXT NOT NULL);\nINSERT INTO user_emails (user_id, email) SELECT id, email FROM users;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag a data-only or a schema-only migration', async () => {
    expect(await findingsFor("UPDATE users SET email = lower(email) WHERE id BETWEEN 1 AND 5000;\nINSERT INTO plans (code, name) VALUES ('team', 'Team');\n", options)).toEqual([]);
    expect(await findingsFor('ALTER TABLE users ADD COLUMN phone TEXT;\nCREATE INDEX users_phone ON users (phone);\n', options)).toEqual([]);
  });
});
