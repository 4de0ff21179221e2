// What a `-- cairn:assert-unique` guard costs: `cairn up` of a migration that adds a
// unique index to a table of N rows, with and without `-- cairn:assert-unique users(email)`
// in its header, next to better-sqlite3 running the same check query and the same
// CREATE UNIQUE INDEX with no bookkeeping. The guard is one GROUP BY over the table,
// so its cost grows linearly with the rows (the index build is n log n).
//
//   node bench/assertions.mjs [--n 1000000] [--runs 3] [--json]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CLI, flags, log, median } from './common.mjs';

const options = flags(process.argv.slice(2), 'node bench/assertions.mjs [--n 1000000] [--runs 3] [--json]');
const n = Number(options.value('--n', '1000000'));
const runs = Number(options.value('--runs', '3'));
const INDEX = 'CREATE UNIQUE INDEX users_email ON users (email)';
const GUARD = 'SELECT NOT EXISTS (SELECT 1 FROM users WHERE email IS NOT NULL GROUP BY email HAVING count(*) > 1)';

function project(guarded) {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-assert-'));
  mkdirSync(join(dir, 'migrations'));
  writeFileSync(join(dir, 'migrations', '0001_create_users.sql'), 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n');
  writeFileSync(join(dir, 'migrations', '0002_add_unique_email.sql'), `${guarded ? '-- cairn:assert-unique users(email)\n' : ''}-- cairn:allow unique-constraint-locks bench\n${INDEX};\n`);
  const db = new Database(join(dir, 'app.db'));
  db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)');
  const insert = db.prepare('INSERT INTO users (email) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < n; i++) insert.run(`user${i}@example.com`);
  })();
  db.close();
  const baseline = spawnSync(process.execPath, [CLI, 'baseline', '--to', '0001', '--url', 'sqlite:app.db'], { cwd: dir, encoding: 'utf8' });
  if (baseline.status !== 0) throw new Error(baseline.stderr);
  return dir;
}

function timeCairn(guarded) {
  const dir = project(guarded);
  try {
    const started = performance.now();
    const up = spawnSync(process.execPath, [CLI, 'up', '--url', 'sqlite:app.db', '--no-backup'], { cwd: dir, encoding: 'utf8' });
    const ms = performance.now() - started;
    if (up.status !== 0) throw new Error(up.stderr);
    return ms;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function timeRaw() {
  const dir = project(true);
  try {
    const started = performance.now();
    const db = new Database(join(dir, 'app.db'));
    db.transaction(() => {
      if (!db.prepare(GUARD).pluck().get()) throw new Error('duplicate');
      db.exec(INDEX);
    })();
    db.close();
    return performance.now() - started;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = {};
for (const [name, run] of [['raw engine (check + index)', timeRaw], ['cairn up, no guard', () => timeCairn(false)], ['cairn up, assert-unique', () => timeCairn(true)]]) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    log(`${name}: run ${i + 1}/${runs}`);
    times.push(run());
  }
  results[name] = Math.round(median(times));
}
if (options.has('--json')) console.log(JSON.stringify({ n, runs, ms: results }, null, 2));
else {
  const raw = results['raw engine (check + index)'];
  console.log(`${n.toLocaleString('en')} rows, median of ${runs}`);
  for (const [name, ms] of Object.entries(results)) console.log(`  ${name.padEnd(28)} ${String(ms).padStart(7)} ms  ${(ms / raw).toFixed(2)}x raw`);
  console.log(`  guard's own cost: ${results['cairn up, assert-unique'] - results['cairn up, no guard']} ms`);
}
