import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localD1File, openLocalD1 } from '../src/drivers/d1/local.js';
import { openRemoteD1 } from '../src/drivers/d1/remote.js';
import type { D1Transport } from '../src/drivers/d1/transport.js';
import { createCairn, type CairnEvent } from '../src/index.js';
import { startD1ApiServer } from './support/d1-api-server.js';
import { createD1Database, tempDir, writeMigrations, type TestDatabase } from './support/databases.js';

/**
 * Backups on D1, local (miniflare) and remote (the HTTP API, against the
 * stand-in server): every awkward value must come back exactly, compared by a
 * hash over all rows read straight from D1's SQLite file with better-sqlite3
 * (safe integers, storage classes included), not through D1's JSON.
 */
const SCHEMA = `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, data BLOB, big INTEGER, price REAL, at TEXT, note);
CREATE INDEX items_name ON items (name);
CREATE TABLE tags (label TEXT PRIMARY KEY, weight REAL, raw BLOB) WITHOUT ROWID;`;

// Integers as literals (exact); reals as parameters: D1 reads decimal literals inexactly.
const AWKWARD = `INSERT INTO items (id, name, data, big, price, at, note) VALUES
  (1, 'plain', x'00ff10', 9007199254740993, ?, '2024-01-02 03:04:05.123456', 7),
  (2, 'héllo wörld 🎉 中文 👩‍👩‍👧', x'', 9223372036854775807, ?, '2024-02-29T23:59:59Z', '007'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, 'tab	and
newline \\ backslash '' quote; semicolon', randomblob(64), -9223372036854775808, 9e999, '', 1.5),
  (5, '', x'deadbeef', 42, -9e999, 'x', x'01'),
  (6, 'untyped big', zeroblob(3), -9007199254740993, ?, '1970-01-01T00:00:00.000Z', 9223372036854775807)`;

/** Doubles from random bits (finite ones), plus edge cases: the values D1's own SQL literal reading gets wrong. */
function awkwardDoubles(count: number): number[] {
  const values = [0.1, 1 / 3, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 123456789.123456789, 2 ** 53 + 2, 1e300];
  const bytes = Buffer.alloc(8);
  while (values.length < count) {
    for (let i = 0; i < 8; i++) bytes[i] = Math.floor(Math.random() * 256);
    const value = bytes.readDoubleLE(0);
    if (Number.isFinite(value)) values.push(value);
  }
  return values;
}

/** Fills the tables: awkward rows, 300 random doubles, 25,000 plain rows (several pages), a few 600 KB blobs (pages cut by size), values near 2 MB. */
async function fill(transport: D1Transport): Promise<void> {
  await transport.batch([{ sql: AWKWARD, params: [0.1, 1e300, 2 ** -1074] }]);
  const doubles = awkwardDoubles(300);
  for (let i = 0; i < doubles.length; i += 45) {
    const part = doubles.slice(i, i + 45);
    await transport.batch([{ sql: `INSERT INTO items (id, price, note) VALUES ${part.map((_, j) => `(${100 + i + j}, ?, ?)`).join(', ')}`, params: part.flatMap((v) => [v, v]) }]);
  }
  await transport.batch([
    { sql: "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 25000) INSERT INTO items (id, name, big, price, at) SELECT 1000 + i, 'row ' || i, i * 3037000493, i / 7.0, datetime(i * 3600, 'unixepoch') FROM c" },
    { sql: 'WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 8) INSERT INTO items (id, name, data) SELECT 900000 + i, \'big blob\', randomblob(600000) FROM c' },
    { sql: "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 12000) INSERT INTO tags (label, weight, raw) SELECT printf('tag %05d ✓', i), i / 3.0, randomblob(i % 5) FROM c" },
    // Values near D1's 2 MB limit, which JSON cannot carry whole (hex doubles a blob): read in pieces.
    { sql: "INSERT INTO items (id, name) VALUES (950001, replace(hex(zeroblob(300000)), '00', 'é🎉'))" },
    { sql: 'INSERT INTO items (id, data) VALUES (950002, randomblob(1900000))' },
    { sql: "INSERT INTO tags (label, raw) VALUES ('huge ✓', randomblob(1200000))" },
  ]);
}

/** A hash over every row of `table` in `order`, storage classes included, read from a SQLite file with safe integers. */
function checksum(file: string, table: string, order = 'id'): string {
  const sqlite = new Database(file, { readonly: true, fileMustExist: true });
  try {
    sqlite.defaultSafeIntegers(true);
    const columns = (sqlite.prepare(`SELECT name FROM pragma_table_info('${table}')`).all() as { name: string }[]).map((c) => c.name);
    const rows = sqlite.prepare(`SELECT ${columns.map((c) => `typeof(${c}) AS "t_${c}", ${c}`).join(', ')} FROM ${table} ORDER BY ${order}`).all();
    const text = JSON.stringify(rows, (_key, value: unknown) =>
      typeof value === 'bigint' ? `${value}n` : value instanceof Uint8Array ? Buffer.from(value).toString('hex') : typeof value === 'number' && !Number.isFinite(value) ? String(value) : value,
    );
    return `${createHash('sha256').update(text).digest('hex')}:${rows.length}`;
  } finally {
    sqlite.close();
  }
}

const ALLOW = '-- cairn:allow drop-table tested: backed up by cairn\n-- cairn:allow drop-column tested: backed up by cairn\n-- cairn:allow unbatched-data-change tested\n-- cairn:allow sqlite-drop-column-blocked tested\n';

interface Project {
  readonly root: string;
  readonly events: CairnEvent[];
  cairn(): ReturnType<typeof createCairn>;
}

function project(url: string, change: string): Project {
  const root = tempDir('cairn-d1-backup-');
  const dir = writeMigrations(root, { '0001_create_items.sql': `-- migrate:up\n${SCHEMA}\n`, '0002_change_items.sql': `${ALLOW}-- migrate:up\n${change}\n` });
  const events: CairnEvent[] = [];
  return { root, events, cairn: () => createCairn({ url, dir, cwd: root, envVars: {}, onEvent: (event) => events.push(event) }) };
}

const notices = (events: readonly CairnEvent[]) => events.flatMap((e) => (e.type === 'notice' ? [e.message] : []));

describe('backups on a local D1', () => {
  let db: TestDatabase;
  let transport: D1Transport;
  let file: string;
  beforeEach(async () => {
    db = await createD1Database();
    const url = new URL(db.url);
    const id = url.pathname.slice(1);
    const persist = url.searchParams.get('persist')!;
    file = localD1File(persist, id);
    transport = await openLocalD1(id, persist, 'test', { create: true });
  });
  afterEach(async () => {
    await transport.close();
    await db.drop();
  });

  /** 0001 applied and filled; returns the project. */
  async function prepared(change: string): Promise<Project> {
    const p = project(db.url, change);
    await p.cairn().up({ to: '0001' });
    await fill(transport);
    return p;
  }

  it('saves dropped tables exactly (no --no-backup needed), and restore recreates them identically', { timeout: 120_000 }, async () => {
    const p = await prepared('DROP TABLE items;\nDROP TABLE tags;');
    const items = checksum(file, 'items');
    const tags = checksum(file, 'tags', 'label');

    const result = await p.cairn().up();
    expect(result.success).toBe(true);
    expect(notices(p.events).join('\n')).toMatch(/backed up items \(25316 rows\), tags \(12001 rows\) to \.cairn\/backups\/0002_change_items-\d{8}T\d{6}Z \(.+\) before 0002_change_items/);
    const [backup] = await p.cairn().backups();
    expect(backup).toMatchObject({ format: 'sqlite-database', version: '0002', tables: [{ table: 'items', rows: 25316, after: null, key: ['id'] }, { table: 'tags', rows: 12001, after: null, key: ['label'] }] });
    // The backup file is a plain SQLite database holding exactly the same values.
    const data = join(p.root, backup!.path, 'data.sqlite');
    expect(checksum(data, 'items')).toBe(items);
    expect(checksum(data, 'tags', 'label')).toBe(tags);

    const restored = await p.cairn().restore('0002');
    expect(restored.tables.map((t) => [t.table, t.action, t.inserted])).toEqual([
      ['items', 'recreated', 25316],
      ['tags', 'recreated', 12001],
    ]);
    expect(checksum(file, 'items')).toBe(items);
    expect(checksum(file, 'tags', 'label')).toBe(tags);
    expect(await db.query("SELECT name FROM sqlite_master WHERE name = 'items_name'")).toEqual([{ name: 'items_name' }]);
    expect(await db.query("SELECT name FROM sqlite_master WHERE name LIKE '\\_cairn\\_restore%' ESCAPE '\\'")).toEqual([]); // staging tables gone
  });

  it('puts deleted rows back into the table as it is', { timeout: 120_000 }, async () => {
    const p = await prepared('DELETE FROM items WHERE id % 3 = 0;');
    const before = checksum(file, 'items');
    await p.cairn().up();
    const deleted = 25316 - Number((await db.query<{ n: number }>('SELECT count(*) AS n FROM items'))[0]!.n);
    expect(deleted).toBeGreaterThan(8000);

    const restored = await p.cairn().restore('0002');
    expect(restored.tables[0]).toMatchObject({ table: 'items', action: 'missing-rows', inserted: deleted, saved: 25316 });
    expect(checksum(file, 'items')).toBe(before);
  });

  it('restores into a side table when a column was dropped', { timeout: 120_000 }, async () => {
    const p = await prepared('ALTER TABLE items DROP COLUMN note;');
    const before = checksum(file, 'items');
    await p.cairn().up();
    const restored = await p.cairn().restore('0002');
    expect(restored.tables[0]).toMatchObject({ action: 'side-table', into: 'items_restored_0002', inserted: 25316 });
    expect(restored.tables[0]!.message).toContain('ALTER TABLE items ADD COLUMN note;');
    expect(checksum(file, 'items_restored_0002')).toBe(before);
  });

  for (const [name, up, down] of [
    ['drop column', 'ALTER TABLE items DROP COLUMN note;', 'ALTER TABLE items ADD COLUMN note;'],
    ['drop table', 'DROP TABLE items;', SCHEMA.split('\n').slice(0, 2).join('\n')],
    [
      'table rebuild',
      'CREATE TABLE items_new (id INTEGER PRIMARY KEY, name TEXT, data BLOB, big INTEGER, price REAL, at TEXT);\nINSERT INTO items_new SELECT id, name, data, big, price, at FROM items;\nDROP TABLE items;\nALTER TABLE items_new RENAME TO items;\nCREATE INDEX items_name ON items (name);',
      'ALTER TABLE items ADD COLUMN note;',
    ],
  ] as const) {
    it(`${name} → down → restore gives the original rows back`, { timeout: 120_000 }, async () => {
      const p = await prepared(`${up}\n-- migrate:down\n${down}`);
      const before = checksum(file, 'items');
      const notes = Number((await db.query<{ n: number }>('SELECT count(note) AS n FROM items'))[0]!.n);
      expect((await p.cairn().up()).success).toBe(true);
      expect((await p.cairn().down()).success).toBe(true);
      const restored = await p.cairn().restore('0002');
      if (name === 'drop table') expect(restored.tables[0]).toMatchObject({ action: 'missing-rows', inserted: 25316 });
      else expect(restored.tables[0]).toMatchObject({ action: 'missing-rows', inserted: 0, filled: expect.objectContaining({ note: notes }) });
      expect(checksum(file, 'items')).toBe(before);
    });
  }

  it('leaves nothing behind when the restore fails in its final step', { timeout: 120_000 }, async () => {
    const p = await prepared('DROP TABLE items;');
    await p.cairn().up();
    // An index of that name exists elsewhere now: recreating items fails after all rows were staged, and D1 rolls the final batch back whole.
    await db.query('CREATE TABLE other (x)');
    await db.query('CREATE INDEX items_name ON other (x)');
    const error = await p.cairn().restore('0002').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BACKUP', message: expect.stringMatching(/^restoring .* failed, nothing was restored: .*index items_name already exists/) });
    expect(await db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND (name = 'items' OR name LIKE '\\_cairn\\_restore%' ESCAPE '\\')")).toEqual([]);
  });
});

describe('backups on D1 over the HTTP API', () => {
  const TOKEN = 'cf-test-token-backup';
  afterEach(() => {
    for (const name of ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_API_BASE_URL']) delete process.env[name];
  });

  it('round-trips every value exactly through the API (backupRows)', { timeout: 120_000 }, async () => {
    const server = await startD1ApiServer({ token: TOKEN });
    try {
      Object.assign(process.env, { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_API_BASE_URL: server.base });
      const p = project(`d1://${server.accountId}/${server.databaseId}`, 'DROP TABLE items;');
      await p.cairn().up({ to: '0001' });
      const remote = openRemoteD1({ accountId: server.accountId, databaseId: server.databaseId }, 'test', process.env);
      await fill(remote);
      const file = localD1File(server.persistDir, server.databaseId);
      const before = checksum(file, 'items');

      // Remote D1 copies rows only when asked: its Time Travel bookmark is the backup otherwise (test/d1-bookmarks.test.ts).
      expect((await p.cairn().up({ backupRows: true })).success).toBe(true);
      const [backup] = await p.cairn().backups();
      expect(checksum(join(p.root, backup!.path, 'data.sqlite'), 'items')).toBe(before);
      const restored = await p.cairn().restore('0002');
      expect(restored.tables[0]).toMatchObject({ action: 'recreated', inserted: 25316 });
      expect(checksum(file, 'items')).toBe(before);
    } finally {
      await server.close();
    }
  });
});
