import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { preferRobustStatements } from './prefer-robust-statements.js';

const previous = 'CREATE TABLE accounts (id bigint PRIMARY KEY, email text, legacy_flag boolean);\nCREATE INDEX accounts_email_idx ON accounts (email);\nCREATE TABLE audit_old (id bigint);\n';
const options = { dialect: 'postgres' as const, previous, rules: [preferRobustStatements] };

describe('prefer-robust-statements', () => {
  it('flags each non-repeatable statement of a no-transaction migration', async () => {
    const sql = [
      '-- cairn:no-transaction',
      '-- migrate:up',
      'CREATE SCHEMA reporting;',
      'CREATE TABLE billing_contacts (id bigint PRIMARY KEY, account_id bigint NOT NULL);',
      'CREATE SEQUENCE invoice_number_seq;',
      'ALTER TABLE accounts ADD COLUMN billing_email text, DROP COLUMN legacy_flag;',
      'CREATE INDEX CONCURRENTLY accounts_billing_email_idx ON accounts (billing_email);',
      'DROP INDEX CONCURRENTLY accounts_email_idx;',
      'DROP TABLE audit_old;',
      '',
    ].join('\n');
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual([
      'prefer-robust-statements@3',
      'prefer-robust-statements@4',
      'prefer-robust-statements@5',
      'prefer-robust-statements@6',
      'prefer-robust-statements@6',
      'prefer-robust-statements@7',
      'prefer-robust-statements@8',
      'prefer-robust-statements@9',
    ]);
    expect(findings.every((f) => f.severity === 'warning')).toBe(true);
    expect(findings[1]).toMatchObject({ message: expect.stringContaining('CREATE TABLE "billing_contacts" without IF NOT EXISTS'), help: expect.stringContaining('CREATE TABLE IF NOT EXISTS billing_contacts') });
    expect(findings[3]).toMatchObject({ column: 33, message: expect.stringContaining('ADD COLUMN "billing_email" to "accounts"'), help: expect.stringContaining('ADD COLUMN IF NOT EXISTS billing_email') });
    expect(findings[4]).toMatchObject({ message: expect.stringContaining('DROP COLUMN "legacy_flag"'), help: expect.stringContaining('DROP COLUMN IF EXISTS legacy_flag') });
    expect(findings[5]!.help).toContain('CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_billing_email_idx ON accounts');
    expect(findings[5]!.help).toContain('INVALID');
    expect(findings[6]!.help).toContain('DROP INDEX CONCURRENTLY IF EXISTS accounts_email_idx');
    expect(findings[7]!.help).toContain('DROP TABLE IF EXISTS audit_old');
  });

  it('accepts the IF [NOT] EXISTS forms', async () => {
    const sql = [
      '-- cairn:no-transaction',
      'CREATE SCHEMA IF NOT EXISTS reporting;',
      'CREATE TABLE IF NOT EXISTS billing_contacts (id bigint PRIMARY KEY);',
      'CREATE SEQUENCE IF NOT EXISTS invoice_number_seq;',
      'ALTER TABLE accounts ADD COLUMN IF NOT EXISTS billing_email text, DROP COLUMN IF EXISTS legacy_flag;',
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_billing_email_idx ON accounts (billing_email);',
      'DROP INDEX CONCURRENTLY IF EXISTS accounts_email_idx;',
      'DROP TABLE IF EXISTS audit_old;',
      '',
    ].join('\n');
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag a migration the runner wraps in a transaction (it rolls back whole)', async () => {
    const sql = 'CREATE TABLE billing_contacts (id bigint PRIMARY KEY);\nALTER TABLE accounts ADD COLUMN billing_email text;\nDROP TABLE audit_old;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag statements inside an explicit BEGIN … COMMIT of a no-transaction migration', async () => {
    const sql = '-- cairn:no-transaction\nBEGIN;\nALTER TABLE accounts ADD COLUMN billing_email text;\nCOMMIT;\nDROP TABLE audit_old;\n';
    expect(brief(await findingsFor(sql, options))).toEqual(['prefer-robust-statements@5']);
  });

  it('asks for a name when an index has none (IF NOT EXISTS needs one)', async () => {
    const findings = await findingsFor('-- cairn:no-transaction\nCREATE INDEX CONCURRENTLY ON accounts (email);\n', options);
    expect(brief(findings)).toEqual(['prefer-robust-statements@2']);
    expect(findings[0]!.message).toContain('duplicate index');
  });

  it('does not flag temporary tables', async () => {
    expect(await findingsFor('-- cairn:no-transaction\nCREATE TEMP TABLE ids_to_fix (id bigint);\n', options)).toEqual([]);
  });
});
