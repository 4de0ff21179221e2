import { describe, expect, it } from 'vitest';
import { collapseWhitespace, diffSnapshots, formatDifference, SnapshotBuilder, snapshotOf } from './snapshot.js';

describe('snapshotOf', () => {
  it('sorts keys, so the same objects give the same JSON whatever order they came in', () => {
    const one = snapshotOf({ 'table users': 'table', 'column users.id': 'integer', 'index b': 'x', 'index a': 'y' });
    const two = snapshotOf({ 'index a': 'y', 'index b': 'x', 'column users.id': 'integer', 'table users': 'table' });
    expect(Object.keys(one.objects)).toEqual(['column users.id', 'index a', 'index b', 'table users']);
    expect(JSON.stringify(one)).toBe(JSON.stringify(two));
  });

  it('sorts by code unit, not locale (upper case before lower case)', () => {
    expect(Object.keys(snapshotOf({ 'table b': '', 'table B': '', 'table a': '' }).objects)).toEqual(['table B', 'table a', 'table b']);
  });

  it('is frozen', () => {
    const snapshot = snapshotOf({ 'table users': 'table' });
    expect(Object.isFrozen(snapshot.objects)).toBe(true);
  });
});

describe('diffSnapshots', () => {
  const before = snapshotOf({
    'column users.email': 'text not null',
    'columns users': 'id, email',
    'index users_email_idx': 'CREATE UNIQUE INDEX users_email_idx ON public.users USING btree (email)',
    'table users': 'table',
  });

  it('is empty for equal snapshots', () => {
    expect(diffSnapshots(before, snapshotOf({ ...before.objects }))).toEqual([]);
  });

  it('reports added, removed and changed objects, sorted by key', () => {
    const after = snapshotOf({
      'column users.email': 'text',
      'column users.phone': 'text',
      'columns users': 'id, email, phone',
      'table users': 'table',
    });
    expect(diffSnapshots(before, after)).toEqual([
      { key: 'column users.email', kind: 'changed', before: 'text not null', after: 'text' },
      { key: 'column users.phone', kind: 'added', before: null, after: 'text' },
      { key: 'columns users', kind: 'changed', before: 'id, email', after: 'id, email, phone' },
      { key: 'index users_email_idx', kind: 'removed', before: 'CREATE UNIQUE INDEX users_email_idx ON public.users USING btree (email)', after: null },
    ]);
  });

  it('tells an empty description from a missing object', () => {
    expect(diffSnapshots(snapshotOf({}), snapshotOf({ 'schema app': '' }))).toEqual([{ key: 'schema app', kind: 'added', before: null, after: '' }]);
  });

  it('does not mistake inherited properties for objects', () => {
    expect(diffSnapshots(snapshotOf({}), snapshotOf({ toString: 'x' }))).toEqual([{ key: 'toString', kind: 'added', before: null, after: 'x' }]);
    const odd = snapshotOf(Object.fromEntries([['__proto__', 'table']]));
    expect(Object.keys(odd.objects)).toEqual(['__proto__']);
    expect(diffSnapshots(snapshotOf({}), odd)).toEqual([{ key: '__proto__', kind: 'added', before: null, after: 'table' }]);
  });
});

describe('formatDifference', () => {
  it('writes one line per difference: + added, - removed, ~ before → after', () => {
    expect(formatDifference({ key: 'column users.phone', kind: 'added', before: null, after: 'text' })).toBe('+ column users.phone: text');
    expect(formatDifference({ key: 'index users_email_idx', kind: 'removed', before: 'CREATE UNIQUE INDEX users_email_idx ON public.users USING btree (email)', after: null })).toBe(
      '- index users_email_idx: CREATE UNIQUE INDEX users_email_idx ON public.users USING btree (email)',
    );
    expect(formatDifference({ key: 'column users.email', kind: 'changed', before: 'text not null', after: 'text' })).toBe('~ column users.email: text not null → text');
  });
});

describe('SnapshotBuilder', () => {
  it('keeps both descriptions of a key met twice, in a fixed order', () => {
    const one = new SnapshotBuilder();
    one.add('unique t (a)', 'unique (a) b');
    one.add('unique t (a)', 'unique (a) a');
    const two = new SnapshotBuilder();
    two.add('unique t (a)', 'unique (a) a');
    two.add('unique t (a)', 'unique (a) b');
    expect(one.build()).toEqual(two.build());
    expect(one.build().objects['unique t (a)']).toBe('unique (a) a; unique (a) b');
  });
});

describe('collapseWhitespace', () => {
  it('collapses layout but not the inside of strings and quoted names', () => {
    expect(collapseWhitespace(" SELECT users.id,\n    users.email\n   FROM users\n  WHERE users.status = 'a  b'::text;")).toBe(
      "SELECT users.id, users.email FROM users WHERE users.status = 'a  b'::text",
    );
    expect(collapseWhitespace('SELECT "two  spaces"  FROM t')).toBe('SELECT "two  spaces" FROM t');
    expect(collapseWhitespace("SELECT 'it''s   here',   E'a\\'  b'")).toBe("SELECT 'it''s   here', E'a\\'  b'");
  });
});
