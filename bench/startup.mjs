#!/usr/bin/env node
// What a user waits for when nothing needs doing: process start and the commands that only
// read. Median of --runs wall times (process start included) of
//   node -e 0                       the floor: Node itself
//   cairn --version                 Node + Cairn's entry point
//   cairn status                    1000 applied migrations (--n), SQLite file
//   cairn up                        the same, nothing pending
// next to dbmate's --version, status and up on the same files (its native binary, installed
// into bench/.peers on first use like apply.mjs does). `status` is timed twice: with the lint
// and file caches Cairn keeps (node_modules/.cache/cairn, here a temp CAIRN_CACHE_DIR), and with
// CAIRN_NO_CACHE=1, where it reads and lints every file to classify it.
// Each figure grows with: --version nothing; status and up the files read and checksummed
// (linear in --n), plus, without the cache, the lint of every file (also linear).
//
//   npm run build && node bench/startup.mjs [--n 1000] [--runs 21] [--json] [--cli path/to/dist/bin/cairn.js] [--before path/to/old/dist/bin/cairn.js]
// --cli times another build of Cairn (e.g. an older commit's dist/); --before times a second build in the
// same runs, its cases rotated with the others, for a before/after measured under one load.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from './generate.mjs';
import { CLI, dbmateBinary, fatal, flags, log, median } from './common.mjs';

const { value, has } = flags(process.argv.slice(2), 'node bench/startup.mjs [--n 1000] [--runs 21] [--json] [--cli dist/bin/cairn.js] [--before old/dist/bin/cairn.js]');
const cli = value('--cli', CLI);
const before = value('--before', '');
const n = Number(value('--n', '1000'));
const runs = Number(value('--runs', '21'));
if (!Number.isInteger(n) || n < 1 || !Number.isInteger(runs) || runs < 1) fatal('--n and --runs must be positive whole numbers');

const work = mkdtempSync(join(tmpdir(), 'cairn-bench-startup-'));
const cache = join(work, 'cache');
const env = { ...process.env, CAIRN_CACHE_DIR: cache, CAIRN_NO_CACHE: '' };

function run(command, args, extraEnv = {}) {
  const started = performance.now();
  const result = spawnSync(command, args, { cwd: work, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - started;
  if (result.status !== 0 && !(command !== process.execPath && args.includes('status'))) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}):\n${result.stderr || result.stdout}`);
  }
  return ms;
}

try {
  const dir = join(work, 'migrations');
  generate(dir, n);
  const generated = performance.now();
  const cairnUrl = `sqlite:${join(work, 'cairn.db')}`;
  const dbmateUrl = `sqlite:${join(work, 'dbmate.db')}`;
  const cairn = (...args) => [process.execPath, [cli, '--url', cairnUrl, '--dir', dir, ...args]];
  const old = (...args) => [process.execPath, [before, '--url', cairnUrl, '--dir', dir, ...args]];
  const DBMATE = await dbmateBinary();
  const dbmate = (...args) => [DBMATE, ['--url', dbmateUrl, '--migrations-dir', dir, '--no-dump-schema', ...args]];
  log(`applying ${n} migrations with cairn and dbmate ...`);
  run(...cairn('up'));
  run(...dbmate('up'));

  const cases = [
    ['node -e 0', [process.execPath, ['-e', '0']]],
    ['cairn --version', [process.execPath, [cli, '--version']]],
    ['dbmate --version', [DBMATE, ['--version']]],
    [`cairn status (${n} applied, lint cache)`, cairn('status')],
    [`cairn status (${n} applied, CAIRN_NO_CACHE=1)`, cairn('status'), { CAIRN_NO_CACHE: '1' }],
    [`dbmate status (${n} applied)`, dbmate('status')],
    [`cairn up (nothing pending)`, cairn('up')],
    [`dbmate up (nothing pending)`, dbmate('up')],
    ...(before
      ? [
          ['before: cairn --version', [process.execPath, [before, '--version']]],
          [`before: cairn status (${n} applied, lint cache)`, old('status')],
          [`before: cairn status (${n} applied, CAIRN_NO_CACHE=1)`, old('status'), { CAIRN_NO_CACHE: '1' }],
          ['before: cairn up (nothing pending)', old('up')],
        ]
      : []),
  ];
  // The file cache keeps only files unchanged for 2 s (src/source/file-cache.ts): fill it once they are, as a user's next command would.
  const age = performance.now() - generated;
  if (age < 2500) await new Promise((resolve) => setTimeout(resolve, 2500 - age));
  run(...cairn('status'));
  if (before) run(...old('status')); // fills its lint cache, as `up` did for this build's
  const samples = new Map(cases.map(([name]) => [name, []]));
  for (let r = 0; r < runs; r++) {
    log(`run ${r + 1}/${runs}`);
    // Rotate the order, so a slow spell of the machine does not always land on the same case.
    for (let i = 0; i < cases.length; i++) {
      const [name, [command, args], extraEnv] = cases[(i + r) % cases.length];
      samples.get(name).push(run(command, args, extraEnv));
    }
  }
  const floor = median(samples.get('node -e 0'));
  const rows = cases.map(([name]) => ({ name, medianMs: median(samples.get(name)), minMs: Math.min(...samples.get(name)), overNode: median(samples.get(name)) / floor }));
  if (has('--json')) {
    console.log(JSON.stringify({ n, runs, node: process.version, cpus: cpus().length, load: loadavg()[0], rows, samples: Object.fromEntries(samples) }, null, 2));
  } else {
    console.log(`${cpus().length} × ${cpus()[0]?.model}, node ${process.version}, load ${loadavg()[0].toFixed(1)}; median of ${runs} runs, ${n} migrations`);
    console.log('| command | median | min | ÷ `node -e 0` |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const row of rows) console.log(`| ${row.name} | ${row.medianMs.toFixed(0)} ms | ${row.minMs.toFixed(0)} ms | ${row.overNode.toFixed(2)}× |`);
  }
} finally {
  if (!has('--keep')) rmSync(work, { recursive: true, force: true });
  else log(`kept ${work}`);
}

