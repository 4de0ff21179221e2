#!/usr/bin/env node
// Applies N generated migrations to an empty database with cairn, dbmate and the
// raw engine CLI (sqlite3 / psql), and reports wall times and ratios.
//
//   npm run build && node bench/apply.mjs [--n 1000] [--engines sqlite,postgres] [--runs 3]
//                                         [--pg-url postgres://postgres@127.0.0.1:5432/postgres] [--pg-synchronous-commit off]
//                                         [--json] [--keep]
//
// Every figure is the wall time of one command, process start included: the best of --runs
// (noise from other processes on the machine only ever adds time); medians are in --json.
// Each tool gets a fresh database per run; PostgreSQL scratch databases are created and
// dropped through --pg-url (or BENCH_PG_URL), which must be allowed to CREATE DATABASE.
// The order of the three tools rotates from run to run, so a slow spell of the disk does not
// always land on the same one. --pg-synchronous-commit off sets it on the scratch databases
// (ALTER DATABASE, so it applies to every client alike): commits stop waiting for the WAL
// flush, to see how much of the time that flush is on a given machine.
// dbmate is installed into bench/.peers on first use (git-ignored); its native binary is run
// directly, not through the npm package's Node wrapper, which would add a Node start to each call.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, upSection, widthFor, writeMigration } from './generate.mjs';
import { CLI, DEFAULT_PG_URL, dbmateBinary, fatal, flags, log, median, root } from './common.mjs';


const options = parseArgs(process.argv.slice(2));

function parseArgs(args) {
  const { value, has } = flags(args, 'node bench/apply.mjs [--n 1000] [--engines sqlite,postgres] [--runs 3] [--pg-url URL] [--pg-synchronous-commit off] [--json] [--keep]');
  const result = {
    n: Number(value('--n', '1000')),
    runs: Number(value('--runs', '3')),
    engines: value('--engines', 'sqlite,postgres').split(','),
    pgUrl: value('--pg-url', DEFAULT_PG_URL),
    pgSynchronousCommit: value('--pg-synchronous-commit', null),
    json: has('--json'),
    keep: has('--keep'),
  };
  if (!Number.isInteger(result.n) || result.n < 1 || !Number.isInteger(result.runs) || result.runs < 1) fatal('--n and --runs must be positive whole numbers');
  const unknown = result.engines.filter((e) => !['sqlite', 'postgres'].includes(e));
  if (unknown.length > 0) fatal(`unknown engine(s) ${unknown.join(', ')}: use sqlite, postgres`);
  if (![null, 'on', 'off'].includes(result.pgSynchronousCommit)) fatal('--pg-synchronous-commit must be on or off');
  return result;
}

/** Runs a command to completion; throws with its output if it fails. Returns stdout and wall time. */
function run(command, args, { stdin, what } = {}) {
  const fd = stdin ? openSync(stdin, 'r') : 'ignore';
  const started = performance.now();
  const result = spawnSync(command, args, { cwd: root, stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - started;
  if (stdin) closeSync(fd);
  if (result.error || result.status !== 0) {
    const why = result.error?.message ?? (result.signal ? `signal ${result.signal}` : `exit ${result.status}`);
    throw new Error(`${what ?? command} failed (${why}):\n${(result.stderr || result.stdout || '').trim().split('\n').slice(-15).join('\n')}`);
  }
  return { ms, stdout: result.stdout.trim() };
}

let DBMATE;

// ---- engines -------------------------------------------------------------------------------

const pgDatabases = new Set();
const psql = (url, ...args) => ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', url, ...args];
const withDatabase = (base, name, params = {}) => {
  const url = new URL(base);
  url.pathname = `/${name}`;
  for (const [key, value] of Object.entries(params)) if (!url.searchParams.has(key)) url.searchParams.set(key, value);
  return url.toString();
};

const engines = {
  sqlite: {
    raw: 'sqlite3',
    // Each tool gets its own file; it does not exist yet (all three tools create it).
    fresh: (work, tag) => {
      const path = join(work, `${tag}.db`);
      return { cairn: `sqlite:${path}`, dbmate: `sqlite:${path}`, raw: path, drop: () => rmSync(path, { force: true }) };
    },
    rawApply: (db, script) => run('sqlite3', ['-bail', db.raw], { stdin: script, what: 'sqlite3' }),
    countTables: (db) => Number(run('sqlite3', [db.raw, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 't\\_%' ESCAPE '\\'"]).stdout),
    versions: () => ({ sqlite3: run('sqlite3', ['--version']).stdout.split(' ')[0] }),
  },
  postgres: {
    raw: 'psql',
    fresh: (_work, tag) => {
      const name = `cairn_bench_${process.pid}_${tag}`.replace(/[^a-z0-9_]/g, '_');
      run('psql', psql(options.pgUrl, '-c', `CREATE DATABASE ${name}`), { what: `CREATE DATABASE ${name}` });
      pgDatabases.add(name);
      if (options.pgSynchronousCommit) run('psql', psql(options.pgUrl, '-c', `ALTER DATABASE ${name} SET synchronous_commit = ${options.pgSynchronousCommit}`));
      const url = withDatabase(options.pgUrl, name);
      return { cairn: url, dbmate: withDatabase(options.pgUrl, name, { sslmode: 'disable' }), raw: url, drop: () => dropDatabase(name) };
    },
    rawApply: (db, script) => run('psql', psql(db.raw, '-f', script), { what: 'psql' }),
    countTables: (db) => Number(run('psql', psql(db.raw, '-c', "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 't\\_%'")).stdout),
    versions: () => ({ psql: run('psql', ['--version']).stdout.split(' ').at(-1), server: run('psql', psql(options.pgUrl, '-c', 'SHOW server_version')).stdout.split(' ')[0] }),
  },
};

function dropDatabase(name) {
  spawnSync('psql', psql(options.pgUrl, '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`), { stdio: 'ignore' });
  pgDatabases.delete(name);
}

const tools = {
  cairn: (dir, url) => [process.execPath, [CLI, '--url', url, '--dir', dir, 'up']],
  dbmate: (dir, url) => [DBMATE, ['--url', url, '--migrations-dir', dir, '--no-dump-schema', 'up']],
};

// ---- the benchmark --------------------------------------------------------------------------

function measure(engineName, work, dir, dirPlusOne, script) {
  const engine = engines[engineName];
  const samples = {}; // key "tool/phase" -> ms[]
  const add = (key, ms) => (samples[key] ??= []).push(ms);
  const order = [...Object.keys(tools), 'raw'];
  for (let r = 1; r <= options.runs; r++) {
    for (const tool of [...order.slice((r - 1) % order.length), ...order.slice(0, (r - 1) % order.length)]) {
      const db = engine.fresh(work, `${tool}_${r}`);
      try {
        if (tool === 'raw') {
          add('raw/up', engine.rawApply(db, script).ms);
        } else {
          const [command, args] = tools[tool](dir, db[tool]);
          add(`${tool}/up`, run(command, args, { what: `${tool} up` }).ms);
          add(`${tool}/noop`, run(command, args, { what: `${tool} up (no-op)` }).ms);
          const [plusCommand, plusArgs] = tools[tool](dirPlusOne, db[tool]);
          add(`${tool}/one`, run(plusCommand, plusArgs, { what: `${tool} up (one more)` }).ms);
        }
        const tables = engine.countTables(db);
        const expected = tool === 'raw' ? options.n : options.n + 1;
        if (tables !== expected) throw new Error(`${engineName}/${tool}: expected ${expected} tables, found ${tables}`);
      } finally {
        db.drop();
      }
      log(`  ${engineName} run ${r}/${options.runs}: ${tool} up ${Math.round(samples[`${tool}/up`].at(-1))} ms${samples[`${tool}/noop`] ? `, no-op ${Math.round(samples[`${tool}/noop`].at(-1))} ms, one more ${Math.round(samples[`${tool}/one`].at(-1))} ms` : ''}`);
    }
  }
  return samples;
}

async function main() {
  if (!existsSync(CLI)) fatal('dist/bin/cairn.js is missing: run `npm run build` first');
  DBMATE = await dbmateBinary();
  for (const name of options.engines) {
    if (spawnSync(engines[name].raw, ['--version'], { stdio: 'ignore' }).status !== 0) fatal(`${engines[name].raw} is not installed (needed for --engines ${name})`);
  }
  const loadBefore = loadavg()[0];
  if (loadBefore > cpus().length / 2) log(`warning: load average is ${loadBefore.toFixed(1)} on ${cpus().length} cores: something else is running, figures will be noisy`);
  const work = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
  const dir = join(work, 'migrations');
  const files = generate(dir, options.n, widthFor(options.n + 1));
  // The same N files plus migration N+1: "one more migration on top of N applied ones".
  const dirPlusOne = join(work, 'migrations-plus-one');
  generate(dirPlusOne, options.n, widthFor(options.n + 1));
  writeMigration(dirPlusOne, options.n + 1, widthFor(options.n + 1));
  // The raw engine runs every up section in one process, one transaction per file, as the tools do.
  const script = join(work, 'raw-up.sql');
  writeFileSync(script, files.map((f) => `BEGIN;\n${upSection(readFileSync(join(dir, f), 'utf8'))}\nCOMMIT;\n`).join(''));

  const versions = {
    cairn: JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version,
    dbmate: run(DBMATE, ['--version']).stdout.replace(/^dbmate version /, ''),
    node: process.version,
  };
  const startup = {
    cairn: Math.min(...[1, 2, 3, 4, 5].map(() => run(process.execPath, [CLI, '--version']).ms)),
    dbmate: Math.min(...[1, 2, 3, 4, 5].map(() => run(DBMATE, ['--version']).ms)),
  };
  const results = [];
  try {
    for (const engine of options.engines) {
      log(`${engine}: applying ${options.n} migrations, ${options.runs} run(s) per tool ...`);
      Object.assign(versions, engines[engine].versions());
      const samples = measure(engine, work, dir, dirPlusOne, script);
      const summary = (pick) => {
        const m = Object.fromEntries(Object.entries(samples).map(([key, values]) => [key, pick(values)]));
        return {
          up: { cairnMs: m['cairn/up'], dbmateMs: m['dbmate/up'], rawMs: m['raw/up'], cairnOverDbmate: m['cairn/up'] / m['dbmate/up'], cairnOverRaw: m['cairn/up'] / m['raw/up'] },
          noop: { cairnMs: m['cairn/noop'], dbmateMs: m['dbmate/noop'], cairnOverDbmate: m['cairn/noop'] / m['dbmate/noop'] },
          oneMore: { cairnMs: m['cairn/one'], dbmateMs: m['dbmate/one'], cairnOverDbmate: m['cairn/one'] / m['dbmate/one'] },
        };
      };
      results.push({ engine, ...summary((values) => Math.min(...values)), median: summary(median), samples });
    }
  } finally {
    for (const name of [...pgDatabases]) dropDatabase(name);
    if (options.keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }

  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', platform: `${process.platform} ${process.arch}`, loadAverage: { before: loadBefore, after: loadavg()[0] } };
  if (options.json) {
    console.log(JSON.stringify({ n: options.n, runs: options.runs, pgSynchronousCommit: options.pgSynchronousCommit ?? 'server default', machine, versions, startupMs: startup, results }, null, 2));
    return;
  }
  const s = (ms) => (ms === undefined ? '—' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
  const x = (ratio) => (ratio === undefined || Number.isNaN(ratio) ? '—' : `${ratio.toFixed(2)}×`);
  const raw = (engine) => engines[engine].raw;
  console.log(`\nN = ${options.n} migrations (CREATE TABLE + CREATE INDEX each), best of ${options.runs} run(s), wall time incl. process start`);
  console.log(`${machine.cpus} × ${machine.cpu}, ${machine.platform}, node ${versions.node}; cairn ${versions.cairn}, dbmate ${versions.dbmate}` +
    `${versions.sqlite3 ? `, sqlite3 ${versions.sqlite3}` : ''}${versions.server ? `, PostgreSQL ${versions.server}` : ''}` +
    `${options.pgSynchronousCommit && options.engines.includes('postgres') ? ` (synchronous_commit = ${options.pgSynchronousCommit})` : ''}` +
    `; load average ${machine.loadAverage.before.toFixed(2)} before, ${machine.loadAverage.after.toFixed(2)} after\n`);
  console.log('| engine | run | cairn | dbmate | raw engine | cairn / dbmate | cairn / raw |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(`| ${r.engine} | \`up\`, ${options.n} pending | ${s(r.up.cairnMs)} | ${s(r.up.dbmateMs)} | ${s(r.up.rawMs)} (${raw(r.engine)}) | ${x(r.up.cairnOverDbmate)} | ${x(r.up.cairnOverRaw)} |`);
    console.log(`| ${r.engine} | \`up\`, nothing pending | ${s(r.noop.cairnMs)} | ${s(r.noop.dbmateMs)} | — | ${x(r.noop.cairnOverDbmate)} | — |`);
    console.log(`| ${r.engine} | \`up\`, 1 pending on top of ${options.n} | ${s(r.oneMore.cairnMs)} | ${s(r.oneMore.dbmateMs)} | — | ${x(r.oneMore.cairnOverDbmate)} | — |`);
  }
  console.log(`| — | process start (\`--version\`) | ${s(startup.cairn)} | ${s(startup.dbmate)} | — | ${x(startup.cairn / startup.dbmate)} | — |`);
  if (options.runs > 1) {
    const range = (values) => `${s(Math.min(...values))}–${s(Math.max(...values))}`;
    console.log(`\nSpread of \`up\` with everything pending (min–max over ${options.runs} runs):`);
    for (const r of results) console.log(`  ${r.engine}: cairn ${range(r.samples['cairn/up'])}, dbmate ${range(r.samples['dbmate/up'])}, ${raw(r.engine)} ${range(r.samples['raw/up'])}`);
  }
}

// Ctrl-C reaches the running child too: it dies, run() throws, and main's finally drops
// the scratch databases. Without a handler, Node would exit at once and leave them behind.
process.on('SIGINT', () => undefined);

try {
  await main();
} catch (error) {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exit(1);
}
