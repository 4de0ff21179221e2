#!/usr/bin/env node
// cairn diff: (1) the SQLite table rebuild it writes, next to the same 12 steps written by hand
// and run by the sqlite3 CLI; (2) how long `cairn diff` takes over a schema of many tables.
//
//   npm run build && node bench/diff.mjs [--rows 1000000] [--tables 500] [--runs 3] [--json]
//
// (1) `items` (id, name, price, category; two indexes) with --rows rows, and `item_events`
// (--rows rows, ON DELETE CASCADE to items). The desired schema adds CHECK (price >= 0) to items,
// which ALTER TABLE cannot do: a rebuild. Timed on copies of the same database file:
//   cairn     `cairn up --no-backup` running the file `cairn diff` wrote (process start, lock,
//             history row, PRAGMA foreign_keys, the rebuild, the count and foreign_key_check guards)
//   by hand   `sqlite3 db < steps.sql`: PRAGMA foreign_keys=off; BEGIN; CREATE items_new; INSERT …
//             SELECT; DROP; RENAME; two CREATE INDEX; PRAGMA foreign_key_check; COMMIT (no guards)
// The backup Cairn takes before a destructive step by default is left out (--no-backup): it is
// measured by bench/backup.mjs. Both scale with the rows copied and the indexes rebuilt.
// (2) --tables tables of 4 columns, an index each, every 10th referencing the previous one; the
// desired schema changes one column type in every 50th table (rebuilds) and adds a column to every
// 25th. Timed: `cairn diff --print` as a user runs it (replay of the one migration in a scratch
// file included). Grows linearly with the tables (each is read once per schema). Best of --runs.
// (3) With --pg-url <postgres://…admin url> (--pg-only: only this part): the same on PostgreSQL.
// --tables tables (bigint key, 3 columns, an index each, every 10th a foreign key to the previous
// one) created by one migration in a database of its own on that server; the desired schema adds
// a column to every 25th table, an index to every 50th and a CHECK to every 20th. Timed:
// `cairn diff --print --json` three ways: a first run (what diff keeps between runs removed
// first: the replayed migrations kept on the server, schema.sql's reading in .cairn/diff), the
// same run again (both kept), and after schema.sql is edited (one column more: loaded and read
// again, the migrations kept). Next to them: `cairn verify --no-schema` on the same project (the
// replay a user already runs) and the floor: the server alone creating the desired schema once,
// one transaction, one round trip. With --baseline-cli <another build's dist/bin/cairn.js>, that
// build's diff is timed too, in the same runs (e.g. the build before a change). First runs and
// the edited run grow linearly with the tables (the server fills them); the run again reads the
// kept database's catalogs and runs the check, also linear, with a much smaller slope.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { CLI, DEFAULT_PG_URL, flags, log, root } from './common.mjs';

const { value, has } = flags(process.argv.slice(2), 'node bench/diff.mjs [--rows 1000000] [--tables 500] [--runs 3] [--pg-url postgres://…] [--pg-only] [--cli <dist/bin/cairn.js of the build to time>] [--baseline-cli <another build, timed first run only>] [--json]');
const options = { rows: Number(value('--rows', '1000000')), tables: Number(value('--tables', '500')), runs: Number(value('--runs', '3')), json: has('--json'), pgUrl: value('--pg-url', has('--pg-only') ? DEFAULT_PG_URL : null), pgOnly: has('--pg-only'), baselineCli: value('--baseline-cli', null), cli: value('--cli', CLI) };
const Database = createRequire(join(root, 'package.json'))('better-sqlite3');

if (!options.pgOnly && spawnSync('sqlite3', ['--version']).status !== 0) {
  log('bench: needs the sqlite3 CLI (apt-get install sqlite3)');
  process.exit(2);
}
const cli = (args, cwd, path = options.cli) => {
  const started = performance.now();
  const result = spawnSync(process.execPath, [path, ...args], { cwd, encoding: 'utf8', env: { ...process.env, CAIRN_ENV: '' } });
  if (result.status !== 0) throw new Error(`cairn ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
  return { ms: performance.now() - started, stdout: result.stdout };
};
const best = (values) => Math.min(...values);

const SCHEMA = `CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL, category TEXT);
CREATE TABLE item_events (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE, kind TEXT NOT NULL);
CREATE INDEX items_name ON items (name);
CREATE INDEX items_category_price ON items (category, price);
`;
const DESIRED = SCHEMA.replace('price INTEGER NOT NULL,', 'price INTEGER NOT NULL CHECK (price >= 0),');
const BY_HAND = `PRAGMA foreign_keys = off;
BEGIN;
CREATE TABLE items_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL CHECK (price >= 0), category TEXT);
INSERT INTO items_new (id, name, price, category) SELECT id, name, price, category FROM items;
DROP TABLE items;
ALTER TABLE items_new RENAME TO items;
CREATE INDEX items_name ON items (name);
CREATE INDEX items_category_price ON items (category, price);
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = on;
`;

function rebuild() {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-diff-'));
  try {
    mkdirSync(join(dir, 'migrations'));
    writeFileSync(join(dir, 'migrations', '0001_create_items.sql'), `-- Migration: create items\n-- Type: additive\n-- Rollback: drop them\n\n-- migrate:up\n${SCHEMA}`);
    writeFileSync(join(dir, 'schema.sql'), DESIRED);
    const seed = join(dir, 'seed.db');
    cli(['up', '--url', `sqlite:${seed}`], dir);
    log(`filling ${options.rows} items and ${options.rows} item_events …`);
    const db = new Database(seed);
    db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${options.rows})
      INSERT INTO items (id, name, price, category) SELECT i, 'item ' || i, i % 1000, 'c' || (i % 97) FROM n;
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${options.rows})
      INSERT INTO item_events (id, item_id, kind) SELECT i, i, 'created' FROM n;`);
    db.close();
    cli(['diff', 'add_price_check', '--to', 'schema.sql', '--url', `sqlite:${seed}`], dir);
    writeFileSync(join(dir, 'by-hand.sql'), BY_HAND);
    const samples = { cairn: [], byHand: [] };
    for (let run = 0; run < options.runs; run++) {
      const a = join(dir, `cairn-${run}.db`);
      copyFileSync(seed, a);
      samples.cairn.push(cli(['up', '--no-backup', '--url', `sqlite:${a}`], dir).ms);
      const kept = new Database(a).prepare('SELECT count(*) AS n FROM item_events').get().n;
      if (kept !== options.rows) throw new Error(`the generated rebuild lost item_events: ${kept} of ${options.rows}`);
      rmSync(a);
      const b = join(dir, `hand-${run}.db`);
      copyFileSync(seed, b);
      const started = performance.now();
      const result = spawnSync('sqlite3', [b], { input: BY_HAND, encoding: 'utf8' });
      samples.byHand.push(performance.now() - started);
      if (result.status !== 0) throw new Error(`sqlite3 failed: ${result.stderr}`);
      rmSync(b);
      log(`  run ${run + 1}: cairn ${samples.cairn.at(-1).toFixed(0)} ms, by hand ${samples.byHand.at(-1).toFixed(0)} ms`);
    }
    return { rows: options.rows, cairnMs: best(samples.cairn), byHandMs: best(samples.byHand), ratio: best(samples.cairn) / best(samples.byHand), samples };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function manyTables() {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-diff-'));
  try {
    mkdirSync(join(dir, 'migrations'));
    const table = (i, changed) => {
      const type = changed && i % 50 === 0 ? 'TEXT' : 'INTEGER';
      const extra = changed && i % 25 === 0 ? ', note TEXT' : '';
      const parent = i % 10 === 0 && i > 0 ? `, parent_id INTEGER REFERENCES t_${String(i - 1).padStart(4, '0')} (id) ON DELETE CASCADE` : '';
      const name = `t_${String(i).padStart(4, '0')}`;
      return `CREATE TABLE ${name} (id INTEGER PRIMARY KEY, title TEXT NOT NULL, amount ${type}, created_at TEXT${parent}${extra});\nCREATE INDEX ${name}_title ON ${name} (title);`;
    };
    const all = (changed) => Array.from({ length: options.tables }, (_, i) => table(i, changed)).join('\n');
    writeFileSync(join(dir, 'migrations', '0001_create_tables.sql'), `-- Migration: create tables\n-- Type: additive\n-- Rollback: none\n\n-- migrate:up\n${all(false)}\n`);
    writeFileSync(join(dir, 'schema.sql'), all(true));
    const samples = [];
    let changes = 0;
    for (let run = 0; run < options.runs; run++) {
      const { ms, stdout } = cli(['diff', 'change_tables', '--to', 'schema.sql', '--print', '--url', `sqlite:${join(dir, 'app.db')}`, '--json'], dir);
      changes = JSON.parse(stdout).changes.length;
      samples.push(ms);
      log(`  diff over ${options.tables} tables: ${ms.toFixed(0)} ms (${changes} changes)`);
    }
    return { tables: options.tables, changes, diffMs: best(samples), samples };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function manyPgTables() {
  const pg = createRequire(join(root, 'package.json'))('pg');
  const name = `cairn_bench_diff_${process.pid}`;
  const admin = async (sql) => {
    const client = new pg.Client({ connectionString: options.pgUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(options.pgUrl);
  url.pathname = `/${name}`;
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-diff-'));
  try {
    mkdirSync(join(dir, 'migrations'));
    const table = (i, changed) => {
      const name = `t_${String(i).padStart(4, '0')}`;
      const parent = i % 10 === 0 && i > 0 ? `, parent_id bigint REFERENCES t_${String(i - 1).padStart(4, '0')} (id) ON DELETE CASCADE` : '';
      const note = changed && i % 25 === 0 ? ", note text DEFAULT ''" : '';
      const check = changed && i % 20 === 0 ? ', CHECK (amount >= 0)' : '';
      const index = changed && i % 50 === 0 ? `\nCREATE INDEX ${name}_amount ON ${name} (amount);` : '';
      return `CREATE TABLE ${name} (id bigint PRIMARY KEY, title text NOT NULL, amount integer, created_at timestamptz${parent}${note}${check});\nCREATE INDEX ${name}_title ON ${name} (title);${index}`;
    };
    const all = (changed) => Array.from({ length: options.tables }, (_, i) => table(i, changed)).join('\n');
    writeFileSync(join(dir, 'migrations', '0001_create_tables.sql'), `-- Migration: create tables\n-- Type: additive\n-- Rollback: none\n\n-- migrate:up\n${all(false)}\n`);
    writeFileSync(join(dir, 'schema.sql'), all(true));
    const samples = { diff: [], repeated: [], edited: [], baseline: [], verify: [], load: [] };
    let changes = 0;
    // What cairn diff keeps between runs (a database on the server, .cairn/diff): removed before a first run, outside the timing.
    const forget = async () => {
      rmSync(join(dir, '.cairn'), { recursive: true, force: true });
      const client = new pg.Client({ connectionString: options.pgUrl });
      await client.connect();
      try {
        const { rows } = await client.query("SELECT datname FROM pg_database WHERE starts_with(datname, 'cairn_tpl_diff') AND shobj_description(oid, 'pg_database') LIKE '% ' || $1", [dir]);
        for (const { datname } of rows) {
          await client.query(`ALTER DATABASE ${datname} WITH IS_TEMPLATE false`);
          await client.query(`DROP DATABASE ${datname}`);
        }
      } finally {
        await client.end();
      }
    };
    const diffArgs = ['diff', 'change_tables', '--to', 'schema.sql', '--print', '--json', '--url', url.toString()];
    for (let run = 0; run < options.runs; run++) {
      // The floor: what the server itself takes to create the desired schema once, in one transaction and one round trip (psql -1 -f).
      const floor = `${name}_floor`;
      await admin(`CREATE DATABASE ${floor}`);
      const at = new URL(options.pgUrl);
      at.pathname = `/${floor}`;
      const client = new pg.Client({ connectionString: at.toString() });
      await client.connect();
      const started = performance.now();
      await client.query(`BEGIN;\n${all(true)}\nCOMMIT;`);
      samples.load.push(performance.now() - started);
      await client.end();
      await admin(`DROP DATABASE ${floor}`);
      if (options.baselineCli) samples.baseline.push(cli(diffArgs, dir, options.baselineCli).ms);
      writeFileSync(join(dir, 'schema.sql'), all(true));
      await forget();
      const { ms, stdout } = cli(diffArgs, dir);
      changes = JSON.parse(stdout).changes.length;
      samples.diff.push(ms);
      // Run again, nothing changed: the migrations' side and schema.sql's reading are kept.
      samples.repeated.push(cli(diffArgs, dir).ms);
      // schema.sql edited (one more column): read again; the migrations' side is kept.
      writeFileSync(join(dir, 'schema.sql'), `${all(true)}\nALTER TABLE t_0001 ADD COLUMN extra_${run} text;`);
      samples.edited.push(cli(diffArgs, dir).ms);
      samples.verify.push(cli(['verify', '--no-schema', '--url', url.toString()], dir).ms);
      log(`  PostgreSQL diff over ${options.tables} tables: first run ${ms.toFixed(0)} ms (${changes} changes)${options.baselineCli ? ` (baseline build ${samples.baseline.at(-1).toFixed(0)} ms)` : ''}, again ${samples.repeated.at(-1).toFixed(0)} ms, schema.sql edited ${samples.edited.at(-1).toFixed(0)} ms; verify ${samples.verify.at(-1).toFixed(0)} ms; schema.sql loaded by the server alone ${samples.load.at(-1).toFixed(0)} ms`);
    }
    await forget();
    return { tables: options.tables, changes, diffMs: best(samples.diff), repeatedMs: best(samples.repeated), editedMs: best(samples.edited), baselineMs: options.baselineCli ? best(samples.baseline) : null, verifyMs: best(samples.verify), loadMs: best(samples.load), ratio: best(samples.diff) / best(samples.verify), floorRatio: best(samples.diff) / best(samples.load), samples };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

const machine = { cpus: cpus().length, load: loadavg()[0].toFixed(2), sqlite3: options.pgOnly ? null : spawnSync('sqlite3', ['--version'], { encoding: 'utf8' }).stdout.split(' ')[0] };
let rebuilt = null;
let diffed = null;
if (!options.pgOnly) {
  log(`rebuild of a ${options.rows}-row table with a ${options.rows}-row child …`);
  rebuilt = rebuild();
  log(`diff over ${options.tables} tables …`);
  diffed = manyTables();
}
let pgDiffed = null;
if (options.pgUrl) {
  log(`PostgreSQL: diff over ${options.tables} tables …`);
  pgDiffed = await manyPgTables();
}
const report = { machine, rebuild: rebuilt, diff: diffed, postgres: pgDiffed };
if (options.json) console.log(JSON.stringify(report, null, 2));
else {
  if (rebuilt) console.log(`rebuild, ${rebuilt.rows} rows + ${rebuilt.rows} child rows: cairn up ${rebuilt.cairnMs.toFixed(0)} ms, sqlite3 by hand ${rebuilt.byHandMs.toFixed(0)} ms, ratio ${rebuilt.ratio.toFixed(2)}×`);
  if (diffed) console.log(`cairn diff over ${diffed.tables} tables (${diffed.changes} changes): ${diffed.diffMs.toFixed(0)} ms`);
  if (pgDiffed) console.log(`PostgreSQL: cairn diff over ${pgDiffed.tables} tables (${pgDiffed.changes} changes): first run ${pgDiffed.diffMs.toFixed(0)} ms${pgDiffed.baselineMs === null ? '' : ` (the --baseline-cli build: ${pgDiffed.baselineMs.toFixed(0)} ms, ${(pgDiffed.diffMs / pgDiffed.baselineMs).toFixed(2)}×)`}, run again ${pgDiffed.repeatedMs.toFixed(0)} ms, after editing schema.sql ${pgDiffed.editedMs.toFixed(0)} ms; cairn verify of the same migration ${pgDiffed.verifyMs.toFixed(0)} ms (diff ${pgDiffed.ratio.toFixed(2)}× verify); the server alone loading schema.sql once ${pgDiffed.loadMs.toFixed(0)} ms (diff ${pgDiffed.floorRatio.toFixed(2)}× that; diff creates the schema twice: the replay and the load)`);
  console.log(`(machine: ${machine.cpus} cpus, load ${machine.load}${machine.sqlite3 ? `, sqlite3 ${machine.sqlite3}` : ''})`);
}
