import { describe, expect, it } from 'vitest';
import { brief, findingsFor, targetFor } from '../../../test/support/lint.js';
import { tempDir, writeMigrations } from '../../../test/support/databases.js';
import { readMigrations } from '../../source/files.js';
import { lintMigrations } from '../linter.js';
import { setNotNullScan } from './set-not-null-scan.js';

const previous = 'CREATE TABLE users (id bigint PRIMARY KEY, email text, name text NOT NULL, plan text);\n';
const options = { dialect: 'postgres' as const, previous, rules: [setNotNullScan] };

describe('set-not-null-scan', () => {
  it('flags SET NOT NULL on an existing column, at the column', async () => {
    const sql = '-- migrate:up\nALTER TABLE users\n  ALTER COLUMN email SET NOT NULL;\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['set-not-null-scan@3']);
    expect(findings[0]).toMatchObject({
      severity: 'error',
      column: 3,
      message: expect.stringContaining('SET NOT NULL on "users"."email" scans every row of "users" under an ACCESS EXCLUSIVE lock'),
      help: expect.stringContaining('ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID'),
    });
    expect(findings[0]!.help).toContain('VALIDATE CONSTRAINT users_email_not_null');
  });

  it('flags each column of a multi-command ALTER', async () => {
    const findings = await findingsFor('ALTER TABLE users ALTER email SET NOT NULL, ALTER COLUMN plan SET NOT NULL;\n', options);
    expect(brief(findings)).toEqual(['set-not-null-scan@1', 'set-not-null-scan@1']);
    expect(findings.map((f) => f.column)).toEqual([19, 45]);
  });

  it('gives the help that fits the PostgreSQL version', async () => {
    const sql = 'ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n';
    const [pg11] = await findingsFor(sql, { ...options, postgresVersion: 11 });
    expect(pg11!.help).toContain('before PostgreSQL 12, SET NOT NULL always scans');
    const [pg18] = await findingsFor(sql, { ...options, postgresVersion: 18 });
    expect(pg18!.help).toContain('ADD CONSTRAINT users_email_not_null NOT NULL email NOT VALID');
  });

  it('flags the PostgreSQL 18 ADD CONSTRAINT … NOT NULL without NOT VALID', async () => {
    const findings = await findingsFor('ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email;\n', { ...options, postgresVersion: 18 });
    expect(brief(findings)).toEqual(['set-not-null-scan@1']);
    expect(findings[0]!.message).toContain('ADD CONSTRAINT users_email_not_null NOT NULL on "users"."email"');
  });

  it('accepts NOT VALID, an already NOT NULL column, and a table created earlier in the same migration', async () => {
    const sql = `ALTER TABLE users ADD CONSTRAINT users_email_not_null NOT NULL email NOT VALID;
ALTER TABLE users ALTER COLUMN name SET NOT NULL;
CREATE TABLE teams (id bigint PRIMARY KEY, slug text);
ALTER TABLE teams ALTER COLUMN slug SET NOT NULL;
ALTER TABLE users ALTER COLUMN plan DROP NOT NULL;
`;
    expect(await findingsFor(sql, { ...options, postgresVersion: 18 })).toEqual([]);
  });

  it('accepts SET NOT NULL after a CHECK (col IS NOT NULL) validated earlier in the file (PostgreSQL 12+ skips the scan)', async () => {
    const sql = `ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;
ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
ALTER TABLE users DROP CONSTRAINT users_email_not_null;
`;
    expect(await findingsFor(sql, options)).toEqual([]);
    // Before 12 the scan happens anyway.
    expect(brief(await findingsFor(sql, { ...options, postgresVersion: 11 }))).toEqual(['set-not-null-scan@3']);
  });

  it('still flags SET NOT NULL when the CHECK is not validated, was dropped, or proves another column', async () => {
    const notValidated = 'ALTER TABLE users ADD CONSTRAINT c CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n';
    expect(brief(await findingsFor(notValidated, options))).toEqual(['set-not-null-scan@2']);
    const dropped = 'ALTER TABLE users ADD CONSTRAINT c CHECK (email IS NOT NULL);\nALTER TABLE users DROP CONSTRAINT c;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n';
    expect(brief(await findingsFor(dropped, options))).toEqual(['set-not-null-scan@3']);
    const other = 'ALTER TABLE users ADD CONSTRAINT c CHECK (plan IS NOT NULL);\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n';
    expect(brief(await findingsFor(other, options))).toEqual(['set-not-null-scan@2']);
  });

  it('accepts SET NOT NULL after a CHECK validated in an earlier migration, also when only the pending file is linted', async () => {
    const root = tempDir('cairn-lint-');
    const dir = writeMigrations(root, {
      '0001_users.sql': previous,
      '0002_email_check.sql': 'ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;\n',
      '0003_validate.sql': '-- cairn:no-transaction\nALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;\n',
      '0004_email_not_null.sql': 'ALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users DROP CONSTRAINT users_email_not_null;\n',
    });
    const migrations = readMigrations(dir, root);
    const lint = (selected?: ReadonlySet<string>) => lintMigrations(migrations, { target: targetFor(options), rules: [setNotNullScan] }, selected);
    expect((await lint()).files.flatMap((f) => f.findings)).toEqual([]);
    expect((await lint(new Set(['0004']))).files.flatMap((f) => f.findings)).toEqual([]);
  });
});
