import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { enumValueOrdering } from './enum-value-ordering.js';

const previous = [
  "CREATE TYPE order_status AS ENUM ('draft', 'submitted', 'approved', 'rejected');",
  'CREATE TABLE orders (id bigint PRIMARY KEY, status order_status NOT NULL, note text);',
  '',
].join('\n');
const options = { dialect: 'postgres' as const, previous, rules: [enumValueOrdering] };

describe('enum-value-ordering', () => {
  describe('BEFORE / AFTER', () => {
    it('flags a value inserted in the middle of an existing enum', async () => {
      const sql = "-- cairn:no-transaction\nALTER TYPE order_status ADD VALUE 'pending_review' BEFORE 'approved';\nALTER TYPE order_status ADD VALUE 'on_hold' AFTER 'submitted';\n";
      const findings = await findingsFor(sql, options);
      expect(brief(findings)).toEqual(['enum-value-ordering@2', 'enum-value-ordering@3']);
      expect(findings[0]).toMatchObject({ severity: 'warning', message: expect.stringContaining("'pending_review' before 'approved'"), help: expect.stringContaining("ALTER TYPE order_status ADD VALUE 'pending_review';") });
      expect(findings[0]!.message).toContain("< 'approved' now matches it");
      expect(findings[1]!.message).toContain("> 'submitted' now matches it");
    });

    it('does not flag appending at the end, or ordering values of an enum created in the same migration', async () => {
      expect(await findingsFor("-- cairn:no-transaction\nALTER TYPE order_status ADD VALUE IF NOT EXISTS 'archived';\n", options)).toEqual([]);
      const sql = "CREATE TYPE shipment_status AS ENUM ('packed', 'delivered');\nALTER TYPE shipment_status ADD VALUE 'in_transit' BEFORE 'delivered';\n";
      expect(await findingsFor(sql, options)).toEqual([]);
    });
  });

  describe('a new value used in the transaction that added it', () => {
    it('flags the first statement that uses it, at the value, as an error (PostgreSQL always rejects it)', async () => {
      const sql = "-- migrate:up\nALTER TYPE order_status ADD VALUE 'cancelled';\nUPDATE orders SET status = 'cancelled' WHERE note = 'customer asked';\nUPDATE orders SET status = 'cancelled' WHERE note = 'fraud';\n";
      const findings = await findingsFor(sql, options);
      expect(brief(findings)).toEqual(['enum-value-ordering@3']);
      expect(findings[0]).toMatchObject({ severity: 'error', column: 28, message: expect.stringContaining('unsafe use of new value'), help: expect.stringContaining('migration of its own') });
      expect(findings[0]!.message).toContain('on line 2');
    });

    it('recognises casts, defaults and inserts as uses', async () => {
      const cast = "ALTER TYPE order_status ADD VALUE 'cancelled';\nSELECT count(*) FROM orders WHERE status <> 'cancelled'::order_status;\n";
      expect(brief(await findingsFor(cast, options))).toEqual(['enum-value-ordering@2']);
      const byDefault = "ALTER TYPE order_status ADD VALUE 'cancelled';\nALTER TABLE orders ALTER COLUMN status SET DEFAULT 'cancelled';\n";
      expect(brief(await findingsFor(byDefault, options))).toEqual(['enum-value-ordering@2']);
      const insert = "ALTER TYPE order_status ADD VALUE 'cancelled';\nINSERT INTO orders (id, status) VALUES (42, 'cancelled');\n";
      expect(brief(await findingsFor(insert, options))).toEqual(['enum-value-ordering@2']);
    });

    it('does not flag the same text in a column of another type', async () => {
      const sql = "ALTER TYPE order_status ADD VALUE 'cancelled';\nUPDATE orders SET note = 'cancelled' WHERE id = 7;\n";
      expect(await findingsFor(sql, options)).toEqual([]);
    });

    it('does not flag a use in a migration that runs outside a transaction, or after an explicit COMMIT', async () => {
      const noTransaction = "-- cairn:no-transaction\nALTER TYPE order_status ADD VALUE 'cancelled';\nUPDATE orders SET status = 'cancelled' WHERE id = 7;\n";
      expect(await findingsFor(noTransaction, options)).toEqual([]);
      const committed = "-- cairn:no-transaction\nBEGIN;\nALTER TYPE order_status ADD VALUE 'cancelled';\nCOMMIT;\nUPDATE orders SET status = 'cancelled' WHERE id = 7;\n";
      expect(await findingsFor(committed, options)).toEqual([]);
    });

    it('flags a use inside the same explicit BEGIN … COMMIT of a no-transaction migration', async () => {
      const sql = "-- cairn:no-transaction\nBEGIN;\nALTER TYPE order_status ADD VALUE 'cancelled';\nUPDATE orders SET status = 'cancelled' WHERE id = 7;\nCOMMIT;\n";
      expect(brief(await findingsFor(sql, options))).toEqual(['enum-value-ordering@4']);
    });

    it('knows PostgreSQL 17 allows it for an enum type created in the same transaction', async () => {
      const sql = "CREATE TYPE shipment_status AS ENUM ('packed');\nALTER TYPE shipment_status ADD VALUE 'delivered';\nCREATE TABLE shipments (id bigint PRIMARY KEY, status shipment_status DEFAULT 'delivered');\n";
      expect(await findingsFor(sql, { ...options, postgresVersion: 17 })).toEqual([]);
      expect(brief(await findingsFor(sql, { ...options, postgresVersion: 16 }))).toEqual(['enum-value-ordering@3']);
    });
  });

  it('before PostgreSQL 12, flags ADD VALUE itself in a transactional migration', async () => {
    const findings = await findingsFor("ALTER TYPE order_status ADD VALUE 'cancelled';\n", { ...options, postgresVersion: 11 });
    expect(brief(findings)).toEqual(['enum-value-ordering@1']);
    expect(findings[0]).toMatchObject({ severity: 'error', message: expect.stringContaining('cannot run inside a transaction block before PostgreSQL 12') });
    expect(await findingsFor("-- cairn:no-transaction\nALTER TYPE order_status ADD VALUE 'cancelled';\n", { ...options, postgresVersion: 11 })).toEqual([]);
  });
});
