import { describe, expect, it } from 'vitest';
import { lintFiles } from '../../test/support/lint.js';
import type { SavedTable } from '../drivers/types.js';
import { planTable } from './backup.js';

const previous = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, legacy TEXT);\nCREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER);\nCREATE TABLE logs (line TEXT);\n';

async function atRisk(sql: string, dialect: 'sqlite' | 'postgres'): Promise<readonly string[]> {
  const report = await lintFiles({ '0001_previous.sql': previous, '0002_change.sql': sql }, { dialect });
  return report.files[1]!.tablesAtRisk;
}

describe('tablesAtRisk (on the lint result)', () => {
  for (const dialect of ['sqlite', 'postgres'] as const) {
    it(`names dropped tables, tables losing a column, and deleted or updated rows, once each [${dialect}]`, async () => {
      const sql = 'DROP TABLE logs;\nALTER TABLE users DROP COLUMN legacy;\nDELETE FROM orders WHERE total = 0;\nUPDATE users SET email = lower(email);\nDELETE FROM orders;\n';
      expect(await atRisk(sql, dialect)).toEqual(['logs', 'users', 'orders']);
    });

    it(`leaves out tables created earlier in the same file, and additive changes [${dialect}]`, async () => {
      const sql = 'CREATE TABLE tmp (id INTEGER);\nINSERT INTO tmp VALUES (1);\nDELETE FROM tmp;\nDROP TABLE tmp;\nALTER TABLE users ADD COLUMN phone TEXT;\nINSERT INTO orders (total) VALUES (1);\n';
      expect(await atRisk(sql, dialect)).toEqual([]);
    });
  }

  it('sees a SQLite table rebuild as the old table at risk', async () => {
    const rebuild = 'CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\nINSERT INTO users_new (id, email) SELECT id, email FROM users;\nDROP TABLE users;\nALTER TABLE users_new RENAME TO users;\n';
    expect(await atRisk(rebuild, 'sqlite')).toEqual(['users']);
  });

  it('names truncated tables on PostgreSQL', async () => {
    expect(await atRisk('TRUNCATE orders, logs;\n', 'postgres')).toEqual(['orders', 'logs']);
  });

  it('keeps the schema a PostgreSQL migration names, so the backup reads that table and not a namesake on the search_path', async () => {
    const sql = 'DELETE FROM billing.invoices;\nDROP TABLE archive.logs, orders;\nTRUNCATE audit.events;\nALTER TABLE crm.users DROP COLUMN legacy;\n';
    expect(await atRisk(sql, 'postgres')).toEqual(['billing.invoices', 'archive.logs', 'orders', 'audit.events', 'crm.users']);
  });
});

describe('planTable (restore decisions)', () => {
  const saved: SavedTable = {
    table: 'users',
    rows: 3,
    columns: [
      { name: 'id', type: 'INTEGER' },
      { name: 'email', type: 'TEXT' },
      { name: 'legacy', type: 'TEXT' },
    ],
    key: ['id'],
    definition: ['CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, legacy TEXT)'],
    file: 'data.sqlite',
  };

  it('recreates a table that is gone', () => {
    const plan = planTable(saved, null, '0002');
    expect(plan.action).toEqual({ kind: 'recreate' });
    expect(plan.message({ inserted: 3, filled: {} })).toBe('users: was gone; recreated from the saved definition with 3 rows.');
  });

  it('inserts the missing rows into a table with the same columns and a key', () => {
    const plan = planTable(saved, { columns: [...saved.columns].reverse(), key: ['id'] }, '0002');
    expect(plan.action).toEqual({ kind: 'missing-rows', key: ['id'], fill: ['email', 'legacy'], overwrite: false });
    expect(plan.message({ inserted: 1, filled: {} })).toMatch(/^users: 1 row that were missing inserted; 2 rows already there kept as they are now/);
  });

  it('fills the columns that are NULL now in rows with the same key, and says which and how many', () => {
    const plan = planTable(saved, { columns: saved.columns, key: ['id'] }, '0002');
    expect(plan.message({ inserted: 0, filled: { email: 0, legacy: 3 } })).toBe(
      'users: 0 rows that were missing inserted; filled from the backup where they were NULL: legacy in 3 rows; other values of the 3 rows already there kept as they are now (`--overwrite` replaces them with the saved ones).',
    );
    const overwrite = planTable(saved, { columns: saved.columns, key: ['id'] }, '0002', { overwrite: true });
    expect(overwrite.action).toMatchObject({ overwrite: true });
    expect(overwrite.message({ inserted: 0, filled: { email: 1, legacy: 0 } })).toBe('users: 0 rows that were missing inserted; set from the backup where they differed: email in 1 row; 3 rows already there now hold the saved values.');
  });

  it('uses a side table when the columns changed, and shows how to copy a dropped column back', () => {
    const plan = planTable(saved, { columns: saved.columns.slice(0, 2), key: ['id'] }, '0002');
    expect(plan.action).toEqual({ kind: 'side-table', into: 'users_restored_0002' });
    const message = plan.message({ inserted: 3, filled: {} });
    expect(message).toContain('its columns changed since the backup');
    expect(message).toContain('ALTER TABLE users ADD COLUMN legacy TEXT;');
    expect(message).toContain('UPDATE users SET legacy = (SELECT r.legacy FROM users_restored_0002 r WHERE r.id = users.id);');
  });

  it('uses a side table when the table has no key, or when asked', () => {
    expect(planTable(saved, { columns: saved.columns, key: [] }, '0002').action).toEqual({ kind: 'side-table', into: 'users_restored_0002' });
    expect(planTable(saved, { columns: saved.columns, key: ['id'] }, '0002', { intoSideTable: true }).action).toEqual({ kind: 'side-table', into: 'users_restored_0002' });
  });
});
