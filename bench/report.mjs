#!/usr/bin/env node
// `cairn report` and `cairn schema`, on SQLite, against what a user would run instead.
//
//   npm run build && node bench/report.mjs [--n 1000] [--tables 200] [--runs 3] [--json]
//
// 1. `cairn report` over N generated migrations (generate.mjs) and three SQLite
//    environments (all applied; N-100 applied; N/2 applied), next to the commands
//    that tell the same by hand: `cairn status --env` per environment + `cairn lint`
//    + `cairn schema`. Also `cairn report --no-schema` (history and lint only).
//    Target: report ≤ 3 s for N=1000.
// 2. `cairn schema --format svg` on a schema of --tables tables joined by foreign
//    keys (each table references an earlier one, every 7th stands alone), next to
//    `cairn codegen` (the same scratch replay, no layout). Target: ≤ 2 s for 200.
// 3. The layout alone (in process: snapshot model → dagre → SVG text) at 50, 100,
//    200, 400 tables, to show how it grows.
//
// Wall time of one command, process start included; the best of --runs; with its CPU time
// (user + sys, from /usr/bin/time where there is one), which a loaded machine distorts less.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, fatal, flags, log, median, root } from './common.mjs';
import { generate } from './generate.mjs';

const { value, has } = flags(process.argv.slice(2), 'node bench/report.mjs [--n 1000] [--tables 200] [--runs 3] [--json]');
const options = { n: Number(value('--n', '1000')), tables: Number(value('--tables', '200')), runs: Number(value('--runs', '3')), json: has('--json') };
if (![options.n, options.tables, options.runs].every((x) => Number.isInteger(x) && x > 0)) fatal('--n, --tables and --runs must be positive whole numbers');
if (options.n < 200) fatal('--n must be at least 200 (the environments are N, N-100 and N/2 migrations in)');

// CPU time (user + sys) of each command too, where GNU time is there: on a shared, loaded
// machine wall time says more about the neighbours than about Cairn.
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const cpu = [];

function cairn(cwd, args) {
  const command = GNU_TIME ? [GNU_TIME, ['-f', 'cairn-cpu %U %S', process.execPath, CLI, ...args]] : [process.execPath, [CLI, ...args]];
  const started = performance.now();
  const result = spawnSync(command[0], command[1], { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, DATABASE_URL: '', CAIRN_ENV: '' } });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`cairn ${args.join(' ')} failed (exit ${result.status}):\n${(result.stderr || result.stdout).trim().split('\n').slice(-10).join('\n')}`);
  const used = /cairn-cpu ([\d.]+) ([\d.]+)/.exec(result.stderr);
  cpu.push(used ? (Number(used[1]) + Number(used[2])) * 1000 : NaN);
  return ms;
}

/** Best wall time of --runs, and the CPU time of that run. */
function timed(what, work) {
  const times = [];
  const cpus = [];
  for (let run = 0; run < options.runs; run++) {
    const mark = cpu.length;
    times.push(work());
    cpus.push(cpu.slice(mark).reduce((a, b) => a + b, 0));
  }
  const best = times.indexOf(Math.min(...times));
  log(`  ${what}: best ${Math.round(times[best])} ms (cpu ${Math.round(cpus[best])} ms)`);
  return { best: times[best], median: median(times), cpu: Math.round(Math.min(...cpus)) };
}

const work = mkdtempSync(join(tmpdir(), 'cairn-bench-report-'));
try {
  // 1. The report over N migrations and three environments.
  log(`report: ${options.n} migrations, 3 SQLite environments (setting up…)`);
  const project = join(work, 'project');
  mkdirSync(project);
  generate(join(project, 'migrations'), options.n);
  const width = Math.max(4, String(options.n).length);
  const version = (i) => String(i).padStart(width, '0');
  writeFileSync(join(project, 'cairn.config.json'), JSON.stringify({ environments: { dev: { database: 'sqlite:dev.db' }, qa: { database: 'sqlite:qa.db' }, production: { database: 'sqlite:production.db' } } }));
  cairn(project, ['up', '--env', 'dev']);
  cairn(project, ['up', '--env', 'qa', '--to', version(options.n - 100)]);
  cairn(project, ['up', '--env', 'production', '--to', version(Math.floor(options.n / 2))]);
  const report = timed('cairn report', () => cairn(project, ['report']));
  const noSchema = timed('cairn report --no-schema', () => cairn(project, ['report', '--no-schema']));
  const byHand = timed('status ×3 + lint + schema', () => ['dev', 'qa', 'production'].reduce((sum, env) => sum + cairn(project, ['status', '--env', env, '--json']), 0) + cairn(project, ['lint', '--json']) + cairn(project, ['schema', '--out', 'schema.svg']));

  // 2. The diagram of a schema of --tables tables.
  log(`schema: ${options.tables} tables with foreign keys`);
  const schemaProject = join(work, 'schema');
  mkdirSync(join(schemaProject, 'migrations'), { recursive: true });
  const name = (i) => `t${String(i).padStart(4, '0')}`;
  for (let i = 1; i <= options.tables; i++) {
    const parent = i % 7 === 0 || i === 1 ? null : Math.floor(i / 2);
    const columns = ['id INTEGER PRIMARY KEY', 'name TEXT NOT NULL', 'created_at TEXT', ...(parent ? [`parent_id INTEGER REFERENCES ${name(parent)} (id) ON DELETE CASCADE`] : [])];
    writeFileSync(join(schemaProject, 'migrations', `${version(i)}_create_${name(i)}.sql`), `CREATE TABLE ${name(i)} (${columns.join(', ')});\n`);
  }
  const svg = timed('cairn schema --format svg', () => cairn(schemaProject, ['--url', 'sqlite:app.db', 'schema', '--format', 'svg', '--out', 'schema.svg']));
  const codegen = timed('cairn codegen (same replay, no layout)', () => cairn(schemaProject, ['--url', 'sqlite:app.db', 'codegen', '--out', 'schema.ts']));

  // 3. The layout alone, in process, as the table count grows.
  const { schemaModel } = await import(pathToFileURL(join(root, 'dist/report/model.js')).href);
  const { renderSvg } = await import(pathToFileURL(join(root, 'dist/report/svg.js')).href);
  const layout = [];
  for (const size of [50, 100, 200, 400]) {
    const objects = {};
    for (let i = 1; i <= size; i++) {
      const t = name(i);
      const parent = i % 7 === 0 || i === 1 ? null : Math.floor(i / 2);
      objects[`table ${t}`] = 'table';
      objects[`columns ${t}`] = ['id', 'name', 'created_at', ...(parent ? ['parent_id'] : [])].join(', ');
      objects[`column ${t}.id`] = 'integer';
      objects[`column ${t}.name`] = 'text not null';
      objects[`column ${t}.created_at`] = 'text';
      objects[`primary key ${t}`] = 'primary key (id)';
      if (parent) {
        objects[`column ${t}.parent_id`] = 'integer';
        objects[`foreign key ${t} (parent_id)`] = `(parent_id) → ${name(parent)} (id) on delete cascade on update no action`;
      }
    }
    const model = schemaModel({ objects });
    const times = [];
    for (let run = 0; run < options.runs; run++) {
      const started = performance.now();
      renderSvg(model);
      times.push(performance.now() - started);
    }
    layout.push({ tables: size, ms: Math.round(Math.min(...times)) });
    log(`  layout of ${size} tables: ${Math.round(Math.min(...times))} ms`);
  }

  const result = {
    machine: { cpus: cpus().length, load: loadavg()[0] },
    report: { migrations: options.n, environments: 3, ms: Math.round(report.best), cpuMs: report.cpu, noSchemaMs: Math.round(noSchema.best), noSchemaCpuMs: noSchema.cpu, byHandMs: Math.round(byHand.best), byHandCpuMs: byHand.cpu, ratio: +(report.best / byHand.best).toFixed(2), target: 3000 },
    schema: { tables: options.tables, ms: Math.round(svg.best), cpuMs: svg.cpu, codegenMs: Math.round(codegen.best), codegenCpuMs: codegen.cpu, ratio: +(svg.best / codegen.best).toFixed(2), target: 2000 },
    layout,
  };
  if (options.json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`cairn report, ${options.n} migrations × 3 environments: ${result.report.ms} ms, cpu ${result.report.cpuMs} ms (target ≤ 3000; --no-schema ${result.report.noSchemaMs} ms, cpu ${result.report.noSchemaCpuMs} ms); by hand (status ×3 + lint + schema): ${result.report.byHandMs} ms, cpu ${result.report.byHandCpuMs} ms; ratio ${result.report.ratio}`);
    console.log(`cairn schema --format svg, ${options.tables} tables: ${result.schema.ms} ms, cpu ${result.schema.cpuMs} ms (target ≤ 2000); cairn codegen on the same: ${result.schema.codegenMs} ms, cpu ${result.schema.codegenCpuMs} ms; ratio ${result.schema.ratio}`);
    console.log(`layout alone: ${layout.map((l) => `${l.tables} tables ${l.ms} ms`).join(', ')}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
