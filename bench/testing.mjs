#!/usr/bin/env node
// createTestDatabase (cairn-migrate/testing) next to what a test suite does
// without it: running every migration into a fresh database. And `cairn codegen`
// on the same schema.
//
//   node bench/testing.mjs [--n 1000] [--copies 50] [--runs 3] [--engines sqlite,memory,postgres] [--pg-url URL] [--work MS] [--json]
//
// Engines: sqlite (a file copy per test), memory (SQLite `:memory:`, the template deserialized), postgres (CREATE DATABASE … TEMPLATE),
// pglite (not by default: a copy of the template's data directory; migrating runs in PGlite in memory).
//
// Per engine, on the N generated migrations (bench/generate.mjs), in one process:
//   - migrate: createCairn({ url: <fresh database> }).up(), median of --runs: the cost per test without a template;
//   - template build: the first createTestDatabase (runs the migrations once, as `up` does);
//   - on demand: median of --copies createTestDatabase({ copyAhead: false }) calls once the template exists: each call copies;
//   - made ahead: median of --copies createTestDatabase() calls, as a test suite makes them: from the process's second call
//     the next copy is made in the background while the test runs, here while close() runs and for --work MS after it
//     (a test's own work; 0 by default), so a call takes a copy that is ready or waits for the rest of one under way;
//   - close: median of the matching close() calls;
//   - first call of a process: median of --processes new Node processes (one after another) that each time their first
//     createTestDatabase() (config, the key of every file, connecting, taking a copy), the template built; for PostgreSQL
//     once its spares are back and the drops after close() done (up to 30 s of waiting: what the next suite started sees).
// Then `cairn codegen` (a process, replaying the N migrations in a scratch SQLite file), median of --runs.
// Scaling: a copy grows with the schema's size (a file copy, CREATE DATABASE … TEMPLATE),
// not with the number of migrations; migrating and codegen grow linearly with N.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { CLI, DEFAULT_PG_URL, flags, log, median, root } from './common.mjs';
import { generate } from './generate.mjs';

const args = flags(process.argv.slice(2), 'node bench/testing.mjs [--n 1000] [--copies 50] [--runs 3] [--engines sqlite,memory,postgres] [--pg-url URL] [--work MS] [--processes 5] [--json]');
const n = Number(args.value('--n', '1000'));
const copies = Number(args.value('--copies', '50'));
const runs = Number(args.value('--runs', '3'));
const engines = args.value('--engines', 'sqlite,memory,postgres').split(',');
const pgUrl = args.value('--pg-url', DEFAULT_PG_URL);
const work = Number(args.value('--work', '0'));
const processes = Number(args.value('--processes', '5'));

const { createCairn } = await import(join(root, 'dist/index.js'));
const { createTestDatabase } = await import(join(root, 'dist/testing/index.js'));

const project = mkdtempSync(join(tmpdir(), 'cairn-bench-testing-'));
generate(join(project, 'migrations'), n);
const env = { ...process.env, DATABASE_URL: '', CAIRN_ENV: '' };
process.env.CAIRN_ENV = '';

async function time(work) {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

async function pgAdmin(sql) {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A new process's first createTestDatabase, timed inside it (the call only: not Node's start-up nor the import). */
function firstCall(url) {
  const script = `const { createTestDatabase } = await import(${JSON.stringify(join(root, 'dist/testing/index.js'))});
const started = performance.now();
const db = await createTestDatabase({ cwd: ${JSON.stringify(project)}, url: ${JSON.stringify(url)} });
const ms = performance.now() - started;
await db.close();
console.log(ms);`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: project, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`first call failed: ${result.stderr}`);
  return Number(result.stdout.trim());
}

/** Waits (up to 30 s) until the project's spares on the server are back to 2 and no copy is being made or dropped (2 s when none come). */
async function sparesBack(dir) {
  const { createHash } = await import('node:crypto');
  const prefix = `cairn_spare_${createHash('sha256').update(dir).digest('hex').slice(0, 8)}_`;
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    for (let waited = 0; waited < 30_000; waited += 100) {
      const { rows: [row] } = await client.query("SELECT (SELECT count(*) FROM pg_database WHERE starts_with(datname, $1))::int AS spares, (SELECT count(*) FROM pg_stat_activity WHERE (strpos(query, $1) > 0 OR strpos(query, $2) > 0) AND (query ILIKE 'CREATE DATABASE%' OR query ILIKE 'DROP DATABASE%') AND state = 'active')::int AS making", [prefix, prefix.replace('cairn_spare_', 'cairn_testdb_')]);
      if (row.making === 0 && (row.spares >= 2 || (row.spares === 0 && waited >= 2000))) return; // a build without spares: none come
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await client.end();
  }
}

const rows = [];
try {
  for (const engine of engines) {
    const url = engine === 'postgres' ? pgUrl : engine === 'memory' ? ':memory:' : engine === 'pglite' ? 'pglite:' : 'sqlite:';
    log(`${engine}: migrating ${n} migrations into a fresh database, ${runs} runs`);
    const migrate = [];
    for (let run = 0; run < runs; run++) {
      const name = `cairn_bench_${process.pid}_testing_${run}`;
      const target = engine === 'postgres' ? pgUrl.replace(/\/[^/?]*(\?.*)?$/, `/${name}`) : engine === 'memory' ? ':memory:' : engine === 'pglite' ? 'pglite:' : `sqlite:${join(project, `migrate-${run}.db`)}`;
      if (engine === 'postgres') await pgAdmin(`CREATE DATABASE ${name}`);
      try {
        const { ms, value } = await time(() => createCairn({ cwd: project, url: target, envVars: env }).up({ skipHealthCheck: true }));
        if (!value.success) throw new Error(`up failed: ${JSON.stringify(value.errors[0])}`);
        migrate.push(ms);
      } finally {
        if (engine === 'postgres') await pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }
    }
    log(`${engine}: building the template, then ${copies} test databases`);
    const build = await time(() => createTestDatabase({ cwd: project, url }));
    if (!build.value.template.built) log(`${engine}: the template already existed (SQLite files and :memory: share one): build time not measured`);
    await build.value.close();
    const onDemand = [];
    for (let i = 0; i < copies; i++) {
      const made = await time(() => createTestDatabase({ cwd: project, url, copyAhead: false }));
      onDemand.push(made.ms);
      await made.value.close();
    }
    const create = [];
    const close = [];
    for (let i = 0; i < copies; i++) {
      const made = await time(() => createTestDatabase({ cwd: project, url }));
      create.push(made.ms);
      close.push((await time(() => made.value.close())).ms);
      if (work > 0) await new Promise((resolve) => setTimeout(resolve, work));
    }
    const first = [];
    for (let i = 0; i < processes; i++) {
      if (engine === 'postgres') await sparesBack(project);
      first.push(firstCall(url));
    }
    rows.push({ engine, n, migrateMs: median(migrate), templateBuildMs: build.value.template.built ? build.ms : null, onDemandMs: median(onDemand), freshMs: median(create), closeMs: median(close), firstCallMs: processes > 0 ? median(first) : null, ratio: median(migrate) / median(create), onDemandRatio: median(migrate) / median(onDemand) });
  }

  log(`codegen: ${runs} runs of \`cairn codegen\` on ${n} migrations (SQLite scratch replay)`);
  const codegen = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const result = spawnSync(process.execPath, [CLI, '--url', 'sqlite:app.db', 'codegen', '--out', `schema-${run}.ts`], { cwd: project, env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`codegen failed: ${result.stderr}`);
    codegen.push(performance.now() - started);
  }
  const codegenMs = median(codegen);

  if (args.has('--json')) {
    console.log(JSON.stringify({ n, copies, runs, engines: rows, codegenMs }, null, 2));
  } else {
    const f = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`);
    console.log(`${n} migrations (bench/generate.mjs); median of ${runs} migrate runs and ${copies} test databases\n`);
    console.log(`createTestDatabase: on demand (copyAhead: false), and made ahead (the default; ${work} ms of test work after close())\n`);
    console.log('| engine | migrate into a fresh database | template build (once) | on demand | faster | made ahead | faster | close() | first call of a process |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const row of rows) console.log(`| ${row.engine} | ${f(row.migrateMs)} | ${row.templateBuildMs === null ? '— (shared)' : f(row.templateBuildMs)} | ${f(row.onDemandMs)} | ${Math.round(row.onDemandRatio)}× | ${f(row.freshMs)} | ${Math.round(row.ratio)}× | ${f(row.closeMs)} | ${row.firstCallMs === null ? '—' : f(row.firstCallMs)} |`);
    console.log(`\n\`cairn codegen\` (process, scratch replay of ${n} migrations): ${f(codegenMs)}`);
  }
} finally {
  // The templates this project left: its directory (SQLite) and, on the server, cairn_tpl_<project>_* and the spares kept
  // with it (cairn_spare_<project>_*), and test databases still being dropped in the background (cairn_testdb_<project>_*).
  if (engines.includes('postgres')) {
    const { createHash } = await import('node:crypto');
    const id = createHash('sha256').update(project).digest('hex').slice(0, 8);
    const client = new pg.Client({ connectionString: pgUrl });
    client.on('error', () => undefined);
    await client.connect();
    const { rows: left } = await client.query("SELECT datname FROM pg_database WHERE datname ~ ('^cairn_(tpl|spare|testdb)_' || $1 || '_')", [id]);
    // Only templates are altered first: ALTER DATABASE on a database this process is still dropping in the background is FATAL.
    for (const { datname } of left) await (datname.startsWith('cairn_tpl_') ? client.query(`ALTER DATABASE "${datname}" IS_TEMPLATE false`) : Promise.resolve()).then(() => client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`)).catch(() => undefined);
    await client.end();
  }
  rmSync(project, { recursive: true, force: true });
}
