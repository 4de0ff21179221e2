import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { constraintMissingNotValid } from './constraint-missing-not-valid.js';

const previous = `CREATE TABLE users (id bigint PRIMARY KEY, email text);
CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, total numeric(10,2), status text);
`;
const options = { dialect: 'postgres' as const, previous, rules: [constraintMissingNotValid] };

describe('constraint-missing-not-valid', () => {
  it('flags a FOREIGN KEY added to an existing table without NOT VALID, naming both tables', async () => {
    const sql = '-- migrate:up\nALTER TABLE orders\n  ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['constraint-missing-not-valid@3']);
    expect(findings[0]).toMatchObject({
      severity: 'error',
      column: 7,
      message: expect.stringContaining('FOREIGN KEY orders_user_fk on "orders"'),
      help: expect.stringContaining('VALIDATE CONSTRAINT orders_user_fk'),
    });
    expect(findings[0]!.message).toContain('"users"');
    expect(findings[0]!.help).toContain('NOT VALID');
  });

  it('flags a CHECK constraint, named or not, and each one in a multi-command ALTER', async () => {
    const sql = 'ALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0);\nALTER TABLE orders ADD CHECK (status <> \'\'), ADD FOREIGN KEY (user_id) REFERENCES users;\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['constraint-missing-not-valid@1', 'constraint-missing-not-valid@2', 'constraint-missing-not-valid@2']);
    expect(findings[0]!.message).toContain('CHECK constraint orders_total_positive on "orders" scans every existing row');
    expect(findings[0]!.message).toContain('ACCESS EXCLUSIVE');
    expect(findings[2]!.help).toContain('VALIDATE CONSTRAINT orders_user_id_fkey');
    expect(findings[1]!.help).toContain('ADD CONSTRAINT orders_check … NOT VALID');
  });

  it('flags a column added with a DEFAULT and REFERENCES or CHECK', async () => {
    const sql = "ALTER TABLE orders ADD COLUMN referrer_id bigint DEFAULT 1 REFERENCES users (id);\nALTER TABLE orders ADD COLUMN channel text DEFAULT 'web' CHECK (channel IN ('web', 'app'));\n";
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['constraint-missing-not-valid@1', 'constraint-missing-not-valid@2']);
    expect(findings[0]).toMatchObject({ message: expect.stringContaining('column "referrer_id" is added to "orders" with a DEFAULT and a REFERENCES'), help: expect.stringContaining('FOREIGN KEY (referrer_id) REFERENCES users (id) NOT VALID') });
  });

  it('flags VALIDATE CONSTRAINT in the same transaction that added the constraint NOT VALID', async () => {
    const sql = 'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['constraint-missing-not-valid@2']);
    expect(findings[0]).toMatchObject({ column: 20, message: expect.stringContaining('same transaction'), help: expect.stringContaining('separate, later migration') });
  });

  it('accepts NOT VALID, and VALIDATE CONSTRAINT on its own or outside a transaction', async () => {
    expect(await findingsFor('ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders ADD CONSTRAINT orders_total_positive CHECK (total >= 0) NOT VALID;\n', options)).toEqual([]);
    expect(await findingsFor('ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;\n', options)).toEqual([]);
    const noTransaction = '-- cairn:no-transaction\n-- migrate:up\nALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;\n';
    expect(await findingsFor(noTransaction, options)).toEqual([]);
  });

  it('accepts a column added with REFERENCES but no default (all NULL, nothing to check)', async () => {
    const sql = 'ALTER TABLE orders ADD COLUMN referrer_id bigint REFERENCES users (id);\nALTER TABLE orders ADD COLUMN coupon text DEFAULT NULL CHECK (coupon <> \'\');\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('accepts constraints on a table created earlier in the same migration, and other constraint kinds', async () => {
    const sql = 'CREATE TABLE payments (id bigint PRIMARY KEY, order_id bigint, amount numeric);\nALTER TABLE payments ADD CONSTRAINT payments_order_fk FOREIGN KEY (order_id) REFERENCES orders (id);\nALTER TABLE payments ADD CHECK (amount > 0);\nALTER TABLE orders ADD CONSTRAINT orders_status_unique UNIQUE USING INDEX orders_status_idx;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });
});
