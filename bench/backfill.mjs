#!/usr/bin/env node
// A backfill of N rows (default 1M) four ways, on SQLite and PostgreSQL:
//   single:  one UPDATE of every row in one transaction (what a plain migration does)
//   hand:    a hand-written batched loop (what a user writes without Cairn): BEGIN; UPDATE … WHERE id > lo AND id <= lo + S; COMMIT, repeated
//   batched: the same UPDATE under `-- cairn:batch size=S`, applied by `cairn up` (the library, in-process)
//   ts:      a TypeScript migration, ctx.batch('items', { size: S }) with one range UPDATE per batch, applied by `cairn up`
// and, during each, a second writer (a worker thread, its own connection) updating one random row at a
// time: its worst latency is what the application feels while the backfill runs.
//
//   npm run build && node bench/backfill.mjs [--rows 1000000] [--size 1000] [--target 50] [--engines sqlite,postgres] [--pg-url URL] [--json]
//
// --target MS: Cairn's batches aim at MS per batch (`-- cairn:batch size=S target=MSms`, ctx.batch's `targetMs`),
// S being the first batch's size; the hand-written loop keeps S.
//
// Reported per engine: both wall times and their throughput ratio (batched rows/s ÷ single rows/s), the
// longest batch (time between two progress events: reading the next keys + the batch's transaction,
// so an upper bound of the longest lock hold), and the other writer's max latency next to each.
// Cost grows linearly with --rows (one batch per --size rows).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import pg from 'pg';
import { DEFAULT_PG_URL, fatal, flags, log, root } from './common.mjs';

const { value, has } = flags(process.argv.slice(2), 'node bench/backfill.mjs [--rows 1000000] [--size 1000] [--target 50] [--engines sqlite,postgres] [--pg-url URL] [--json]');
const targetMs = value('--target', '') === '' ? null : Number(value('--target', ''));
if (targetMs !== null && !(targetMs > 0)) fatal('--target must be a positive number of milliseconds');
const rows = Number(value('--rows', '1000000'));
const size = Number(value('--size', '1000'));
const engines = value('--engines', 'sqlite,postgres').split(',');
const pgUrl = value('--pg-url', DEFAULT_PG_URL);
if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(size) || size < 1) fatal('--rows and --size must be positive whole numbers');

const { createCairn } = await import(join(root, 'dist', 'index.js'));
const UPDATE = 'UPDATE items SET counter = counter + 1 WHERE counter >= 0';

/** A worker with its own connection, updating one random row after another until told to stop; reports the slowest. */
const WRITER = `
const { parentPort, workerData } = require('node:worker_threads');
const { kind, url, rows, sqlitePath } = workerData;
let stop = false;
parentPort.on('message', () => { stop = true; });
(async () => {
  let max = 0, count = 0;
  if (kind === 'sqlite') {
    const Database = require(workerData.betterSqlite);
    const db = new Database(sqlitePath, { timeout: 60000 });
    const update = db.prepare('UPDATE items SET v = v + 1 WHERE id = ?');
    while (!stop) {
      const t = performance.now();
      update.run(1 + Math.floor(Math.random() * rows));
      max = Math.max(max, performance.now() - t); count++;
      await new Promise((r) => setTimeout(r, 2));
    }
    db.close();
  } else {
    const pg = require(workerData.pg);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    while (!stop) {
      const t = performance.now();
      await client.query('UPDATE items SET v = v + 1 WHERE id = $1', [1 + Math.floor(Math.random() * rows)]);
      max = Math.max(max, performance.now() - t); count++;
      await new Promise((r) => setTimeout(r, 2));
    }
    await client.end();
  }
  parentPort.postMessage({ max, count });
})();
`;

async function withWriter(kind, target, work) {
  const require = (await import('node:module')).createRequire(import.meta.url);
  const worker = new Worker(WRITER, { eval: true, workerData: { kind, url: target.url, sqlitePath: target.path, rows, betterSqlite: require.resolve('better-sqlite3'), pg: require.resolve('pg') } });
  await new Promise((r) => setTimeout(r, 200));
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  const result = new Promise((resolve) => worker.once('message', resolve));
  worker.postMessage('stop');
  const writer = await result;
  await worker.terminate();
  return { ms, writerMaxMs: writer.max, writerUpdates: writer.count };
}

async function prepare(kind, dir, name) {
  if (kind === 'sqlite') {
    const path = join(dir, `${name}.db`);
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, v INTEGER NOT NULL DEFAULT 0, counter INTEGER NOT NULL DEFAULT 0);
      INSERT INTO items (id) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${rows}) SELECT x FROM c;`);
    db.close();
    return { url: `sqlite:${path}`, path, drop: async () => undefined };
  }
  const database = `cairn_bench_backfill_${process.pid}_${name}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(pgUrl);
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  await client.query(`CREATE TABLE items (id integer PRIMARY KEY, v integer NOT NULL DEFAULT 0, counter integer NOT NULL DEFAULT 0);
    INSERT INTO items (id) SELECT g FROM generate_series(1, ${rows}) AS g;`);
  await client.query('VACUUM ANALYZE items');
  await client.end();
  return {
    url: url.toString(),
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    },
  };
}

async function single(kind, target) {
  return withWriter(kind, target, async () => {
    if (kind === 'sqlite') {
      const db = new Database(target.path, { timeout: 60000 });
      db.exec(`BEGIN IMMEDIATE; ${UPDATE}; COMMIT;`);
      db.close();
    } else {
      const client = new pg.Client({ connectionString: target.url });
      await client.connect();
      await client.query(`BEGIN; ${UPDATE}; COMMIT;`);
      await client.end();
    }
  });
}

async function hand(kind, target) {
  let longest = 0;
  const timed = await withWriter(kind, target, async () => {
    if (kind === 'sqlite') {
      const db = new Database(target.path, { timeout: 60000 });
      const update = db.prepare('UPDATE items SET counter = counter + 1 WHERE id > ? AND id <= ? AND counter >= 0');
      const range = db.transaction((lo) => update.run(lo, lo + size));
      for (let lo = 0; lo < rows; lo += size) {
        const t = performance.now();
        range.immediate(lo);
        longest = Math.max(longest, performance.now() - t);
        // Let the other writer in between batches, as a loop with any pause would.
        await new Promise((r) => setImmediate(r));
      }
      db.close();
    } else {
      const client = new pg.Client({ connectionString: target.url });
      await client.connect();
      for (let lo = 0; lo < rows; lo += size) {
        const t = performance.now();
        await client.query('BEGIN');
        await client.query('UPDATE items SET counter = counter + 1 WHERE id > $1 AND id <= $2 AND counter >= 0', [lo, lo + size]);
        await client.query('COMMIT');
        longest = Math.max(longest, performance.now() - t);
      }
      await client.end();
    }
  });
  return { ...timed, longestBatchMs: longest };
}

const SCRIPT = (n) => `export async function up(ctx) {
  await ctx.batch('items', { size: ${n},${targetMs !== null ? ` targetMs: ${targetMs},` : ''} where: 'counter >= 0' }, async (rows) => {
    await ctx.sql\`UPDATE items SET counter = counter + 1 WHERE id >= \${rows[0].id} AND id <= \${rows[rows.length - 1].id}\`;
  });
}
`;

async function batched(kind, target, dir, how = 'sql') {
  const migrations = join(dir, `migrations_${kind}_${how}`);
  mkdirSync(migrations, { recursive: true });
  if (how === 'sql') writeFileSync(join(migrations, '0001_backfill_items.sql'), `-- migrate:up\n-- cairn:batch size=${size}${targetMs !== null ? ` target=${targetMs}ms` : ''}\n${UPDATE};\n`);
  else writeFileSync(join(migrations, '0001_backfill_items.ts'), SCRIPT(size));
  let last = null;
  let first = null;
  let end = null;
  let longest = 0;
  const cairn = createCairn({
    url: target.url,
    dir: migrations,
    onEvent: (event) => {
      if (event.type !== 'progress') return;
      const now = performance.now();
      first ??= now;
      if (event.done) end = now;
      if (last !== null && event.batches > 0) longest = Math.max(longest, now - last);
      last = now;
    },
  });
  const timed = await withWriter(kind, target, async () => {
    const result = await cairn.up({ noBackup: true, allowNonEmpty: true });
    if (!result.success) throw new Error(JSON.stringify(result.errors));
  });
  return { ...timed, longestBatchMs: longest, backfillMs: end - first };
}

const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-backfill-'));
const results = [];
try {
  for (const kind of engines) {
    log(`${kind}: ${rows} rows, batches of ${size}${targetMs !== null ? ` at first, aiming at ${targetMs} ms each` : ''}`);
    const a = await prepare(kind, dir, 'single');
    const one = await single(kind, a).finally(a.drop);
    const h = await prepare(kind, dir, 'hand');
    const loop = await hand(kind, h).finally(h.drop);
    const b = await prepare(kind, dir, 'batched');
    const many = await batched(kind, b, dir).finally(b.drop);
    const c = await prepare(kind, dir, 'ts');
    const script = await batched(kind, c, dir, 'ts').finally(c.drop);
    results.push({
      engine: kind,
      rows,
      size: targetMs !== null ? `${size}→${targetMs}ms` : size,
      singleMs: Math.round(one.ms),
      batchedMs: Math.round(many.ms),
      throughputRatio: Number((one.ms / many.ms).toFixed(2)),
      // Without cairn up's fixed cost (opening, lock, lint of the file, history): from the first progress event to the last.
      batchesOnlyMs: Math.round(many.backfillMs),
      batchesOnlyRatio: Number((one.ms / many.backfillMs).toFixed(2)),
      longestBatchMs: Math.round(many.longestBatchMs),
      writerMaxMsDuringSingle: Math.round(one.writerMaxMs),
      writerMaxMsDuringBatched: Math.round(many.writerMaxMs),
      handMs: Math.round(loop.ms),
      // Cairn's batches (whole `up`) against the loop a user would write by hand: rows/s ratio.
      batchedVsHand: Number((loop.ms / many.ms).toFixed(2)),
      handLongestBatchMs: Math.round(loop.longestBatchMs),
      writerMaxMsDuringHand: Math.round(loop.writerMaxMs),
      tsMs: Math.round(script.ms),
      tsVsHand: Number((loop.ms / script.ms).toFixed(2)),
      // Without up's fixed cost (compiling the .ts with jiti, opening, lock, history): first progress event to last.
      tsBatchesOnlyMs: Math.round(script.backfillMs),
      tsBatchesOnlyVsHand: Number((loop.ms / script.backfillMs).toFixed(2)),
      tsLongestBatchMs: Math.round(script.longestBatchMs),
      writerMaxMsDuringTs: Math.round(script.writerMaxMs),
    });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (has('--json')) console.log(JSON.stringify(results, null, 2));
else {
  console.log('| engine | rows | batch | single UPDATE | batched (whole `up`) | ratio | batches only | ratio | longest batch | other writer max (single) | other writer max (batched) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) console.log(`| ${r.engine} | ${r.rows} | ${r.size} | ${r.singleMs} ms | ${r.batchedMs} ms | ${r.throughputRatio}× | ${r.batchesOnlyMs} ms | ${r.batchesOnlyRatio}× | ${r.longestBatchMs} ms | ${r.writerMaxMsDuringSingle} ms | ${r.writerMaxMsDuringBatched} ms |`);
  console.log('');
  console.log('| engine | hand-written loop | longest | other writer max | `-- cairn:batch` vs loop | TS ctx.batch (whole `up`) | vs loop | batches only | vs loop | longest | other writer max |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) console.log(`| ${r.engine} | ${r.handMs} ms | ${r.handLongestBatchMs} ms | ${r.writerMaxMsDuringHand} ms | ${r.batchedVsHand}× | ${r.tsMs} ms | ${r.tsVsHand}× | ${r.tsBatchesOnlyMs} ms | ${r.tsBatchesOnlyVsHand}× | ${r.tsLongestBatchMs} ms | ${r.writerMaxMsDuringTs} ms |`);
}
