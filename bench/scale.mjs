#!/usr/bin/env node
// How Cairn's cost grows with the work: one migration file of 1k, 10k and 100k statements
// (one-row INSERTs into one table: a seed file; and a DDL + DML mix), and histories of 1k and
// 10k small migrations. For each: wall time and peak memory (RSS) of `cairn lint`, `up` (on an
// empty database), `status` and `verify`, the ratio of each size to the one before it, and the
// raw engine CLI applying the same SQL (`sqlite3` / `psql`, one transaction per file).
//
//   npm run build && node bench/scale.mjs [--files 1000,10000,100000] [--histories 1000,10000]
//                                         [--kinds inserts,mixed] [--engines sqlite,postgres]
//                                         [--commands lint,up,status,verify] [--seed 74000]
//                                         [--pg-url postgres://postgres@127.0.0.1:5432/postgres] [--json]
//
// --seed N adds the issue's case: one file of N one-row INSERTs, `cairn up` next to sqlite3.
// --files '' or --histories '' skips that part. Each command runs once (the sizes make runs long
// and the ratios are the point); its peak RSS is read from the process itself (cairn: through a
// preloaded hook; the raw CLI: GNU time, when /usr/bin/time exists). Linear cost shows as a
// ratio near the size ratio (10): the issue's target is ≤ 11.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, DEFAULT_PG_URL, fatal, flags, log, root } from './common.mjs';
import { generate, upSection } from './generate.mjs';

const usage = 'node bench/scale.mjs [--files 1000,10000,100000] [--histories 1000,10000] [--kinds inserts,mixed] [--engines sqlite,postgres] [--commands lint,up,status,verify] [--seed N] [--pg-url URL] [--json]';
const { value, has } = flags(process.argv.slice(2), usage);
const list = (flag, fallback) => value(flag, fallback).split(',').filter(Boolean);
const options = {
  files: list('--files', '1000,10000,100000').map(Number),
  histories: list('--histories', '1000,10000').map(Number),
  kinds: list('--kinds', 'inserts,mixed'),
  engines: list('--engines', 'sqlite,postgres'),
  commands: list('--commands', 'lint,up,status,verify'),
  seed: Number(value('--seed', '0')),
  pgUrl: value('--pg-url', DEFAULT_PG_URL),
  json: has('--json'),
};
if ([...options.files, ...options.histories].some((n) => !Number.isInteger(n) || n < 1)) fatal('sizes must be positive whole numbers');
if (options.kinds.some((k) => !['inserts', 'mixed'].includes(k))) fatal('--kinds takes inserts, mixed');
if (options.engines.some((e) => !['sqlite', 'postgres'].includes(e))) fatal('--engines takes sqlite, postgres');
if (options.commands.some((c) => !['lint', 'up', 'status', 'verify'].includes(c))) fatal('--commands takes lint, up, status, verify');

// ---- the SQL --------------------------------------------------------------------------------

const header = (type, allow = '') => `-- Migration: seed reference data\n-- Type: ${type}\n-- Rollback: drops the tables\n${allow}-- migrate:up\n`;

/** One file of n statements: a CREATE TABLE and n - 1 one-row INSERTs. Portable SQL. */
function insertsFile(n) {
  const lines = ['CREATE TABLE ref_items (id INTEGER PRIMARY KEY, code TEXT NOT NULL, label TEXT, price NUMERIC);'];
  for (let i = 1; i < n; i++) lines.push(`INSERT INTO ref_items (id, code, label, price) VALUES (${i}, 'C${i}', 'Item ${i}, the one after ''${i - 1}''', ${(i * 1.25).toFixed(2)});`);
  return `${header('additive')}${lines.join('\n')}\n-- migrate:down\nDROP TABLE ref_items;\n`;
}

/**
 * One file of n statements, a DDL + DML mix in groups of ten over 100 tables it creates first:
 * four INSERTs, an UPDATE and a DELETE, an index and a view created and dropped again. The
 * schema stays the same size as the file grows: SQLite re-reads its whole schema after each DDL
 * statement, so a file that kept adding tables would be quadratic in the engine itself (sqlite3
 * included), whatever Cairn does.
 */
function mixedFile(n) {
  const TABLES = 100;
  const lines = [];
  for (let t = 0; t < Math.min(TABLES, n); t++) lines.push(`CREATE TABLE mix_${t} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score INTEGER NOT NULL DEFAULT 0);`);
  for (let g = 0; lines.length < n; g++) {
    const t = `mix_${g % TABLES}`;
    const id = (k) => g * 4 + k;
    const group = [
      `CREATE INDEX ${t}_g${g}_idx ON ${t} (name, score);`,
      ...[1, 2, 3, 4].map((k) => `INSERT INTO ${t} (id, name, score) VALUES (${id(k)}, 'row ${id(k)}', ${k * 10});`),
      `UPDATE ${t} SET score = score + 1 WHERE id = ${id(2)};`,
      `DELETE FROM ${t} WHERE id = ${id(4)};`,
      `DROP INDEX ${t}_g${g}_idx;`,
      `CREATE VIEW ${t}_g${g}_top AS SELECT id, name FROM ${t} WHERE score > 10;`,
      `DROP VIEW ${t}_g${g}_top;`,
    ];
    lines.push(...group.slice(0, n - lines.length));
  }
  const tables = Array.from({ length: Math.min(TABLES, n) }, (_, t) => `DROP TABLE mix_${t};`);
  // Its indexes are on tables it creates: PostgreSQL's DROP INDEX without CONCURRENTLY blocks nobody here.
  const allow = '-- cairn:allow index-not-concurrent the tables are created in this same file\n';
  return `${header('transformative', allow)}${lines.join('\n')}\n-- migrate:down\n${tables.join('\n')}\n`;
}

// ---- running things ---------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), 'cairn-scale-'));
const HOOK = join(work, 'peak-rss.cjs');
// Preloaded into cairn: its own peak RSS (KB), written where the bench asks, at exit.
writeFileSync(HOOK, "process.on('exit', () => { if (process.env.BENCH_RSS_FILE) require('fs').writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS)); });\n");
const GNU_TIME = existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { encoding: 'utf8' }).status === 0 ? '/usr/bin/time' : null;

/** Runs a command once; returns wall ms and peak RSS in MB (null when unknown). Throws with its output on failure. */
function run(command, args, { stdin, what, okCodes = [0] } = {}) {
  if (stopped) throw new Error('stopped');
  const rssFile = join(work, 'rss');
  rmSync(rssFile, { force: true });
  const node = command === process.execPath;
  const [cmd, cmdArgs] = !node && GNU_TIME ? [GNU_TIME, ['-f', '%M', '-o', rssFile, command, ...args]] : [command, args];
  const started = performance.now();
  const result = spawnSync(cmd, cmdArgs, {
    cwd: root,
    input: stdin ? readFileSync(stdin) : undefined,
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    env: { ...process.env, DATABASE_URL: '', BENCH_RSS_FILE: rssFile, NODE_OPTIONS: node ? `--require ${HOOK}` : (process.env.NODE_OPTIONS ?? '') },
  });
  const ms = performance.now() - started;
  if (result.error || !okCodes.includes(result.status)) {
    throw new Error(`${what ?? command} failed (${result.error?.message ?? `exit ${result.status}`}):\n${(result.stderr || result.stdout || '').trim().split('\n').slice(-10).join('\n')}`);
  }
  const rss = existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1)) / 1024 : null;
  return { ms, rssMb: rss };
}

const pgDatabases = new Set();
const psql = (url, ...args) => ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', url, ...args];
let fresh = 0;

const engines = {
  sqlite: {
    raw: 'sqlite3',
    fresh: () => {
      const path = join(work, `db_${++fresh}.db`);
      return { url: `sqlite:${path}`, raw: path, drop: () => rmSync(path, { force: true }) };
    },
    rawApply: (db, script) => run('sqlite3', ['-bail', db.raw], { stdin: script, what: 'sqlite3' }),
  },
  postgres: {
    raw: 'psql',
    fresh: () => {
      const name = `cairn_scale_${process.pid}_${++fresh}`;
      spawnSync('psql', psql(options.pgUrl, '-c', `CREATE DATABASE ${name}`), { stdio: 'ignore' });
      pgDatabases.add(name);
      const url = new URL(options.pgUrl);
      url.pathname = `/${name}`;
      return { url: url.toString(), raw: url.toString(), drop: () => dropDatabase(name) };
    },
    rawApply: (db, script) => run('psql', psql(db.raw, '-f', script), { what: 'psql' }),
  },
};

function dropDatabase(name) {
  spawnSync('psql', psql(options.pgUrl, '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`), { stdio: 'ignore' });
  pgDatabases.delete(name);
}

const cairn = (dir, url, command) => run(process.execPath, [CLI, '--url', url, '--dir', dir, ...command], { what: `cairn ${command.join(' ')}`, okCodes: command[0] === 'lint' ? [0, 1] : [0] });

/** Every command on one case: a folder of migrations, and the raw script of its up sections. A failure is a result. */
function measure(engine, dir, script) {
  const e = engines[engine];
  const row = {};
  const attempt = (key, work) => {
    try {
      row[key] = work();
    } catch (error) {
      row[key] = { error: error.message.split('\n').slice(0, 2).join(' ') };
    }
  };
  const db = e.fresh();
  // A lint cache of this case's own: \`lint\` starts without one and writes it; \`up\` is timed without
  // it (--no-cache: the lint check in full, as a first deploy that did not run \`cairn lint\` pays);
  // \`status\` and \`verify\` read it, as they do after a lint or an up.
  process.env.CAIRN_CACHE_DIR = join(work, `cache_${++fresh}`);
  try {
    if (options.commands.includes('lint')) attempt('lint', () => cairn(dir, db.url, ['lint', '--format', 'json']));
    if (options.commands.some((c) => c !== 'lint')) attempt('up', () => cairn(dir, db.url, ['--no-cache', 'up']));
    if (options.commands.includes('status')) attempt('status', () => cairn(dir, db.url, ['status']));
  } finally {
    db.drop();
  }
  if (options.commands.includes('verify')) {
    const scratch = e.fresh(); // verify needs a configured database; it replays in a scratch one of its own
    try {
      attempt('verify', () => cairn(dir, scratch.url, ['verify', '--no-schema']));
    } finally {
      scratch.drop();
    }
  }
  const raw = e.fresh();
  try {
    attempt('raw', () => e.rawApply(raw, script));
  } finally {
    raw.drop();
  }
  if (!options.commands.includes('up')) delete row.up;
  return row;
}

function fileCase(kind, n) {
  const dir = join(work, `${kind}_${n}`);
  mkdirSync(dir);
  const text = kind === 'inserts' ? insertsFile(n) : mixedFile(n);
  writeFileSync(join(dir, '0001_seed_reference_data.sql'), text);
  const script = join(work, `${kind}_${n}.sql`);
  writeFileSync(script, `BEGIN;\n${upSection(text)}\nCOMMIT;\n`);
  return { dir, script };
}

function historyCase(n) {
  const dir = join(work, `history_${n}`);
  const files = generate(dir, n);
  const script = join(work, `history_${n}.sql`);
  writeFileSync(script, files.map((f) => `BEGIN;\n${upSection(readFileSync(join(dir, f), 'utf8'))}\nCOMMIT;\n`).join(''));
  return { dir, script };
}

// Ctrl-C reaches the running child too: it dies and counts as failed; no further case starts
// (a signal is seen between cases), and the finally below drops the scratch databases and the
// work folder.
let stopped = false;
process.on('SIGINT', () => (stopped = true));
process.on('SIGTERM', () => (stopped = true));

// ---- main -----------------------------------------------------------------------------------

const results = [];
try {
  if (!existsSync(CLI)) fatal('dist/bin/cairn.js is missing: run `npm run build` first');
  for (const engine of options.engines) {
    if (spawnSync(engines[engine].raw, ['--version'], { stdio: 'ignore' }).status !== 0) fatal(`${engines[engine].raw} is not installed (needed for --engines ${engine})`);
  }
  const load = loadavg()[0];
  if (load > cpus().length / 2) log(`warning: load average is ${load.toFixed(1)} on ${cpus().length} cores: figures will be noisy`);
  const cases = [
    ...options.kinds.flatMap((kind) => options.files.map((n) => ({ group: `one file, ${kind}`, n, make: () => fileCase(kind, n) }))),
    ...options.histories.map((n) => ({ group: 'history', n, make: () => historyCase(n) })),
  ];
  if (options.seed > 0) cases.push({ group: 'seed file (issue 10)', n: options.seed, make: () => fileCase('inserts', options.seed), only: ['sqlite'] });
  for (const c of cases) {
    const { dir, script } = c.make();
    for (const engine of options.engines.filter((e) => !c.only || c.only.includes(e))) {
      // Commands run synchronously: let a pending signal's handler run between cases.
      await new Promise((resolve) => setImmediate(resolve));
      if (stopped) throw new Error('stopped by a signal');
      log(`${engine}: ${c.group}, ${c.n} …`);
      const row = measure(engine, dir, script);
      log(`  ${Object.entries(row).map(([k, v]) => `${k} ${v.error ? 'failed' : `${Math.round(v.ms)} ms`}`).join(', ')}`);
      results.push({ engine, group: c.group, n: c.n, ...row });
    }
    rmSync(dir, { recursive: true, force: true });
  }
} catch (error) {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exitCode = 1;
} finally {
  for (const name of [...pgDatabases]) dropDatabase(name);
  rmSync(work, { recursive: true, force: true });
}

const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, loadAverage: loadavg()[0] };
if (options.json) {
  console.log(JSON.stringify({ machine, results }, null, 2));
} else {
  const columns = [...options.commands, 'raw'].filter((c) => results.some((r) => r[c]));
  const s = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
  const cell = (m) => (!m ? '—' : m.error ? 'failed' : `${s(m.ms)}${m.rssMb ? ` / ${Math.round(m.rssMb)} MB` : ''}`);
  console.log(`\n${machine.cpus} × ${machine.cpu}, node ${machine.node}, load average ${machine.loadAverage.toFixed(2)} at the end. Wall time / peak RSS of one run; ×: time over the size before.\n`);
  console.log(`| engine | case | size | ${columns.map((c) => (c === 'raw' ? 'raw engine' : `\`${c}\``)).join(' | ')} | ${columns.map((c) => `${c} ×`).join(' | ')} | up / raw |`);
  console.log(`| --- | --- | ---: | ${columns.map(() => '---:').join(' | ')} | ${columns.map(() => '---:').join(' | ')} | ---: |`);
  results.forEach((r, i) => {
    const previous = results.slice(0, i).reverse().find((p) => p.engine === r.engine && p.group === r.group);
    const ratio = (c) => (previous?.[c]?.ms && r[c]?.ms ? `${(r[c].ms / previous[c].ms).toFixed(1)}` : '—');
    const upOverRaw = r.up?.ms && r.raw?.ms ? `${(r.up.ms / r.raw.ms).toFixed(2)}×` : '—';
    console.log(`| ${r.engine} | ${r.group} | ${r.n.toLocaleString('en')} | ${columns.map((c) => cell(r[c])).join(' | ')} | ${columns.map(ratio).join(' | ')} | ${upOverRaw} |`);
  });
  const failed = results.flatMap((r) => columns.filter((c) => r[c]?.error).map((c) => `${r.engine} ${r.group} ${r.n} ${c}: ${r[c].error}`));
  if (failed.length > 0) console.log(`\nFailed:\n${failed.map((f) => `  ${f}`).join('\n')}`);
}
