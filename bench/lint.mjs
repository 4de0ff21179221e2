#!/usr/bin/env node
// Lints N generated PostgreSQL migrations with `cairn lint` and with squawk (npm package
// squawk-cli), one process each over all files, and reports wall times and the ratio.
//
//   npm run build && node bench/lint.mjs [--n 1000] [--runs 3] [--json]
//
// Figures are the best of --runs wall times, process start included. squawk is timed both
// through its npm package (a Node wrapper that starts the native binary: what `npx squawk`
// runs) and as the bare native binary. It is installed into bench/.peers on first use
// (git-ignored). The migrations are a realistic mix: most are clean, about one in six has
// something both linters flag (a non-concurrent index, a NOT NULL column without default, …).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, flags, log, root } from './common.mjs';

const PEERS = join(root, 'bench', '.peers');
const SQUAWK_VERSION = '2.66.0';
const SQUAWK_WRAPPER = join(PEERS, 'node_modules', '.bin', 'squawk');
const SQUAWK_NATIVE = join(PEERS, 'node_modules', '@squawk-cli', 'linux-x64', 'bin', 'squawk');

const { value, has } = flags(process.argv.slice(2), 'node bench/lint.mjs [--n 1000] [--runs 3] [--json]');
const n = Number(value('--n', '1000'));
const runs = Number(value('--runs', '3'));
const json = has('--json');

/** Twelve kinds of change, in rotation; the ones marked bad are flagged by both linters. */
function migration(i) {
  const t = `t_${i}`;
  const kinds = [
    `CREATE TABLE ${t} (id bigint PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());`,
    `ALTER TABLE t_${i - 1} ADD COLUMN note text;`,
    `CREATE TABLE ${t} (id bigint PRIMARY KEY, parent_id bigint REFERENCES t_${i - 2} (id));`,
    `-- bad: blocks writes\nCREATE INDEX ${t}_idx ON t_${i - 3} (id);`,
    `CREATE TABLE ${t} (id bigint PRIMARY KEY, label varchar(40));\nCREATE INDEX ${t}_label ON ${t} (label);`,
    `ALTER TABLE t_${i - 1} ADD CONSTRAINT t_${i - 1}_parent_fk FOREIGN KEY (parent_id) REFERENCES t_${i - 3} (id) NOT VALID;`,
    `UPDATE t_${i - 6} SET name = upper(name) WHERE id BETWEEN 1 AND 1000;`,
    `CREATE TABLE ${t} (id bigint PRIMARY KEY, body text);\nCREATE VIEW ${t}_v AS SELECT id, body FROM ${t};`,
    `-- bad: fails on a non-empty table\nALTER TABLE t_${i - 8} ADD COLUMN required_${i} text NOT NULL;`,
    `CREATE TABLE ${t} (id bigint PRIMARY KEY, amount numeric(12,2) NOT NULL DEFAULT 0);`,
    `ALTER TABLE t_${i - 1} ADD COLUMN flag boolean DEFAULT false;`,
    `COMMENT ON TABLE t_${i - 2} IS 'generated for the lint benchmark';`,
  ];
  return `-- Migration: step ${i}\n-- Type: additive\n-- Rollback: none\n-- migrate:up\n${kinds[i % kinds.length]}\n-- migrate:down\nSELECT 1;\n`;
}

function run(command, commandArgs, okCodes = [0], env = process.env) {
  const started = performance.now();
  const result = spawnSync(command, commandArgs, { cwd: root, env, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  const ms = performance.now() - started;
  if (result.error || !okCodes.includes(result.status)) {
    throw new Error(`${command} ${commandArgs.slice(0, 3).join(' ')} … failed (${result.error?.message ?? `exit ${result.status}`}):\n${(result.stderr || result.stdout).slice(-2000)}`);
  }
  return { ms, stdout: result.stdout };
}

function ensureSquawk() {
  if (existsSync(SQUAWK_WRAPPER) && existsSync(SQUAWK_NATIVE)) return;
  log(`installing squawk-cli@${SQUAWK_VERSION} into bench/.peers …`);
  mkdirSync(PEERS, { recursive: true });
  if (!existsSync(join(PEERS, 'package.json'))) writeFileSync(join(PEERS, 'package.json'), '{ "private": true }\n');
  run('npm', ['install', '--prefix', PEERS, '--no-audit', '--no-fund', `squawk-cli@${SQUAWK_VERSION}`]);
}

function best(label, fn) {
  const times = [];
  for (let i = 0; i < runs; i++) times.push(fn().ms);
  const sorted = [...times].sort((a, b) => a - b);
  log(`  ${label}: best ${sorted[0].toFixed(0)} ms, median ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms`);
  return { best: sorted[0], median: sorted[Math.floor(sorted.length / 2)] };
}

if (!existsSync(CLI)) {
  log('dist/bin/cairn.js is missing: run `npm run build` first');
  process.exit(2);
}
ensureSquawk();
const dir = mkdtempSync(join(tmpdir(), 'cairn-lint-bench-'));
const migrations = join(dir, 'migrations');
mkdirSync(migrations);
const width = Math.max(4, String(n).length);
for (let i = 1; i <= n; i++) writeFileSync(join(migrations, `${String(i).padStart(width, '0')}_alter_schema_${i}.sql`), migration(i));
const files = readdirSync(migrations).map((f) => join(migrations, f));

try {
  log(`linting ${n} PostgreSQL migrations, best of ${runs} (${cpus().length} cores)`);
  // --url only chooses the dialect: lint never connects.
  // Cold: every file parsed and checked (--no-cache), what squawk always does. Warm: the lint
  // cache from the run before (kept under a temporary CAIRN_CACHE_DIR), what a second `cairn lint`
  // or the `up` after it pays.
  // Both print their default report (text), as a user runs them; the findings are counted from one
  // more cairn run with --format json, not timed (its 1.1 MB document costs cairn ~20 ms more).
  const lintArgs = [CLI, 'lint', '--dir', migrations, '--url', 'postgres://bench@localhost/none'];
  const cairn = best('cairn lint (cold, --no-cache)', () => run(process.execPath, [...lintArgs, '--no-cache'], [0, 1]));
  const cacheEnv = { ...process.env, CAIRN_CACHE_DIR: join(dir, 'cache') };
  run(process.execPath, lintArgs, [0, 1], cacheEnv);
  const cached = best('cairn lint (lint cache warm)', () => run(process.execPath, lintArgs, [0, 1], cacheEnv));
  const wrapper = best('squawk (npm package)', () => run(SQUAWK_WRAPPER, files, [0, 1]));
  const native = best('squawk (native binary)', () => run(SQUAWK_NATIVE, files, [0, 1]));
  const report = JSON.parse(run(process.execPath, [...lintArgs, '--format', 'json'], [0, 1], cacheEnv).stdout);
  const result = {
    n,
    runs,
    cores: cpus().length,
    ms: { cairn: Math.round(cairn.best), cairnCached: Math.round(cached.best), squawkNpm: Math.round(wrapper.best), squawkNative: Math.round(native.best) },
    ratio: {
      cairnOverSquawkNpm: +(cairn.best / wrapper.best).toFixed(2),
      cairnOverSquawkNative: +(cairn.best / native.best).toFixed(2),
      cairnCachedOverSquawkNative: +(cached.best / native.best).toFixed(2),
    },
    findings: { cairnErrors: report.errors, cairnWarnings: report.warnings },
  };
  if (json) console.log(JSON.stringify(result, null, 2));
  else {
    const ratio = (ms) => `${(cairn.best / ms).toFixed(2)} | ${(cached.best / ms).toFixed(2)}`;
    console.log(`\n| ${n} PostgreSQL files | wall time (best of ${runs}) | cairn cold ÷ this | cairn warm ÷ this |`);
    console.log('| --- | ---: | ---: | ---: |');
    console.log(`| cairn lint, cold (\`--no-cache\`) | ${result.ms.cairn} ms | ${ratio(cairn.best)} |`);
    console.log(`| cairn lint, lint cache warm | ${result.ms.cairnCached} ms | ${ratio(cached.best)} |`);
    console.log(`| squawk (npm package) | ${result.ms.squawkNpm} ms | ${ratio(wrapper.best)} |`);
    console.log(`| squawk (native binary) | ${result.ms.squawkNative} ms | ${ratio(native.best)} |`);
    console.log(`\ncairn found ${report.errors} errors and ${report.warnings} warnings.`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
