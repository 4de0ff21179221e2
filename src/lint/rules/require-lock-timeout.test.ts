import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { requireLockTimeout } from './require-lock-timeout.js';

const previous = [
  'CREATE TABLE customers (id bigint PRIMARY KEY, email text);',
  'CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, status text);',
  'CREATE TABLE order_events (id bigint PRIMARY KEY);',
  '',
].join('\n');
const options = { dialect: 'postgres' as const, previous, rules: [requireLockTimeout] };

describe('require-lock-timeout', () => {
  it('is quiet in a transactional migration while Cairn sets lock_timeout itself (statementLockTimeout), not in a no-transaction one', async () => {
    const sql = '-- migrate:up\nALTER TABLE orders ADD COLUMN shipped_at timestamptz;\n';
    expect(await findingsFor(sql, { ...options, cairnLockTimeout: true })).toEqual([]);
    expect(brief(await findingsFor(sql, { ...options, cairnLockTimeout: false }))).toEqual(['require-lock-timeout@2']);
    const outside = '-- cairn:no-transaction\nALTER TABLE orders DROP COLUMN status;\n';
    expect(brief(await findingsFor(outside, { ...options, cairnLockTimeout: true }))).toEqual(['require-lock-timeout@2']);
  });

  it('flags the first strong lock on an existing table, once per file, naming the table', async () => {
    const sql = '-- migrate:up\nALTER TABLE orders ADD COLUMN shipped_at timestamptz;\nCREATE INDEX orders_status_idx ON orders (status);\nDROP TABLE order_events;\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['require-lock-timeout@2']);
    expect(findings[0]).toMatchObject({ severity: 'warning', message: expect.stringContaining('ALTER TABLE on "orders"'), help: expect.stringContaining("SET LOCAL lock_timeout = '5s'") });
    expect(findings[0]!.message).toContain('first of 3 such statements');
  });

  it('accepts SET LOCAL lock_timeout, SET lock_timeout and set_config() earlier in the file', async () => {
    const body = 'ALTER TABLE orders ADD COLUMN shipped_at timestamptz;\nTRUNCATE order_events;\n';
    expect(await findingsFor(`SET LOCAL lock_timeout = '5s';\n${body}`, options)).toEqual([]);
    expect(await findingsFor(`SET lock_timeout TO 3000;\n${body}`, options)).toEqual([]);
    expect(await findingsFor(`SELECT set_config('lock_timeout', '2s', true);\n${body}`, options)).toEqual([]);
  });

  it('flags a statement that comes before the SET, or after lock_timeout is reset or set to 0', async () => {
    expect(brief(await findingsFor("ALTER TABLE orders ADD COLUMN shipped_at timestamptz;\nSET LOCAL lock_timeout = '5s';\n", options))).toEqual(['require-lock-timeout@1']);
    expect(brief(await findingsFor("SET LOCAL lock_timeout = '5s';\nRESET lock_timeout;\nALTER TABLE orders RENAME COLUMN status TO state;\n", options))).toEqual(['require-lock-timeout@3']);
    expect(brief(await findingsFor('SET lock_timeout = 0;\nALTER TABLE orders RENAME TO purchases;\n', options))).toEqual(['require-lock-timeout@2']);
  });

  it('knows SET LOCAL does nothing in a migration that runs outside a transaction', async () => {
    const sql = "-- cairn:no-transaction\nSET LOCAL lock_timeout = '5s';\nALTER TABLE orders DROP COLUMN status;\n";
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['require-lock-timeout@3']);
    expect(findings[0]!.message).toContain('SET LOCAL lock_timeout on line 2 has no effect');
    expect(findings[0]!.help).toContain("SET lock_timeout = '5s'");
    expect(findings[0]!.help).toContain('RESET lock_timeout');
    expect(await findingsFor("-- cairn:no-transaction\nSET lock_timeout = '5s';\nALTER TABLE orders DROP COLUMN status;\nRESET lock_timeout;\n", options)).toEqual([]);
  });

  it('flags other strong locks: TRUNCATE, CREATE TRIGGER, LOCK, and a foreign key to an existing table', async () => {
    expect(brief(await findingsFor('TRUNCATE order_events;\n', options))).toEqual(['require-lock-timeout@1']);
    expect(brief(await findingsFor('CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();\n', options))).toEqual(['require-lock-timeout@1']);
    expect(brief(await findingsFor('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;\n', options))).toEqual(['require-lock-timeout@1']);
    expect(brief(await findingsFor('ALTER TABLE orders DETACH PARTITION orders_2020;\n', options))).toEqual(['require-lock-timeout@1']);
    const findings = await findingsFor('CREATE TABLE invoices (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id));\n', options);
    expect(brief(findings)).toEqual(['require-lock-timeout@1']);
    expect(findings[0]!.message).toContain('"customers"');
  });

  it('does not flag tables created in the same migration, light locks, or concurrent index builds', async () => {
    const sql = [
      '-- cairn:no-transaction',
      'CREATE TABLE invoices (id bigint PRIMARY KEY, total_cents bigint);',
      'ALTER TABLE invoices ADD COLUMN paid_at timestamptz;',
      'CREATE INDEX invoices_paid_at_idx ON invoices (paid_at);',
      'ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;',
      'ALTER TABLE orders ALTER COLUMN status SET STATISTICS 500;',
      'CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);',
      'DROP INDEX CONCURRENTLY orders_status_idx;',
      'ALTER TABLE orders DETACH PARTITION orders_2020 CONCURRENTLY;',
      'INSERT INTO orders (id, status) VALUES (1, \'new\');',
      'ANALYZE orders;',
      '',
    ].join('\n');
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('is silenced by an allow in the header', async () => {
    const sql = '-- cairn:allow require-lock-timeout the deploy role has lock_timeout = 5s\n-- migrate:up\nALTER TABLE orders ADD COLUMN shipped_at timestamptz;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });
});
