import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCairn } from '../src/cairn.js';
import type { CairnEvent } from '../src/core/events.js';
import { createD1Database, tempDir, writeMigrations } from './support/databases.js';

/**
 * D1 refuses a statement over 100,000 bytes (SQLite's limit as D1 sets it),
 * which a local SQLite file accepts. A multi-row INSERT past it is sent as
 * several INSERTs in the migration's one batch; anything else past it is
 * refused before anything runs, naming file and line.
 */
const ROW = `('${'x'.repeat(990)}')`;
const bigInsert = (rows: number, tail = '') => `INSERT INTO notes (body) VALUES ${Array.from({ length: rows }, () => ROW).join(', ')}${tail};\n`;
const NOTES = 'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n';

describe('D1 statement limits (local D1, miniflare)', () => {
  it('a 250 KB multi-row INSERT, which D1 refuses whole, is applied as INSERTs under the limit in one batch', { timeout: 60_000 }, async () => {
    const db = await createD1Database();
    try {
      const root = tempDir();
      writeMigrations(root, { '0001_notes.sql': NOTES, '0002_seed_notes.sql': bigInsert(250) });
      // D1 itself: the statement as written is refused.
      await expect(db.query(NOTES.replace('notes', 'probe'))).resolves.toEqual([]);
      await expect(db.query(bigInsert(250).replace('notes', 'probe'))).rejects.toThrow(/too big|TOOBIG|too long|SQLITE_TOOBIG/i);
      await db.query('DROP TABLE probe');

      const events: CairnEvent[] = [];
      const result = await createCairn({ url: db.url, cwd: root, envVars: {}, onEvent: (e) => events.push(e) }).up();
      expect(result.success, result.errors[0]?.message).toBe(true);
      expect(await db.query('SELECT count(*) AS n FROM notes')).toEqual([{ n: 250 }]);
      const notices = events.flatMap((e) => (e.type === 'notice' ? [e.message] : []));
      expect(notices).toContain(`${join('migrations', '0002_seed_notes.sql')}:1: an INSERT of ${Buffer.byteLength(bigInsert(250).trim().replace(/;$/, '')).toLocaleString('en')} bytes sent as 3 INSERTs of at most 100,000 bytes, in the same batch`);
    } finally {
      await db.drop();
    }
  });

  it('a statement with more than 100 bound parameters is refused by name before it reaches D1', { timeout: 60_000 }, async () => {
    const db = await createD1Database();
    try {
      const { openDriver } = await import('../src/drivers/index.js');
      const { parseDatabaseUrl } = await import('../src/config/url.js');
      const driver = await openDriver(parseDatabaseUrl(db.url, tempDir()), { create: true });
      try {
        const params = Array.from({ length: 101 }, (_, i) => i);
        await expect(driver.query({ sql: `SELECT ${params.map(() => '?').join(' + ')} AS total`, params })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('a statement with 101 bound parameters: D1 allows at most 100 per statement') });
        expect(await driver.query({ sql: `SELECT ${params.slice(1).map(() => '?').join(' + ')} AS total`, params: params.slice(1) })).toEqual([{ total: 5050 }]);
      } finally {
        await driver.close();
      }
    } finally {
      await db.drop();
    }
  });

  it('a statement over the limit that cannot be split is refused with file and line; nothing is applied', { timeout: 60_000 }, async () => {
    const db = await createD1Database();
    try {
      const root = tempDir();
      writeMigrations(root, { '0001_notes.sql': NOTES, '0002_seed_notes.sql': `-- two statements\nSELECT 1;\n${bigInsert(120, ' ON CONFLICT DO NOTHING')}` });
      const cairn = createCairn({ url: db.url, cwd: root, envVars: {} });
      const refused = cairn.up({ unsafe: true });
      await expect(refused).rejects.toMatchObject({
        code: 'SOURCE',
        message: expect.stringContaining(`${join('migrations', '0002_seed_notes.sql')}:3: this statement is 119,`),
      });
      await expect(refused).rejects.toMatchObject({ message: expect.stringContaining('D1 refuses statements over 100,000 bytes'), hint: expect.stringContaining('split it') });
      expect((await cairn.status()).migrations.map((m) => m.state)).toEqual(['pending', 'pending']);
    } finally {
      await db.drop();
    }
  });
});
