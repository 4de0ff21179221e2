import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { sqliteUnsupportedAlter } from './sqlite-unsupported-alter.js';

const options = { dialect: 'sqlite' as const, previous: 'CREATE TABLE users (id INTEGER PRIMARY KEY, age TEXT);\n', rules: [sqliteUnsupportedAlter] };

describe('sqlite-unsupported-alter', () => {
  it('names the rule and the rebuild for forms SQLite rejects, instead of a syntax error', async () => {
    const sql = 'ALTER TABLE users ALTER COLUMN age TYPE INTEGER;\nALTER TABLE users ADD CONSTRAINT age_positive CHECK (age > 0);\nALTER TABLE users DROP CONSTRAINT age_positive;\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['sqlite-unsupported-alter@1', 'sqlite-unsupported-alter@2', 'sqlite-unsupported-alter@3']);
    expect(findings[0]).toMatchObject({ column: 19, message: expect.stringContaining('ALTER COLUMN'), help: expect.stringContaining('12-step') });
  });

  it('leaves the forms SQLite has alone', async () => {
    const sql = 'ALTER TABLE users ADD COLUMN email TEXT;\nALTER TABLE users RENAME COLUMN age TO age_text;\nALTER TABLE users RENAME TO people;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('leaves other syntax errors to syntax-error', async () => {
    expect(brief(await findingsFor('ALTER TABLE users FROB;\n', options))).toEqual(['syntax-error@1']);
  });
});
