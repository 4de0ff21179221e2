import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { d1TransactionStatements } from './d1-transaction-statements.js';

const options = { dialect: 'sqlite' as const, previous: 'CREATE TABLE users (id INTEGER PRIMARY KEY);\n', rules: [d1TransactionStatements], d1: true };

const sql = `-- migrate:up
BEGIN TRANSACTION;
CREATE TABLE posts (id INTEGER PRIMARY KEY);
SAVEPOINT backfill;
INSERT INTO posts (id) SELECT id FROM users;
RELEASE backfill;
COMMIT;
`;

describe('d1-transaction-statements', () => {
  it('flags BEGIN, SAVEPOINT, RELEASE, COMMIT and ROLLBACK on D1', async () => {
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['d1-transaction-statements@2', 'd1-transaction-statements@4', 'd1-transaction-statements@6', 'd1-transaction-statements@7']);
    expect(findings[0]).toMatchObject({ severity: 'error', message: expect.stringContaining('D1 rejects BEGIN in a migration') });
    expect(findings[3]!.message).toContain('D1 rejects COMMIT');
    expect(findings[0]!.help).toContain('Cairn applies each D1 migration atomically as one batch');
    expect(brief(await findingsFor('ROLLBACK;\n', options))).toEqual(['d1-transaction-statements@1']);
  });

  it('is silent when the target is not D1', async () => {
    expect(await findingsFor(sql, { ...options, d1: false })).toEqual([]);
  });

  it('does not mistake a trigger body for a transaction', async () => {
    const trigger = 'CREATE TRIGGER users_ai AFTER INSERT ON users BEGIN INSERT INTO users (id) SELECT NULL WHERE 0; END;\n';
    expect(await findingsFor(trigger, options)).toEqual([]);
  });
});
