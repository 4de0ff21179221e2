import { describe, expect, it } from 'vitest';
import { nextBatchSize, parseBatchedStatement, parseBatchOptions, rangeSql } from './batch.js';

describe('parseBatchedStatement', () => {
  it('takes apart an UPDATE and restricts it to a key range, keeping its WHERE', () => {
    const parsed = parseBatchedStatement("UPDATE public.users AS u SET name = 'x' WHERE (u.name IS NULL OR u.id IN (SELECT id FROM banned WHERE x))");
    expect(parsed).toMatchObject({ kind: 'update', table: 'public.users', tableSql: 'public.users' });
    if (typeof parsed === 'string') throw new Error(parsed);
    expect(rangeSql(parsed, '"id"', '$1', '$2')).toBe("UPDATE public.users AS u SET name = 'x' WHERE ((u.name IS NULL OR u.id IN (SELECT id FROM banned WHERE x))) AND \"id\" > $1 AND \"id\" <= $2");
  });

  it('handles DELETE with RETURNING, quoted names, and no WHERE', () => {
    const parsed = parseBatchedStatement('DELETE FROM "Audit Log" WHERE at < now() RETURNING id');
    if (typeof parsed === 'string') throw new Error(parsed);
    expect(parsed.table).toBe('Audit Log');
    expect(rangeSql(parsed, 'rowid', null, '?')).toBe('DELETE FROM "Audit Log" WHERE (at < now()) AND rowid <= ? RETURNING id');
    const all = parseBatchedStatement("UPDATE t SET a = 'WHERE'");
    if (typeof all === 'string') throw new Error(all);
    expect(rangeSql(all, 'rowid', '?', '?')).toBe("UPDATE t SET a = 'WHERE' WHERE rowid > ? AND rowid <= ?");
  });

  it('refuses what cannot be batched, saying why', () => {
    expect(parseBatchedStatement('INSERT INTO t VALUES (1)')).toMatch(/not an UPDATE or DELETE/);
    expect(parseBatchedStatement('WITH x AS (SELECT 1) UPDATE t SET a = 1')).toMatch(/WITH … UPDATE/);
    expect(parseBatchedStatement('UPDATE t SET a = o.a FROM o WHERE o.id = t.id')).toMatch(/reads other tables/);
    expect(parseBatchedStatement('DELETE FROM t USING o WHERE o.id = t.id')).toMatch(/reads other tables/);
    expect(parseBatchedStatement('DELETE FROM t WHERE a = 1 LIMIT 5')).toMatch(/LIMIT/);
  });

  it('reads size and pause, and rejects anything else', () => {
    expect(parseBatchOptions({ args: 'size=500 pause=1.5s maxLockWait=200ms' })).toEqual({ size: 500, targetMs: null, pauseMs: 1500, maxLockWaitMs: 200 });
    expect(parseBatchOptions({ args: 'target=50ms' })).toEqual({ size: 1000, targetMs: 50, pauseMs: 0, maxLockWaitMs: null });
    expect(parseBatchOptions({ args: 'target=0' })).toMatch(/target must be a duration/);
    expect(parseBatchOptions({ args: '' })).toEqual({ size: 1000, targetMs: null, pauseMs: 0, maxLockWaitMs: null });
    expect(parseBatchOptions({ args: 'size=-1' })).toMatch(/positive whole number/);
    expect(parseBatchOptions({ args: 'rows=5' })).toMatch(/unknown batch option/);
  });
});

describe('nextBatchSize', () => {
  it('aims at the target from the rate the last batch achieved, at most doubling and at least quartering', () => {
    expect(nextBatchSize(1000, 1000, 10, 50)).toBe(2000); // 5000 aimed, doubled at most
    expect(nextBatchSize(1000, 1000, 40, 50)).toBe(1250);
    expect(nextBatchSize(1000, 1000, 1000, 50)).toBe(250); // 50 aimed, a quarter at least
    expect(nextBatchSize(1000, 300, 5, 50)).toBe(1000); // a short last batch: unchanged
    expect(nextBatchSize(1, 1, 1000, 50)).toBe(1);
  });
});
