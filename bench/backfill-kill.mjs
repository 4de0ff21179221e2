#!/usr/bin/env node
// The issue's kill test at full scale: a `-- cairn:batch` backfill of N rows (default 1M) run by
// `cairn up` (a real process), killed with SIGKILL at a random moment K times (default 20) per
// engine, then left to finish. Every row has a counter that the backfill increments, so at the end
// every counter must be exactly 1: no range redone, none skipped. Between kills `cairn status --json`
// must show the migration `running` with progress that only moves forward.
//
//   npm run build && node bench/backfill-kill.mjs [--rows 1000000] [--kills 20] [--size 1000] [--target ''] [--engines sqlite,postgres] [--pg-url URL]
//
// The kills are spread over the whole backfill at random: K random row counts are drawn, and the k-th
// run is killed once the history row's checkpoint has passed the k-th (read directly from the
// database every few ms), after a further random 0–10 ms. SQLite's 1M rows take about a second of
// batches, so waiting a random time instead would finish the backfill long before the 20th kill.
//
// Prints per engine: kills made, the rows done at each kill, the total time and whether every row was
// updated exactly once. Exits 1 when a row was not.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { CLI, DEFAULT_PG_URL, fatal, flags, log } from './common.mjs';

const { value } = flags(process.argv.slice(2), "node bench/backfill-kill.mjs [--rows 1000000] [--kills 20] [--size 1000] [--target ''] [--engines sqlite,postgres] [--pg-url URL]");
const rows = Number(value('--rows', '1000000'));
const kills = Number(value('--kills', '20'));
const size = Number(value('--size', '1000'));
const target = value('--target', '');
const engines = value('--engines', 'sqlite,postgres').split(',');
const pgUrl = value('--pg-url', DEFAULT_PG_URL);
if (![rows, kills, size].every((n) => Number.isInteger(n) && n >= 1)) fatal('--rows, --kills and --size must be positive whole numbers');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rows the checkpoint in the history row's details says are done (0 before there is one). */
function progressOf(details) {
  if (details === undefined || details === null) return 0;
  const parsed = typeof details === 'string' ? JSON.parse(details) : details;
  return parsed.progress?.rows ?? 0;
}

async function prepare(kind, dir) {
  if (kind === 'sqlite') {
    const path = join(dir, 'kill.db');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, counter INTEGER NOT NULL DEFAULT 0);
      INSERT INTO items (id) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${rows}) SELECT x FROM c;`);
    const done = () => {
      try {
        return progressOf(db.prepare("SELECT details FROM cairn_migrations WHERE version = '0001'").get()?.details);
      } catch {
        return 0; // no history table yet
      }
    };
    return { url: `sqlite:${path}`, done, counts: async () => db.prepare('SELECT counter, count(*) AS n FROM items GROUP BY counter ORDER BY counter').all(), drop: async () => db.close() };
  }
  const database = `cairn_bench_kill_${process.pid}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(pgUrl);
  url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  await client.query(`CREATE TABLE items (id integer PRIMARY KEY, counter integer NOT NULL DEFAULT 0);
    INSERT INTO items (id) SELECT g FROM generate_series(1, ${rows}) AS g;`);
  await client.query('VACUUM ANALYZE items');
  return {
    url: url.toString(),
    done: async () => {
      try {
        return progressOf((await client.query("SELECT details FROM cairn_migrations WHERE version = '0001'")).rows[0]?.details);
      } catch {
        return 0;
      }
    },
    counts: async () => (await client.query('SELECT counter, count(*)::int AS n FROM items GROUP BY counter ORDER BY counter')).rows,
    drop: async () => {
      await client.end();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** `cairn up` as a process; resolves `started` at its first progress line. */
function startUp(url, cwd) {
  const child = spawn(process.execPath, [CLI, 'up', '--url', url, '--no-backup', '--allow-non-empty'], { cwd, env: { ...process.env, DATABASE_URL: '', CAIRN_ENV: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  let onProgress;
  const started = new Promise((resolve) => (onProgress = resolve));
  const read = (chunk) => {
    text += chunk;
    if (/line 3: \d+\/\d+ rows|already applied|Applied|✓/.test(text)) onProgress();
  };
  child.stdout.on('data', read);
  child.stderr.on('data', read);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, started, exited, output: () => text };
}

function status(url, cwd) {
  const result = spawnSync(process.execPath, [CLI, 'status', '--url', url, '--json'], { cwd, env: { ...process.env, DATABASE_URL: '', CAIRN_ENV: '' }, encoding: 'utf8' });
  const entry = JSON.parse(result.stdout).migrations.find((m) => m.version === '0001');
  return { state: entry.state, rows: entry.progress?.rows ?? null };
}

const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-kill-'));
let failed = false;
try {
  for (const kind of engines) {
    const cwd = join(dir, kind);
    mkdirSync(join(cwd, 'migrations'), { recursive: true });
    writeFileSync(join(cwd, 'migrations', '0001_backfill_items.sql'), `-- migrate:up\n-- cairn:batch size=${size}${target ? ` target=${target}ms` : ''}\nUPDATE items SET counter = counter + 1 WHERE counter >= 0;\n`);
    log(`${kind}: ${rows} rows, killing \`cairn up\` ${kills} times`);
    const db = await prepare(kind, cwd);
    try {
      const started = performance.now();
      const seen = [];
      let killed = 0;
      const points = Array.from({ length: kills }, () => Math.floor(Math.random() * rows)).sort((a, b) => a - b);
      for (let k = 0; k < kills; k++) {
        const up = startUp(db.url, cwd);
        let over = false;
        up.exited.then(() => (over = true));
        while (!over && (await db.done()) < points[k]) await sleep(2);
        if (!over) await sleep(Math.random() * 10);
        const finished = up.child.exitCode !== null;
        if (!finished) {
          up.child.kill('SIGKILL');
          killed++;
        }
        await up.exited;
        const now = status(db.url, cwd);
        seen.push(now);
        if (now.state === 'applied') break;
      }
      const last = spawnSync(process.execPath, [CLI, 'up', '--url', db.url, '--no-backup', '--allow-non-empty'], { cwd, env: { ...process.env, DATABASE_URL: '', CAIRN_ENV: '' }, encoding: 'utf8' });
      if (last.status !== 0) throw new Error(`the last up failed: ${last.stderr}`);
      const ms = performance.now() - started;
      const counts = await db.counts();
      const exact = counts.length === 1 && Number(counts[0].counter) === 1 && Number(counts[0].n) === rows;
      const running = seen.filter((s) => s.state === 'running').map((s) => s.rows);
      const forward = running.every((r, i) => i === 0 || r >= running[i - 1]);
      if (!exact || !forward) failed = true;
      console.log(`${kind}: ${killed} kills; rows done at each: ${running.join(', ')}; total ${(ms / 1000).toFixed(1)} s (processes, status calls and the last up included)`);
      console.log(`${kind}: counters ${counts.map((c) => `${c.counter}×${c.n}`).join(', ')} → ${exact ? 'every row updated exactly once' : 'NOT every row exactly once'}; progress ${forward ? 'only moved forward' : 'went BACK'}`);
    } finally {
      await db.drop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
