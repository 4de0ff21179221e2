#!/usr/bin/env node
// Applies N generated migrations to a local D1 (miniflare, the database `wrangler dev` uses) with
// `cairn up --url d1://local/<id>` and with `wrangler d1 migrations apply DB --local`, and reports
// wall times and the ratio.
//
//   npm run build && node bench/d1.mjs [--n 1000] [--runs 3] [--wrangler-n 10,40] [--json] [--keep]
//
// Wrangler starts a new local D1 for every migration it applies (about 0.3 s each on this machine),
// so 1000 would take minutes: it is run at the two counts of --wrangler-n, and its time for N is
// extrapolated from them (fixed cost + N × cost per migration, both measured), as the report says.
// Every figure is the wall time of one command, process start included, in a fresh project
// directory; the best of --runs. Both tools get the same SQL: Cairn's files carry
// `-- migrate:up/down` markers, wrangler's hold only the up section (it would run a down section too).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, flags, log, root } from './common.mjs';
import { generate, migrationText, upSection, widthFor } from './generate.mjs';

const WRANGLER = join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const DATABASE_ID = 'bench-d1';

const options = parseArgs(process.argv.slice(2));

function parseArgs(args) {
  const { value } = flags(args, 'node bench/d1.mjs [--n 1000] [--runs 3] [--wrangler-n 10,40] [--json] [--keep]');
  const result = {
    n: Number(value('--n', '1000')),
    runs: Number(value('--runs', '3')),
    wranglerN: value('--wrangler-n', '10,40').split(',').map(Number),
    json: args.includes('--json'),
    keep: args.includes('--keep'),
  };
  const counts = [result.n, result.runs, ...result.wranglerN];
  if (!counts.every((n) => Number.isInteger(n) && n >= 1) || result.wranglerN.length !== 2 || result.wranglerN[0] >= result.wranglerN[1]) {
    log('bench: --n and --runs must be positive whole numbers, --wrangler-n two increasing ones (e.g. 10,40)');
    process.exit(2);
  }
  return result;
}

/** Runs a command to completion in `cwd`; throws with its output if it fails. Returns stdout and wall time. */
function run(args, cwd, env = {}) {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { cwd, env: { ...process.env, DATABASE_URL: '', ...env }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - started;
  if (result.error || result.status !== 0) {
    throw new Error(`${args.slice(0, 3).join(' ')} failed (${result.error?.message ?? `exit ${result.status}`}):\n${(result.stderr || result.stdout || '').trim().split('\n').slice(-15).join('\n')}`);
  }
  return { ms, stdout: result.stdout };
}

const scratch = [];
function project(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

/** `cairn up` on an empty local D1 (wrangler's default place, .wrangler/state, in a fresh project). */
function cairnUp(n) {
  const dir = project('cairn-bench-d1-');
  generate(join(dir, 'migrations'), n);
  const url = `d1://local/${DATABASE_ID}`;
  const first = run([CLI, 'up', '--url', url, '--json'], dir);
  const applied = JSON.parse(first.stdout).filesExecuted;
  if (applied !== n) throw new Error(`cairn applied ${applied} of ${n}`);
  const again = run([CLI, 'up', '--url', url, '--json'], dir);
  return { pending: first.ms, nothingPending: again.ms };
}

/** `wrangler d1 migrations apply DB --local` on an empty local D1, the same SQL as plain files. */
function wranglerApply(n) {
  const dir = project('wrangler-bench-d1-');
  const width = widthFor(n);
  mkdirSync(join(dir, 'migrations'));
  for (let i = 1; i <= n; i++) writeFileSync(join(dir, 'migrations', `${String(i).padStart(width, '0')}_create_t.sql`), `${upSection(migrationText(i, width))}\n`);
  writeFileSync(join(dir, 'wrangler.toml'), `name = "bench"\ncompatibility_date = "2025-01-01"\n\n[[d1_databases]]\nbinding = "DB"\ndatabase_name = "bench"\ndatabase_id = "${DATABASE_ID}"\n`);
  const env = { CI: '1', WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_API_TOKEN: '' };
  const { ms, stdout } = run([WRANGLER, 'd1', 'migrations', 'apply', 'DB', '--local'], dir, env);
  const applied = (stdout.slice(stdout.lastIndexOf('┌')).match(/✅/g) ?? []).length; // the last table lists every migration once
  if (applied !== n) throw new Error(`wrangler applied ${applied} of ${n}:\n${stdout.slice(-2000)}`);
  return ms;
}

const best = (samples) => Math.min(...samples);
const seconds = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);

function main() {
  const loadBefore = loadavg()[0];
  if (loadBefore > cpus().length / 2) log(`warning: load average is ${loadBefore.toFixed(1)} on ${cpus().length} cores: something else is running, figures will be noisy`);
  const cairn = [];
  const wrangler = { [options.wranglerN[0]]: [], [options.wranglerN[1]]: [] };
  try {
    for (let i = 0; i < options.runs; i++) {
      log(`run ${i + 1}/${options.runs}: cairn up, ${options.n} migrations`);
      cairn.push(cairnUp(options.n));
      for (const n of options.wranglerN) {
        log(`run ${i + 1}/${options.runs}: wrangler d1 migrations apply, ${n} migrations`);
        wrangler[n].push(wranglerApply(n));
      }
    }
  } finally {
    if (!options.keep) for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  }
  const [small, large] = options.wranglerN;
  const perMigration = (best(wrangler[large]) - best(wrangler[small])) / (large - small);
  const fixed = best(wrangler[small]) - small * perMigration;
  const wranglerEstimate = fixed + options.n * perMigration;
  const cairnBest = best(cairn.map((c) => c.pending));
  const report = {
    n: options.n,
    runs: options.runs,
    cairn: { upPendingMs: cairnBest, upNothingPendingMs: best(cairn.map((c) => c.nothingPending)), samples: cairn },
    wrangler: { measured: Object.fromEntries(options.wranglerN.map((n) => [n, { bestMs: best(wrangler[n]), samples: wrangler[n] }])), fixedMs: fixed, perMigrationMs: perMigration, estimateMs: wranglerEstimate },
    ratio: wranglerEstimate / cairnBest,
    targets: { ratioAtLeast40: wranglerEstimate / cairnBest >= 40, cairnAtMost5s: cairnBest <= 5000 },
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version, loadAverage: { before: loadBefore, after: loadavg()[0] } },
  };
  if (options.json) return console.log(JSON.stringify(report, null, 2));
  console.log(`\nlocal D1 (miniflare), best of ${options.runs}:\n`);
  console.log('| tool | migrations | wall time |');
  console.log('| --- | ---: | ---: |');
  console.log(`| cairn up | ${options.n} | ${seconds(cairnBest)} |`);
  console.log(`| cairn up, nothing pending | ${options.n} | ${seconds(report.cairn.upNothingPendingMs)} |`);
  for (const n of options.wranglerN) console.log(`| wrangler d1 migrations apply --local | ${n} | ${seconds(best(wrangler[n]))} |`);
  console.log(`| wrangler, extrapolated (${seconds(fixed)} + ${options.n} × ${seconds(perMigration)}) | ${options.n} | ${seconds(wranglerEstimate)} |`);
  console.log(`\nwrangler ÷ cairn for ${options.n}: ${report.ratio.toFixed(1)}× (target ≥ 40×: ${report.targets.ratioAtLeast40 ? 'met' : 'not met'}); cairn ≤ 5 s: ${report.targets.cairnAtMost5s ? 'met' : 'not met'}`);
  console.log(`load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after, ${cpus().length} cores`);
}

main();
