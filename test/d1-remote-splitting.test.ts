import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startD1ApiServer, type D1ApiServer } from './support/d1-api-server.js';
import { tempDir, writeMigrations } from './support/databases.js';
import { killLeftovers, startCli } from './support/processes.js';

/**
 * D1's /query endpoint splits a `sql` string into statements itself, and gets
 * some wrong: a trigger whose body holds `CASE … END`, and CRLF line endings
 * (cloudflare/workers-sdk#4727, #14991). Cairn never hands it a script: it
 * splits the file with its own SQLite-aware splitter and sends one statement
 * per batch entry, so D1 never splits. Both shapes, applied remotely:
 */
const TOKEN = 'cf-test-token-splitting';
let server: D1ApiServer;
beforeEach(async () => {
  server = await startD1ApiServer({ token: TOKEN });
  Object.assign(process.env, { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_API_BASE_URL: server.base });
});
afterEach(async () => {
  await killLeftovers();
  await server.close();
  for (const name of ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_API_BASE_URL']) delete process.env[name];
});

const TRIGGER = [
  'CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER NOT NULL, size TEXT);',
  'CREATE TRIGGER orders_size AFTER INSERT ON orders',
  'BEGIN',
  "  UPDATE orders SET size = CASE WHEN NEW.total > 100 THEN 'large' WHEN NEW.total > 10 THEN 'medium' ELSE 'small' END WHERE id = NEW.id;",
  "  UPDATE orders SET size = CASE NEW.size WHEN 'large' THEN size || '!' ELSE size END WHERE id = NEW.id;",
  'END;',
  'INSERT INTO orders (id, total) VALUES (1, 500), (2, 50), (3, 5);',
  '',
];

describe('remote D1: statements D1 would split wrongly', () => {
  it('applies a CRLF file with a trigger whose body holds CASE … END, statement by statement', { timeout: 60_000 }, async () => {
    const root = tempDir('cairn-split-');
    const dir = writeMigrations(root, {});
    writeFileSync(join(dir, '0001_orders.sql'), TRIGGER.join('\r\n'));
    const url = `d1://${server.accountId}/${server.databaseId}`;
    const up = await startCli(['up', '--url', url, '--dir', dir], root).exited;
    expect(up.code, up.stderr).toBe(0);
    expect(await server.query('SELECT id, size FROM orders ORDER BY id')).toEqual([
      { id: 1, size: 'large' },
      { id: 2, size: 'medium' },
      { id: 3, size: 'small' },
    ]);
    const [trigger] = await server.query<{ sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'orders_size'");
    expect(trigger!.sql).toContain("ELSE 'small' END WHERE id = NEW.id;");
    expect(trigger!.sql.trimEnd()).toMatch(/END$/);
    // The same file checked out with LF has the same checksum: nothing to apply, nothing "changed".
    writeFileSync(join(dir, '0001_orders.sql'), TRIGGER.join('\n'));
    const status = await startCli(['status', '--url', url, '--dir', dir, '--json'], root).exited;
    expect(JSON.parse(status.stdout).migrations.map((m: { state: string }) => m.state)).toEqual(['applied']);
  });
});
