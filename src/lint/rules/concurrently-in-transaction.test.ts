import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { concurrentlyInTransaction } from './concurrently-in-transaction.js';

const previous = `CREATE TABLE users (id bigint PRIMARY KEY, email text);
CREATE INDEX users_email_old ON users (email);
CREATE TABLE events (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
`;
const options = { dialect: 'postgres' as const, previous, rules: [concurrentlyInTransaction] };

describe('concurrently-in-transaction', () => {
  it('flags every CONCURRENTLY form in a migration that runs in a transaction', async () => {
    const sql = `-- migrate:up
CREATE INDEX CONCURRENTLY users_email_idx ON users (email);
DROP INDEX CONCURRENTLY users_email_old;
REINDEX INDEX CONCURRENTLY users_pkey;
REINDEX (CONCURRENTLY) TABLE users;
ALTER TABLE events
  DETACH PARTITION events_2023 CONCURRENTLY;
`;
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual([
      'concurrently-in-transaction@2',
      'concurrently-in-transaction@3',
      'concurrently-in-transaction@4',
      'concurrently-in-transaction@5',
      'concurrently-in-transaction@7',
    ]);
    expect(findings[0]).toMatchObject({
      severity: 'error',
      message: expect.stringContaining('CREATE INDEX CONCURRENTLY users_email_idx on "users" cannot run inside a transaction block'),
      help: expect.stringContaining('-- cairn:no-transaction'),
    });
    expect(findings[1]!.message).toContain('DROP INDEX CONCURRENTLY users_email_old');
    expect(findings[4]).toMatchObject({ column: 3, message: expect.stringContaining('DETACH PARTITION events_2023 CONCURRENTLY (from "events")') });
  });

  it('flags a CONCURRENTLY statement inside an explicit BEGIN of a no-transaction migration', async () => {
    const sql = '-- cairn:no-transaction\n-- migrate:up\nBEGIN;\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\nCOMMIT;\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['concurrently-in-transaction@4']);
    expect(findings[0]!.message).toContain('explicit BEGIN');
  });

  it('accepts CONCURRENTLY in a no-transaction migration, also after an explicit transaction has ended', async () => {
    const alone = '-- cairn:no-transaction\n-- migrate:up\nCREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users (email);\n';
    expect(await findingsFor(alone, options)).toEqual([]);
    const after = '-- cairn:no-transaction\n-- migrate:up\nBEGIN;\nUPDATE users SET email = lower(email) WHERE id < 100;\nCOMMIT;\nREINDEX (CONCURRENTLY) INDEX users_pkey;\n';
    expect(await findingsFor(after, options)).toEqual([]);
  });

  it('accepts the plain forms, and REFRESH MATERIALIZED VIEW CONCURRENTLY (which may run in a transaction)', async () => {
    const sql = 'CREATE INDEX users_email_idx ON users (email);\nDROP INDEX users_email_old;\nREINDEX INDEX users_pkey;\nALTER TABLE events DETACH PARTITION events_2023;\nREFRESH MATERIALIZED VIEW CONCURRENTLY user_stats;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });
});
