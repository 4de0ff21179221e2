import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { writableSchema } from './writable-schema.js';

const options = { dialect: 'sqlite' as const, previous: 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n', rules: [writableSchema] };

describe('writable-schema', () => {
  it('flags PRAGMA writable_schema with any value, and edits of sqlite_master / sqlite_schema', async () => {
    const sql = `-- migrate:up
PRAGMA writable_schema = ON;
UPDATE sqlite_master SET sql = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)' WHERE name = 'users';
DELETE FROM main.sqlite_schema WHERE name = 'users_email';
INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('table', 'x', 'x', 0, 'CREATE TABLE x (a)');
PRAGMA writable_schema = RESET;
`;
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['writable-schema@2', 'writable-schema@3', 'writable-schema@4', 'writable-schema@5', 'writable-schema@6']);
    expect(findings[0]).toMatchObject({ severity: 'error', message: expect.stringContaining('PRAGMA writable_schema = ON') });
    expect(findings[1]!.message).toContain('UPDATE sqlite_master edits the schema text directly');
    expect(findings[2]!.message).toContain('DELETE FROM sqlite_schema');
    expect(findings[0]!.help).toContain('ALTER TABLE t_new RENAME TO t');
  });

  it('says D1 refuses it when the target is D1', async () => {
    const [finding] = await findingsFor('PRAGMA writable_schema = 1;\n', { ...options, d1: true });
    expect(finding!.message).toContain('D1 refuses it');
  });

  it('does not flag reading the schema, other pragmas, or ordinary tables', async () => {
    const sql = "SELECT sql FROM sqlite_master WHERE name = 'users';\nPRAGMA defer_foreign_keys = on;\nUPDATE users SET email = lower(email);\n";
    expect(await findingsFor(sql, options)).toEqual([]);
  });
});
