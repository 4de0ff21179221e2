import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { identifierTooLong } from './identifier-too-long.js';

const options = { dialect: 'postgres' as const, previous: 'CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);\n', rules: [identifierTooLong] };

// 64 and 63 bytes.
const long64 = 'customer_notification_preferences_by_channel_and_locale_override';
const exactly63 = 'customer_notification_preferences_by_channel_and_locale_overrid';

describe('identifier-too-long', () => {
  it('has fixtures of the intended length', () => {
    expect(Buffer.byteLength(long64)).toBe(64);
    expect(Buffer.byteLength(exactly63)).toBe(63);
  });

  it('flags a table name over 63 bytes, at the name, with the truncated name', async () => {
    const findings = await findingsFor(`-- migrate:up\nCREATE TABLE ${long64} (\n  id bigint PRIMARY KEY\n);\n`, options);
    expect(brief(findings)).toEqual(['identifier-too-long@2']);
    expect(findings[0]).toMatchObject({ severity: 'error', column: 14, message: expect.stringContaining(`table name "${long64}" is 64 bytes`) });
    expect(findings[0]!.message).toContain(`("${exactly63}")`);
    expect(findings[0]!.help).toContain('63 bytes or fewer');
  });

  it('flags long column, constraint, index, rename target and trigger names', async () => {
    const column = 'preferred_delivery_window_start_time_in_customer_local_time_zone';
    const constraint = 'order_shipments_preferred_delivery_window_start_time_is_positive';
    const index = 'order_shipments_preferred_delivery_window_start_time_in_local_tz_idx';
    const renamed = 'preferred_delivery_window_start_time_in_the_customers_own_time_zone';
    const trigger = 'order_shipments_keep_preferred_delivery_window_start_time_in_sync';
    const sql = [
      `CREATE TABLE order_shipments (id bigint PRIMARY KEY, ${column} integer CONSTRAINT ${constraint} CHECK (${column} > 0));`,
      `CREATE INDEX ${index} ON order_shipments (${column});`,
      `ALTER TABLE orders RENAME COLUMN customer_id TO ${renamed};`,
      `CREATE TRIGGER ${trigger} BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();`,
      '',
    ].join('\n');
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['identifier-too-long@1', 'identifier-too-long@1', 'identifier-too-long@2', 'identifier-too-long@3', 'identifier-too-long@4']);
    expect(findings.map((f) => f.message.split(' "')[0])).toEqual(['column name', 'constraint name', 'index name', 'new name', 'trigger name']);
  });

  it('measures bytes, not characters', async () => {
    // 32 characters, 64 bytes in UTF-8.
    const accented = 'é'.repeat(32);
    const findings = await findingsFor(`ALTER TABLE orders ADD COLUMN "${accented}" text;\n`, options);
    expect(brief(findings)).toEqual(['identifier-too-long@1']);
    expect(findings[0]!.message).toContain('is 64 bytes');
    expect(findings[0]!.message).toContain(`("${'é'.repeat(31)}")`);
  });

  it('flags an enum label over 63 bytes, which PostgreSQL rejects', async () => {
    const label = 'awaiting_manual_review_by_the_fraud_prevention_team_before_shipping';
    const findings = await findingsFor(`CREATE TYPE order_status AS ENUM ('pending', '${label}');\n`, options);
    expect(brief(findings)).toEqual(['identifier-too-long@1']);
    expect(findings[0]!.message).toContain('statement fails');
  });

  it('does not flag names of exactly 63 bytes, long string constants, comments or references', async () => {
    const sql = [
      `CREATE TABLE ${exactly63} (id bigint PRIMARY KEY);`,
      `-- ${long64} is too long, so we shortened it`,
      `INSERT INTO ${exactly63} (id) SELECT length('${long64}');`,
      `COMMENT ON TABLE orders IS $$see ${long64}$$;`,
      `SELECT * FROM orders AS ${long64};`,
      '',
    ].join('\n');
    expect(await findingsFor(sql, options)).toEqual([]);
  });
});
