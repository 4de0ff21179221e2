import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { foreignKeysPragma } from './foreign-keys-pragma.js';

const options = { dialect: 'sqlite' as const, previous: 'CREATE TABLE users (id INTEGER PRIMARY KEY);\n', rules: [foreignKeysPragma] };

describe('foreign-keys-pragma', () => {
  it('flags PRAGMA foreign_keys = OFF / ON in a migration Cairn runs in a transaction', async () => {
    const sql = '-- migrate:up\nPRAGMA foreign_keys = OFF;\nCREATE TABLE users_new (id INTEGER PRIMARY KEY);\nPRAGMA foreign_keys = 1;\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['foreign-keys-pragma@2', 'foreign-keys-pragma@4']);
    expect(findings[0]).toMatchObject({ severity: 'error', message: expect.stringContaining('PRAGMA foreign_keys = OFF does nothing inside the transaction Cairn runs this migration in') });
    expect(findings[0]!.help).toContain('PRAGMA defer_foreign_keys = on');
    expect(findings[0]!.help).toContain('-- cairn:no-transaction');
  });

  it('flags it after a BEGIN of the migration\'s own', async () => {
    const sql = '-- cairn:no-transaction\n-- migrate:up\nBEGIN;\nPRAGMA foreign_keys = off;\nCOMMIT;\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['foreign-keys-pragma@4']);
    expect(findings[0]!.message).toContain('after the BEGIN on line 3');
  });

  it('flags it on D1 wherever it is', async () => {
    const sql = '-- cairn:no-transaction\n-- migrate:up\nPRAGMA foreign_keys = false;\n';
    const findings = await findingsFor(sql, { ...options, d1: true });
    expect(brief(findings)).toEqual(['foreign-keys-pragma@3']);
    expect(findings[0]!.message).toContain('D1 always enforces foreign keys');
  });

  it('does not flag it in a no-transaction migration on plain SQLite, outside BEGIN … COMMIT', async () => {
    const sql = '-- cairn:no-transaction\n-- migrate:up\nPRAGMA foreign_keys = off;\nBEGIN;\nCREATE TABLE users_new (id INTEGER PRIMARY KEY);\nCOMMIT;\nPRAGMA foreign_keys = on;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag reading the pragma, or defer_foreign_keys', async () => {
    expect(await findingsFor('PRAGMA foreign_keys;\nPRAGMA defer_foreign_keys = on;\n', options)).toEqual([]);
    expect(await findingsFor('PRAGMA defer_foreign_keys = on;\n', { ...options, d1: true })).toEqual([]);
  });

  it('is right about SQLite: the pragma is a no-op inside a transaction, defer_foreign_keys is not', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = on');
    db.exec('BEGIN; PRAGMA foreign_keys = off; PRAGMA defer_foreign_keys = on;');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('defer_foreign_keys', { simple: true })).toBe(1);
    db.exec('COMMIT');
    db.close();
  });
});
