import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { storedGeneratedColumn } from './stored-generated-column.js';

const previous = 'CREATE TABLE orders (id bigint PRIMARY KEY, quantity integer NOT NULL, unit_price_cents bigint NOT NULL);\n';
const options = { dialect: 'postgres' as const, previous, rules: [storedGeneratedColumn] };

describe('stored-generated-column', () => {
  it('flags a stored generated column added to an existing table, at GENERATED', async () => {
    const sql = '-- migrate:up\nALTER TABLE orders\n  ADD COLUMN total_cents bigint GENERATED ALWAYS AS (quantity * unit_price_cents) STORED;\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['stored-generated-column@3']);
    expect(findings[0]).toMatchObject({
      severity: 'error',
      column: 33,
      message: expect.stringContaining('"total_cents" to "orders"'),
      help: expect.stringContaining('trigger'),
    });
    expect(findings[0]!.message).toContain('ACCESS EXCLUSIVE');
    expect(findings[0]!.help).toContain('in batches');
  });

  it('flags each stored generated column of a multi-action ALTER TABLE', async () => {
    const sql = 'ALTER TABLE orders\n  ADD COLUMN total_cents bigint GENERATED ALWAYS AS (quantity * unit_price_cents) STORED,\n  ADD COLUMN note text,\n  ADD COLUMN is_bulk boolean GENERATED ALWAYS AS (quantity >= 100) STORED;\n';
    expect(brief(await findingsFor(sql, options))).toEqual(['stored-generated-column@2', 'stored-generated-column@4']);
  });

  it('mentions VIRTUAL generated columns only when the target is PostgreSQL 18+', async () => {
    const sql = 'ALTER TABLE orders ADD COLUMN total_cents bigint GENERATED ALWAYS AS (quantity * unit_price_cents) STORED;\n';
    const [pg15] = await findingsFor(sql, options);
    const [pg18] = await findingsFor(sql, { ...options, postgresVersion: 18 });
    expect(pg15!.help).not.toContain('VIRTUAL');
    expect(pg18!.help).toContain('VIRTUAL');
  });

  it('does not flag a stored generated column on a table created in the same migration', async () => {
    const sql = 'CREATE TABLE invoices (id bigint PRIMARY KEY, net_cents bigint NOT NULL);\nALTER TABLE invoices ADD COLUMN gross_cents bigint GENERATED ALWAYS AS (net_cents * 120 / 100) STORED;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag the safe forms: a plain column, an identity column, a virtual generated column, CREATE TABLE', async () => {
    const sql = [
      'ALTER TABLE orders ADD COLUMN total_cents bigint;',
      'ALTER TABLE orders ADD COLUMN line_no integer GENERATED ALWAYS AS IDENTITY;',
      'ALTER TABLE orders ADD COLUMN total_virtual bigint GENERATED ALWAYS AS (quantity * unit_price_cents) VIRTUAL;',
      'CREATE TABLE refunds (id bigint PRIMARY KEY, cents bigint, doubled bigint GENERATED ALWAYS AS (cents * 2) STORED);',
      '',
    ].join('\n');
    expect(await findingsFor(sql, { ...options, postgresVersion: 18 })).toEqual([]);
  });

  it('is silenced by an allow with a reason', async () => {
    const sql = '-- cairn:allow stored-generated-column orders has 200 rows\nALTER TABLE orders ADD COLUMN total_cents bigint GENERATED ALWAYS AS (quantity * unit_price_cents) STORED;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });
});
