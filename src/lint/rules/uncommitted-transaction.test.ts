import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { uncommittedTransaction } from './uncommitted-transaction.js';

const previous = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, email_lower TEXT);\n';

describe.each(['postgres', 'sqlite'] as const)('uncommitted-transaction [%s]', (dialect) => {
  const options = { dialect, previous, rules: [uncommittedTransaction] };

  it('flags a BEGIN that is never committed, at the BEGIN', async () => {
    const sql = '-- cairn:no-transaction\n-- migrate:up\nUPDATE users SET email_lower = lower(email) WHERE id < 1000;\nBEGIN;\nUPDATE users SET email_lower = lower(email) WHERE id >= 1000;\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['uncommitted-transaction@4']);
    expect(findings[0]).toMatchObject({ severity: 'error', message: expect.stringContaining('never closed by COMMIT or ROLLBACK'), help: expect.stringContaining('add COMMIT') });
  });

  it('flags the second of two BEGINs when only the first is closed', async () => {
    const sql = '-- cairn:no-transaction\nBEGIN;\nUPDATE users SET email_lower = lower(email) WHERE id < 1000;\nCOMMIT;\nBEGIN;\nUPDATE users SET email_lower = lower(email) WHERE id >= 1000;\n';
    expect(brief(await findingsFor(sql, options))).toEqual(['uncommitted-transaction@5']);
  });

  it('accepts BEGIN … COMMIT and BEGIN … ROLLBACK', async () => {
    const sql = '-- cairn:no-transaction\nBEGIN;\nUPDATE users SET email_lower = lower(email) WHERE id < 1000;\nCOMMIT;\nBEGIN;\nDELETE FROM users WHERE id = 0;\nROLLBACK;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('leaves BEGIN in a transactional migration to transaction-control', async () => {
    expect(await findingsFor('BEGIN;\nUPDATE users SET email_lower = lower(email) WHERE id < 1000;\n', options)).toEqual([]);
  });
});
