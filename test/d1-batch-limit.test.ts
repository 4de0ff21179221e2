import { afterEach, describe, expect, it } from 'vitest';
import { tempDir, writeMigrations } from './support/databases.js';
import { startD1ApiServer, type D1ApiServer } from './support/d1-api-server.js';
import { killLeftovers, startCli } from './support/processes.js';

/**
 * Remote D1 stops a statement that runs past 30 s. The test server scales that
 * limit down to a row count (statementRowLimit): a plain UPDATE of the whole
 * table is past it and fails, leaving nothing; the same UPDATE under
 * `-- cairn:batch` runs one key range per D1 batch, each under the limit, and
 * completes, every row updated once.
 */

const ROWS = 6000;
const LIMIT = 1000;

const CREATE = `-- migrate:up
CREATE TABLE items (id integer PRIMARY KEY, counter integer NOT NULL DEFAULT 0);
INSERT INTO items (id) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS}) SELECT x FROM c;
-- migrate:down
DROP TABLE items;
`;
const update = (directive: string) => `-- migrate:up
${directive}UPDATE items SET counter = counter + 1 WHERE counter >= 0;
-- migrate:down
SELECT 1;
`;

describe('a D1 table too large for one statement', () => {
  let server: D1ApiServer | undefined;
  afterEach(async () => {
    await killLeftovers();
    await server?.close();
    for (const name of ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_API_BASE_URL']) delete process.env[name];
  });

  it('a plain UPDATE runs past the limit and fails whole; under -- cairn:batch it completes, one range per batch', { timeout: 120_000 }, async () => {
    server = await startD1ApiServer({ token: 'tok-limit', statementRowLimit: LIMIT });
    Object.assign(process.env, { CLOUDFLARE_API_TOKEN: 'tok-limit', CLOUDFLARE_API_BASE_URL: server.base });
    const url = `d1://${server.accountId}/${server.databaseId}`;

    const plainRoot = tempDir();
    const plainDir = writeMigrations(plainRoot, { '0001_items.sql': CREATE, '0002_backfill.sql': update('') });
    const plain = await startCli(['up', '--url', url, '--dir', plainDir, '--no-backup'], plainRoot).exited;
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/0002_backfill[\s\S]*exceeded timeout/);
    expect(await server.query('SELECT count(*) AS n FROM items WHERE counter <> 0')).toEqual([{ n: 0 }]);
    expect(await server.query('SELECT version FROM cairn_migrations ORDER BY version')).toEqual([{ version: '0001' }]);

    const batchedRoot = tempDir();
    const batchedDir = writeMigrations(batchedRoot, { '0001_items.sql': CREATE, '0002_backfill.sql': update(`-- cairn:batch size=${LIMIT / 2}\n`) });
    const batched = await startCli(['up', '--url', url, '--dir', batchedDir, '--no-backup'], batchedRoot).exited;
    expect(batched.code, batched.stderr).toBe(0);
    expect(await server.query('SELECT counter, count(*) AS n FROM items GROUP BY counter')).toEqual([{ counter: 1, n: ROWS }]);
    expect(await server.query("SELECT state FROM cairn_migrations WHERE version = '0002'")).toEqual([{ state: 'applied' }]);
  });
});
