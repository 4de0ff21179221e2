#!/usr/bin/env node
// Backup throughput: Cairn's backup of one table (what `cairn up` does before a destructive
// migration) next to the engine's own copy of the same data, in rows per second.
//
//   npm run build && node bench/backup.mjs [--rows 1000000] [--engines sqlite,postgres] [--runs 3]
//                                          [--pg-url postgres://postgres@127.0.0.1:5432/postgres] [--json]
//
// The table: id, a short text, a float, an integer, a timestamp and a 32-byte blob / bytea per row.
// SQLite: Cairn's driver backup (ATTACH + INSERT … SELECT into an untyped copy) vs `VACUUM INTO`
// (the whole database file, which holds only this table). PostgreSQL: Cairn's driver backup
// (COPY … TO STDOUT in text format through pg-copy-streams, in a REPEATABLE READ snapshot, into a
// file) vs `psql -c "\copy big TO file"` (the same COPY, by the engine's own client; its process
// start is included, ~20 ms). Cairn's figure is the driver's save() alone, the part `cairn up`
// adds before the step; the migration itself is not timed. Best of --runs (other work on the
// machine only ever adds time); every sample is in --json.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, readdirSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_PG_URL, flags, log, root } from './common.mjs';

const dist = (path) => pathToFileURL(join(root, 'dist', path)).href;

const { value, has } = flags(process.argv.slice(2), 'node bench/backup.mjs [--rows 1000000] [--engines sqlite,postgres] [--runs 3] [--pg-url URL] [--json]');
const options = {
  rows: Number(value('--rows', '1000000')),
  runs: Number(value('--runs', '3')),
  engines: value('--engines', 'sqlite,postgres').split(','),
  pgUrl: value('--pg-url', DEFAULT_PG_URL),
  json: has('--json'),
};

const time = async (work) => {
  const started = performance.now();
  await work();
  return performance.now() - started;
};
const sizeOf = (dir) => readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);

async function sqlite() {
  const { default: Database } = await import('better-sqlite3');
  const { openSqlite } = await import(dist('drivers/sqlite/driver.js'));
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-backup-'));
  try {
    const path = join(dir, 'bench.db');
    log(`sqlite: filling ${options.rows} rows`);
    const db = new Database(path);
    db.exec(`CREATE TABLE big (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, qty INTEGER, created TEXT, payload BLOB);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${options.rows})
INSERT INTO big SELECT i, 'customer ' || i, i * 0.37, i % 1000, datetime(1700000000 + i, 'unixepoch'), randomblob(32) FROM n;`);
    const samples = { cairn: [], engine: [] };
    const bytes = {};
    for (let run = 0; run < options.runs; run++) {
      const out = mkdtempSync(join(dir, 'cairn-'));
      const driver = openSqlite(path, `sqlite:${path}`, { create: true });
      samples.cairn.push(await time(() => driver.backup.save(['big'], out)));
      await driver.close();
      bytes.cairn = sizeOf(out);
      rmSync(out, { recursive: true });
      const copy = join(dir, 'vacuum-into.db');
      samples.engine.push(await time(async () => db.prepare('VACUUM INTO ?').run(copy)));
      bytes.engine = statSync(copy).size;
      rmSync(copy);
      log(`sqlite run ${run + 1}: cairn ${samples.cairn.at(-1).toFixed(0)} ms, VACUUM INTO ${samples.engine.at(-1).toFixed(0)} ms`);
    }
    db.close();
    return { engine: 'sqlite', tool: 'VACUUM INTO', samples, bytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgres() {
  const { default: pg } = await import('pg');
  const { openPostgres } = await import(dist('drivers/postgres/driver.js'));
  const name = `cairn_bench_backup_${process.pid}`;
  const admin = new pg.Client({ connectionString: options.pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(options.pgUrl);
  url.pathname = `/${name}`;
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-backup-'));
  try {
    log(`postgres: filling ${options.rows} rows`);
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    await client.query(`CREATE TABLE big (id bigint PRIMARY KEY, name text NOT NULL, price double precision, qty integer, created timestamptz, payload bytea)`);
    await client.query(`INSERT INTO big SELECT i, 'customer ' || i, i * 0.37, i % 1000, to_timestamp(1700000000 + i), decode(md5(i::text) || md5((i + 1)::text), 'hex') FROM generate_series(1, ${options.rows}) i`);
    await client.query('VACUUM ANALYZE big');
    await client.end();
    const samples = { cairn: [], engine: [] };
    const bytes = {};
    for (let run = 0; run < options.runs; run++) {
      const out = mkdtempSync(join(dir, 'cairn-'));
      const driver = await openPostgres(url.toString(), name, []);
      samples.cairn.push(await time(() => driver.backup.save(['big'], out)));
      await driver.close();
      bytes.cairn = sizeOf(out);
      rmSync(out, { recursive: true });
      const file = join(dir, 'psql-copy.txt');
      samples.engine.push(
        await time(async () => {
          const result = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url.toString(), '-c', `\\copy big TO '${file}'`], { encoding: 'utf8' });
          if (result.status !== 0) throw new Error(`psql failed: ${result.stderr}`);
        }),
      );
      bytes.engine = statSync(file).size;
      rmSync(file);
      log(`postgres run ${run + 1}: cairn ${samples.cairn.at(-1).toFixed(0)} ms, psql \\copy ${samples.engine.at(-1).toFixed(0)} ms`);
    }
    return { engine: 'postgres', tool: 'psql \\copy … TO (COPY TO STDOUT)', samples, bytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

const load = loadavg()[0].toFixed(1);
const results = [];
for (const engine of options.engines) {
  if (engine === 'sqlite') results.push(await sqlite());
  else if (engine === 'postgres') results.push(await postgres());
  else throw new Error(`unknown engine ${engine}: use sqlite, postgres`);
}

const best = (samples) => Math.min(...samples);
const rate = (ms) => Math.round(options.rows / (ms / 1000));
const rows = results.map((r) => ({
  engine: r.engine,
  tool: r.tool,
  cairnMs: Math.round(best(r.samples.cairn)),
  engineMs: Math.round(best(r.samples.engine)),
  cairnRowsPerSecond: rate(best(r.samples.cairn)),
  engineRowsPerSecond: rate(best(r.samples.engine)),
  ratio: Number((best(r.samples.cairn) / best(r.samples.engine)).toFixed(2)),
  bytes: r.bytes,
  samples: r.samples,
}));

if (options.json) {
  console.log(JSON.stringify({ rows: options.rows, runs: options.runs, cpus: cpus().length, loadAtStart: Number(load), node: process.version, results: rows }, null, 2));
} else {
  const n = (x) => x.toLocaleString('en-US');
  console.log(`\n${n(options.rows)} rows, best of ${options.runs} (load ${load} at start, ${cpus().length} cpus)\n`);
  console.log('| engine | cairn backup | rows/s | engine copy | rows/s | cairn / engine |');
  console.log('| --- | ---: | ---: | --- | ---: | ---: |');
  for (const r of rows) {
    console.log(`| ${r.engine} | ${n(r.cairnMs)} ms (${(r.bytes.cairn / 2 ** 20).toFixed(0)} MiB) | ${n(r.cairnRowsPerSecond)} | ${r.tool}: ${n(r.engineMs)} ms (${(r.bytes.engine / 2 ** 20).toFixed(0)} MiB) | ${n(r.engineRowsPerSecond)} | ${r.ratio}× |`);
  }
}
