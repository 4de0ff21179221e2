#!/usr/bin/env node
// `cairn verify` (each migration up, down, up again in a scratch database, schemas compared)
// next to a plain `cairn up` of the same N generated migrations. Target: verify ≤ 3× up.
//
//   npm run build && node bench/verify.mjs [--n 1000] [--engines sqlite,postgres] [--runs 3]
//                                          [--pg-url postgres://postgres@127.0.0.1:5432/postgres] [--json]
//                                          [--before-cli /path/to/an/older/build/dist/bin/cairn.js]
//
// --before-cli runs an older build's up and verify in the same runs, interleaved with this one's,
// so a before/after comparison is measured at the same load.
//
// Wall time of one command, process start included; the best of --runs (medians in --json).
// `up` runs on a fresh database each time; verify makes (and drops) its own scratch database:
// a temporary SQLite file, or CREATE DATABASE on the server of --pg-url (or BENCH_PG_URL).
// Both commands lint the files first, as a user gets them; verify lints all N, up the N pending.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, DEFAULT_PG_URL, fatal, flags, log, median, root } from './common.mjs';
import { generate } from './generate.mjs';

const { value, has } = flags(process.argv.slice(2), 'node bench/verify.mjs [--n 1000] [--engines sqlite,postgres] [--runs 3] [--pg-url URL] [--before-cli PATH] [--json]');
const options = {
  n: Number(value('--n', '1000')),
  runs: Number(value('--runs', '3')),
  engines: value('--engines', 'sqlite,postgres').split(','),
  pgUrl: value('--pg-url', DEFAULT_PG_URL),
  json: has('--json'),
  beforeCli: value('--before-cli', null),
};
if (!Number.isInteger(options.n) || options.n < 1 || !Number.isInteger(options.runs) || options.runs < 1) fatal('--n and --runs must be positive whole numbers');
if (options.engines.some((e) => !['sqlite', 'postgres'].includes(e))) fatal('--engines takes sqlite, postgres');


function run(command, commandArgs, what) {
  const started = performance.now();
  const result = spawnSync(command, commandArgs, { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, DATABASE_URL: '' } });
  const ms = performance.now() - started;
  if (result.error || result.status !== 0) {
    throw new Error(`${what} failed (${result.error?.message ?? `exit ${result.status}`}):\n${(result.stderr || result.stdout || '').trim().split('\n').slice(-15).join('\n')}`);
  }
  return { ms, stdout: result.stdout };
}

const psql = (url, sql) => run('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], sql);
const pgDatabases = new Set();
function freshDatabase(engine, work, tag) {
  if (engine === 'sqlite') {
    const path = join(work, `${tag}.db`);
    return { url: `sqlite:${path}`, drop: () => rmSync(path, { force: true }) };
  }
  const name = `cairn_bench_${process.pid}_${tag}`;
  psql(options.pgUrl, `CREATE DATABASE ${name}`);
  pgDatabases.add(name);
  const url = new URL(options.pgUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => dropDatabase(name) };
}
function dropDatabase(name) {
  spawnSync('psql', ['-X', '-q', '-d', options.pgUrl, '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], { stdio: 'ignore' });
  pgDatabases.delete(name);
}


async function main() {
  if (!existsSync(CLI)) fatal('dist/bin/cairn.js is missing: run `npm run build` first');
  const loadBefore = loadavg()[0];
  if (loadBefore > cpus().length / 2) log(`warning: load average is ${loadBefore.toFixed(1)} on ${cpus().length} cores: figures will be noisy`);
  const work = mkdtempSync(join(tmpdir(), 'cairn-bench-verify-'));
  const dir = join(work, 'migrations');
  generate(dir, options.n);
  const results = [];
  try {
    const builds = options.beforeCli ? [['before', options.beforeCli], ['after', CLI]] : [['', CLI]];
    for (const engine of options.engines) {
      for (const [build] of builds) results.push({ engine, build, samples: { up: [], verify: [] } });
      for (let r = 1; r <= options.runs; r++) {
        // Alternate which goes first, so a slow spell does not always land on the same one.
        const order = builds.flatMap(([build, cli]) => ['up', 'verify'].map((what) => ({ build, cli, what })));
        for (const { build, cli, what } of r % 2 ? order : order.reverse()) {
          const db = freshDatabase(engine, work, `${what}_${build || 'x'}_${r}`);
          try {
            const { ms, stdout } = run(process.execPath, [cli, '--url', db.url, '--dir', dir, what, ...(what === 'verify' ? ['--json'] : [])], `cairn ${what}`);
            if (what === 'verify') {
              const report = JSON.parse(stdout);
              if (!report.ok || report.migrations.length !== options.n) throw new Error(`verify did not pass all ${options.n} migrations`);
            }
            results.find((x) => x.engine === engine && x.build === build).samples[what].push(ms);
            log(`  ${engine}${build ? ` ${build}` : ''} run ${r}/${options.runs}: ${what} ${Math.round(ms)} ms`);
          } finally {
            db.drop();
          }
        }
      }
    }
    for (const r of results) {
      const { up, verify } = r.samples;
      Object.assign(r, { upMs: Math.min(...up), verifyMs: Math.min(...verify), ratio: Math.min(...verify) / Math.min(...up), median: { upMs: median(up), verifyMs: median(verify) } });
    }
  } finally {
    for (const name of [...pgDatabases]) dropDatabase(name);
    rmSync(work, { recursive: true, force: true });
  }
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', loadAverage: { before: loadBefore, after: loadavg()[0] } };
  const cairnVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  if (options.json) return console.log(JSON.stringify({ n: options.n, runs: options.runs, machine, node: process.version, cairn: cairnVersion, results }, null, 2));
  const s = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
  console.log(`\nN = ${options.n} migrations (CREATE TABLE + CREATE INDEX, with down), best of ${options.runs}; ${machine.cpus} × ${machine.cpu}, node ${process.version}; load ${loadBefore.toFixed(2)} before, ${machine.loadAverage.after.toFixed(2)} after\n`);
  // Issue 10's targets: verify ≤ 3× up on PostgreSQL, ≤ 2× on SQLite.
  const target = (engine) => (engine === 'sqlite' ? 2 : 3);
  console.log('| engine | build | cairn up | cairn verify | verify / up | median up / verify | target |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | --- |');
  for (const r of results) {
    const t = target(r.engine);
    console.log(`| ${r.engine} | ${r.build || '—'} | ${s(r.upMs)} | ${s(r.verifyMs)} | ${r.ratio.toFixed(2)}× | ${s(r.median.upMs)} / ${s(r.median.verifyMs)} | ≤ ${t}× ${r.ratio <= t ? 'met' : 'not met'} |`);
  }
}

process.on('SIGINT', () => undefined);
try {
  await main();
} catch (error) {
  process.stderr.write(`bench: ${error.message}\n`);
  process.exit(1);
}
