#!/usr/bin/env node
// `cairn fleet up` on many databases, next to what a user would otherwise do:
// run the single-database `cairn up` once per database, in parallel by hand.
//
//   npm run build && node bench/fleet.mjs [--tenants 1000] [--schemas 100] [--migrations 20]
//                                          [--engines sqlite,postgres] [--concurrency N]
//                                          [--pg-url postgres://postgres@127.0.0.1:5432/postgres] [--json]
//
// SQLite: --tenants empty tenant files under tenants/, migrated by one `cairn fleet up`
// (process start included). The yardstick is one `cairn up` of the same migrations on one
// fresh file (median of 3, process start included) × tenants ÷ cores: the time of a perfect
// `xargs -P <cores>` loop by hand. The issue asks fleet ≤ 1.5× that. Then the same command
// again with nothing pending (what a deploy pays when no migration is new).
// PostgreSQL: --schemas schemas tenant_0001… in one scratch database (created and dropped
// through --pg-url), migrated by `cairn fleet up` with { url, schemas: 'tenant\_%' }, while
// pg_stat_activity is sampled every 20 ms for the most connections cairn held at once.
// Scaling: both are linear in tenants × migrations; the connection count is bounded by
// --concurrency (default 8 for PostgreSQL), whatever the number of schemas.
// Then, on the migrated fleet: `cairn fleet verify --no-history` (each tenant's schema
// against what its history gives), next to one `cairn drift --url` per tenant by hand
// (median of 3 on one tenant × tenants ÷ cores): the fleet replays each distinct history
// once, so it is linear in tenants (a schema read each) plus one replay, not tenants
// replays. And `cairn fleet down --to <first>` (every migration but the first rolled back
// on every tenant).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { generate } from './generate.mjs';
import { CLI, DEFAULT_PG_URL, fatal, flags, log, median } from './common.mjs';

const { value, has } = flags(process.argv.slice(2), 'node bench/fleet.mjs [--tenants 1000] [--schemas 100] [--migrations 20] [--engines sqlite,postgres] [--concurrency N] [--pg-url URL] [--json]');
const options = {
  tenants: Number(value('--tenants', '1000')),
  schemas: Number(value('--schemas', '100')),
  migrations: Number(value('--migrations', '20')),
  engines: value('--engines', 'sqlite,postgres').split(','),
  concurrency: value('--concurrency', null),
  pgUrl: value('--pg-url', DEFAULT_PG_URL),
  json: has('--json'),
};
const cores = cpus().length;
const concurrencyArgs = options.concurrency ? ['--concurrency', options.concurrency] : [];

/** Runs the CLI in `cwd` and returns its wall time in ms; exits on failure. */
function timed(args, cwd) {
  const started = performance.now();
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, DATABASE_URL: '', CAIRN_ENV: '' }, maxBuffer: 1 << 28 });
  const ms = performance.now() - started;
  if (result.status !== 0) fatal(`cairn ${args.join(' ')} exited ${result.status}:\n${result.stderr}\n${result.stdout.slice(-2000)}`);
  return ms;
}

function project() {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-fleet-'));
  generate(join(dir, 'migrations'), options.migrations);
  return dir;
}

function benchSqlite() {
  const dir = project();
  try {
    log(`sqlite: one \`cairn up\` of ${options.migrations} migrations, 3 times`);
    const singles = [1, 2, 3].map((run) => timed(['up', '--url', `sqlite:single-${run}.db`], dir));
    const single = median(singles);
    mkdirSync(join(dir, 'tenants'));
    for (let i = 1; i <= options.tenants; i++) closeSync(openSync(join(dir, 'tenants', `t${String(i).padStart(5, '0')}.db`), 'w'));
    writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ fleet: { tenants: 'tenants/*.db' } }));
    log(`sqlite: cairn fleet up on ${options.tenants} tenant files`);
    const fleet = timed(['fleet', 'up', ...concurrencyArgs], dir);
    log('sqlite: cairn fleet up again, nothing pending');
    const again = timed(['fleet', 'up', ...concurrencyArgs], dir);
    log('sqlite: one `cairn drift` on one tenant, 3 times');
    const singleDrift = median([1, 2, 3].map(() => timed(['drift', '--url', 'sqlite:tenants/t00001.db'], dir)));
    log(`sqlite: cairn fleet verify --no-history on ${options.tenants} tenant files`);
    const verify = timed(['fleet', 'verify', '--no-history', ...concurrencyArgs], dir);
    log(`sqlite: cairn fleet down --to 0001 on ${options.tenants} tenant files`);
    const down = timed(['fleet', 'down', '--to', '0001', ...concurrencyArgs], dir);
    const byHand = (single * options.tenants) / cores;
    const driftByHand = (singleDrift * options.tenants) / cores;
    return {
      engine: 'sqlite',
      tenants: options.tenants,
      migrations: options.migrations,
      cores,
      singleUpMs: Math.round(single),
      byHandParallelMs: Math.round(byHand),
      fleetUpMs: Math.round(fleet),
      ratioToByHand: Number((fleet / byHand).toFixed(2)),
      databasesPerSecond: Number((options.tenants / (fleet / 1000)).toFixed(1)),
      nothingPendingMs: Math.round(again),
      nothingPendingPerSecond: Number((options.tenants / (again / 1000)).toFixed(1)),
      singleDriftMs: Math.round(singleDrift),
      driftByHandParallelMs: Math.round(driftByHand),
      fleetVerifyMs: Math.round(verify),
      verifyRatioToByHand: Number((verify / driftByHand).toFixed(2)),
      verifyPerSecond: Number((options.tenants / (verify / 1000)).toFixed(1)),
      fleetDownMs: Math.round(down),
      downPerSecond: Number((options.tenants / (down / 1000)).toFixed(1)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchPostgres() {
  const name = `cairn_bench_fleet_${process.pid}`;
  const admin = new pg.Client({ connectionString: options.pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(options.pgUrl);
  url.pathname = `/${name}`;
  const dir = project();
  try {
    const db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    await db.query(Array.from({ length: options.schemas }, (_, i) => `CREATE SCHEMA tenant_${String(i + 1).padStart(4, '0')};`).join('\n'));
    await db.end();
    writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ fleet: { tenants: { url: url.toString(), schemas: 'tenant\\_%' } } }));
    log(`postgres: cairn fleet up on ${options.schemas} schemas`);
    let maxConnections = 0;
    const sample = async () => {
      const { rows } = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'cairn%'", [name]);
      maxConnections = Math.max(maxConnections, rows[0].n);
    };
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, 'fleet', 'up', ...concurrencyArgs], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DATABASE_URL: '', CAIRN_ENV: '' } });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise((resolve) => child.on('close', resolve));
    let done = false;
    void exited.then(() => (done = true));
    while (!done) {
      await sample();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const code = await exited;
    const ms = performance.now() - started;
    if (code !== 0) fatal(`cairn fleet up exited ${code}:\n${stderr}`);
    log('postgres: cairn fleet up again, nothing pending');
    const again = timed(['fleet', 'up', ...concurrencyArgs], dir);
    log(`postgres: cairn fleet verify --no-history on ${options.schemas} schemas`);
    const verify = timed(['fleet', 'verify', '--no-history', ...concurrencyArgs], dir);
    return {
      engine: 'postgres',
      schemas: options.schemas,
      migrations: options.migrations,
      fleetUpMs: Math.round(ms),
      databasesPerSecond: Number((options.schemas / (ms / 1000)).toFixed(1)),
      maxConnections,
      nothingPendingMs: Math.round(again),
      fleetVerifyMs: Math.round(verify),
      verifyPerSecond: Number((options.schemas / (verify / 1000)).toFixed(1)),
    };
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
if (options.engines.includes('sqlite')) results.push(benchSqlite());
if (options.engines.includes('postgres')) results.push(await benchPostgres());
if (options.json) console.log(JSON.stringify(results, null, 2));
else {
  for (const r of results) {
    if (r.engine === 'sqlite') {
      console.log(`SQLite, ${r.tenants} tenant files × ${r.migrations} migrations, ${r.cores} cores`);
      console.log(`  one cairn up (${r.migrations} migrations)         ${r.singleUpMs} ms`);
      console.log(`  by hand in parallel (× ${r.tenants} ÷ ${r.cores})     ${(r.byHandParallelMs / 1000).toFixed(1)} s`);
      console.log(`  cairn fleet up                       ${(r.fleetUpMs / 1000).toFixed(1)} s  (${r.ratioToByHand}× by hand; ${r.databasesPerSecond} databases/s)`);
      console.log(`  cairn fleet up, nothing pending      ${(r.nothingPendingMs / 1000).toFixed(1)} s  (${r.nothingPendingPerSecond} databases/s)`);
      console.log(`  one cairn drift                      ${r.singleDriftMs} ms; by hand in parallel ${(r.driftByHandParallelMs / 1000).toFixed(1)} s`);
      console.log(`  cairn fleet verify --no-history      ${(r.fleetVerifyMs / 1000).toFixed(1)} s  (${r.verifyRatioToByHand}× by hand; ${r.verifyPerSecond} databases/s)`);
      console.log(`  cairn fleet down --to 0001           ${(r.fleetDownMs / 1000).toFixed(1)} s  (${r.downPerSecond} databases/s)`);
    } else {
      console.log(`PostgreSQL, ${r.schemas} schemas × ${r.migrations} migrations on one server`);
      console.log(`  cairn fleet up                       ${(r.fleetUpMs / 1000).toFixed(1)} s  (${r.databasesPerSecond} schemas/s), at most ${r.maxConnections} connections`);
      console.log(`  cairn fleet up, nothing pending      ${(r.nothingPendingMs / 1000).toFixed(1)} s`);
      console.log(`  cairn fleet verify --no-history      ${(r.fleetVerifyMs / 1000).toFixed(1)} s  (${r.verifyPerSecond} schemas/s)`);
    }
  }
}
