import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { transactionControl } from './transaction-control.js';

const previous = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, email_lower TEXT);\n';

describe.each(['postgres', 'sqlite'] as const)('transaction-control [%s]', (dialect) => {
  const options = { dialect, previous, rules: [transactionControl] };

  it('flags BEGIN and COMMIT in a migration Cairn runs in a transaction', async () => {
    const sql = '-- migrate:up\nBEGIN;\nALTER TABLE users ADD COLUMN phone TEXT;\nCOMMIT;\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['transaction-control@2', 'transaction-control@4']);
    expect(findings[0]).toMatchObject({ severity: 'error', message: expect.stringContaining('BEGIN inside the transaction'), help: expect.stringContaining('cairn:no-transaction') });
    expect(findings[1]!.message).toContain('COMMIT inside the transaction Cairn already runs this migration in ends it early');
  });

  it('flags START TRANSACTION, END and ROLLBACK', async () => {
    const begin = dialect === 'postgres' ? 'START TRANSACTION' : 'BEGIN IMMEDIATE';
    const sql = `${begin};\nUPDATE users SET email_lower = lower(email) WHERE id < 100;\nEND;\nROLLBACK;\n`;
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['transaction-control@1', 'transaction-control@3', 'transaction-control@4']);
    expect(findings.map((f) => f.message.replace(/ inside .*/, ''))).toEqual([dialect === 'postgres' ? 'START TRANSACTION' : 'BEGIN', 'END', 'ROLLBACK']);
  });

  it('does not flag BEGIN/COMMIT in a -- cairn:no-transaction migration', async () => {
    const sql = '-- cairn:no-transaction\n-- migrate:up\nBEGIN;\nALTER TABLE users ADD COLUMN phone TEXT;\nCOMMIT;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('leaves savepoints alone: they nest inside the transaction', async () => {
    const sql = 'SAVEPOINT backfill;\nUPDATE users SET email_lower = lower(email) WHERE id < 100;\nRELEASE SAVEPOINT backfill;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });
});

describe('transaction-control [d1]', () => {
  it('leaves D1 to d1-transaction-statements', async () => {
    const sql = 'BEGIN;\nUPDATE users SET email_lower = lower(email) WHERE id < 100;\nCOMMIT;\n';
    expect(await findingsFor(sql, { dialect: 'sqlite', d1: true, previous, rules: [transactionControl] })).toEqual([]);
  });
});
