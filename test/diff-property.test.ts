import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl } from '../src/config/url.js';
import { openDriver } from '../src/drivers/index.js';
import { SqliteSchema } from '../src/evolve/sqlite/schema.js';
import { createCairn } from '../src/index.js';
import { createD1Database, createSqliteDatabase, tempDir, writeMigrations, type TestDatabase } from './support/databases.js';

/**
 * For random pairs of schemas A and B (seeded, reproducible): the migration
 * `cairn diff` writes from A to B, applied to a real SQLite file holding A
 * with rows in every table, gives exactly B's schema and keeps every row and
 * every value of the columns both have; its down gives A back, rows included.
 * CAIRN_DIFF_RUNS=500 for a longer search (CAIRN_DIFF_D1_RUNS on D1, slower:
 * miniflare), CAIRN_DIFF_SEED to replay one.
 */
const RUNS = Number(process.env.CAIRN_DIFF_RUNS ?? 20);
const D1_RUNS = Number(process.env.CAIRN_DIFF_D1_RUNS ?? 3);
const SEED = Number(process.env.CAIRN_DIFF_SEED ?? 20261205);
const ROWS = 3;

const column = fc.record({ present: fc.boolean(), notNull: fc.boolean(), check: fc.boolean(), unique: fc.boolean(), index: fc.constantFrom('none', 'plain', 'partial', 'expression') });
const table = fc.record({ a: column, b: column, parent: fc.record({ present: fc.boolean(), action: fc.constantFrom('CASCADE', 'SET NULL', 'NO ACTION', 'RESTRICT') }), view: fc.boolean(), trigger: fc.boolean() });
const schema = fc.record({ tables: fc.tuple(table, table, table), extra: fc.boolean() });
type Schema = typeof schema extends fc.Arbitrary<infer T> ? T : never;

function render(s: Schema): string {
  const statements: string[] = [];
  s.tables.forEach((t, i) => {
    const parts = ['id INTEGER PRIMARY KEY'];
    for (const [name, type] of [['a', 'INTEGER'], ['b', 'TEXT']] as const) {
      const c = t[name];
      if (!c.present) continue;
      // Every row gets distinct, non-null values, and defaults satisfy the checks: B's constraints hold for A's rows.
      const notNull = c.notNull && !c.unique;
      const check = name === 'a' ? 'CHECK (a >= 0)' : 'CHECK (length(b) > 0)';
      parts.push([name, type, notNull ? `NOT NULL DEFAULT ${name === 'a' ? 0 : "'x'"}` : '', c.unique ? 'UNIQUE' : '', c.check ? check : ''].filter(Boolean).join(' '));
    }
    if (i > 0 && t.parent.present) parts.push(`p INTEGER REFERENCES t${i - 1} (id) ON DELETE ${t.parent.action}`);
    statements.push(`CREATE TABLE t${i} (${parts.join(', ')});`);
    for (const name of ['a', 'b'] as const) {
      const c = t[name];
      if (!c.present || c.index === 'none') continue;
      const on = c.index === 'expression' ? (name === 'a' ? '(a + 1)' : '(lower(b))') : `(${name})`;
      statements.push(`CREATE INDEX t${i}_${name} ON t${i} ${on}${c.index === 'partial' ? ` WHERE ${name} IS NOT NULL` : ''};`);
    }
    if (t.view) statements.push(`CREATE VIEW v${i} AS SELECT id${t.a.present ? ', a' : ''} FROM t${i};`);
    // A trigger that reads the table before it: rebuilding that one must not break it.
    if (t.trigger) statements.push(`CREATE TRIGGER t${i}_seen AFTER UPDATE ON t${i} BEGIN SELECT count(*) FROM t${Math.max(0, i - 1)}; END;`);
  });
  if (s.extra) statements.push('CREATE TABLE t3 (id INTEGER PRIMARY KEY, note TEXT);');
  return statements.join('\n');
}

const literal = (value: unknown) => (typeof value === 'string' ? `'${value}'` : String(value));

async function fill(db: TestDatabase, s: Schema): Promise<void> {
  for (const [i, t] of s.tables.entries()) {
    for (let row = 1; row <= ROWS; row++) {
      const values: Record<string, unknown> = { id: row };
      if (t.a.present) values.a = row * 10;
      if (t.b.present) values.b = `v${row}`;
      if (i > 0 && t.parent.present) values.p = row;
      await db.query(`INSERT INTO t${i} (${Object.keys(values).join(', ')}) VALUES (${Object.values(values).map(literal).join(', ')})`);
    }
  }
  if (s.extra) await db.query("INSERT INTO t3 (id, note) VALUES (1, 'kept')");
}

/** Rows of the columns both schemas have, per table both have. */
async function shared(db: TestDatabase, a: Schema, b: Schema): Promise<Record<string, unknown[]>> {
  const result: Record<string, unknown[]> = {};
  for (const [i, t] of a.tables.entries()) {
    const u = b.tables[i]!;
    const columns = ['id', ...(['a', 'b'] as const).filter((c) => t[c].present && u[c].present), ...(i > 0 && t.parent.present && u.parent.present ? ['p'] : [])];
    result[`t${i}`] = await db.query(`SELECT ${columns.join(', ')} FROM t${i} ORDER BY id`);
  }
  if (a.extra && b.extra) result.t3 = await db.query('SELECT * FROM t3');
  return result;
}

/** The schema as the engine's own driver describes it, Cairn's tables left out. */
async function schemaOf(db: TestDatabase, root: string): Promise<Record<string, string>> {
  const driver = await openDriver(parseDatabaseUrl(db.url, root), { create: false });
  try {
    const exclude = (await driver.query<{ name: string }>({ sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND (name LIKE 'cairn%' OR name LIKE 'd1%' OR name LIKE '_cf%')" })).map((r) => r.name);
    return { ...(await driver.snapshot({ exclude })).objects };
  } finally {
    await driver.close();
  }
}

async function expected(sql: string): Promise<Record<string, string>> {
  const loaded = SqliteSchema.load(sql, 'expected');
  try {
    return { ...(await loaded.snapshot()).objects };
  } finally {
    loaded.close();
  }
}

const ENGINES = [
  { kind: 'sqlite', create: createSqliteDatabase, runs: RUNS },
  { kind: 'd1', create: createD1Database, runs: D1_RUNS },
] as const;

for (const engine of ENGINES) {
  describe(`cairn diff: random schema pairs [${engine.kind}]`, () => {
    it(`A → B → A keeps the schema and the rows (${engine.runs} pairs, seed ${SEED})`, { timeout: 900_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(schema, schema, async (a, b) => {
          const root = tempDir();
          writeMigrations(root, { '0001_create_tables.sql': `-- migrate:up\n${render(a)}\n` });
          writeFileSync(join(root, 'schema.sql'), render(b));
          const db = await engine.create();
          try {
            const cairn = createCairn({ url: db.url, cwd: root, envVars: {} });
            await cairn.up();
            await fill(db, a);
            const before = await shared(db, a, b);
            const aSchema = await schemaOf(db, root);
            const diff = await cairn.diff('change_tables', { to: 'schema.sql', allowDrop: true, reason: 'property test' });
            if (!diff.changed) {
              expect(aSchema).toEqual(await expected(render(b)));
              return;
            }
            const up = await cairn.up({ unsafe: true });
            expect(up.errors).toEqual([]);
            expect(await schemaOf(db, root)).toEqual(await expected(render(b)));
            expect(await shared(db, a, b)).toEqual(before);
            const down = await cairn.down();
            expect(down.errors).toEqual([]);
            expect(await schemaOf(db, root)).toEqual(aSchema);
            expect(await shared(db, a, b)).toEqual(before);
          } finally {
            await db.drop();
          }
        }),
        { numRuns: engine.runs, seed: SEED },
      );
    });
  });
}
