import { describe, expect, it } from 'vitest';
import { carriedIndexes, replaceIdentifier } from './carry.js';
import type { TableFacts } from './types.js';

const facts = (dialect: 'postgres' | 'sqlite', indexes: { name: string; sql: string }[]): TableFacts => ({
  dialect,
  table: 'orders',
  columns: [],
  key: ['id'],
  defaults: {},
  indexes,
  q: (name) => `"${name.replace(/"/g, '""')}"`,
});

describe('replaceIdentifier', () => {
  it('replaces the column where it is a bare or quoted name, not in strings, other names or after a dot', () => {
    expect(replaceIdentifier(`CAST(amount AS integer) * 100`, 'amount', `('0')`)).toBe(`CAST(('0') AS integer) * 100`);
    expect(replaceIdentifier(`lower("Amount") || 'amount' || amounts || t.amount`, 'Amount', 'x')).toBe(`lower(x) || 'amount' || amounts || t.amount`);
    expect(replaceIdentifier(`AMOUNT + 1`, 'amount', 'x')).toBe('x + 1');
  });
});

describe('carriedIndexes', () => {
  it('rewrites the indexes that read the column for the new one, and leaves the others', () => {
    const carried = carriedIndexes(
      facts('postgres', [
        { name: 'orders_amount_idx', sql: 'CREATE INDEX orders_amount_idx ON public.orders USING btree (amount)' },
        { name: 'orders_paid', sql: "CREATE UNIQUE INDEX orders_paid ON public.orders USING btree (note) WHERE (amount > '0'::text)" },
        { name: 'orders_note_idx', sql: 'CREATE INDEX orders_note_idx ON public.orders USING btree (note)' },
      ]),
      'amount',
      'amount_new',
    );
    expect(carried.map((c) => [c.newName, c.newSql])).toEqual([
      ['orders_amount_new_idx', 'CREATE INDEX "orders_amount_new_idx" ON public.orders USING btree ("amount_new")'],
      ['orders_paid_amount_new', `CREATE UNIQUE INDEX "orders_paid_amount_new" ON public.orders USING btree (note) WHERE ("amount_new" > '0'::text)`],
    ]);
  });
});
