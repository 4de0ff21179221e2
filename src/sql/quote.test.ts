import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { quoteIdentifier, quoteIfNeeded, quoteLiteral } from './quote.js';

describe('quoting', () => {
  it('round-trips awkward names and strings through SQLite itself', () => {
    const db = new Database(':memory:');
    const name = 'we"ird table';
    db.exec(`CREATE TABLE ${quoteIdentifier(name)} (${quoteIfNeeded('Note')} TEXT, ${quoteIfNeeded('id')} INTEGER)`);
    db.exec(`INSERT INTO ${quoteIdentifier(name)} VALUES (${quoteLiteral("it's")}, 1)`);
    expect(db.prepare(`SELECT Note AS note FROM ${quoteIdentifier(name)}`).get()).toEqual({ note: "it's" });
    expect(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().get()).toBe(name);
  });

  it('leaves plain lower-case names bare and quotes the rest', () => {
    expect(quoteIfNeeded('user_id')).toBe('user_id');
    expect(quoteIfNeeded('UserId')).toBe('"UserId"');
    expect(quoteIfNeeded('2fa')).toBe('"2fa"');
  });
});
