import { existsSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, expect } from 'vitest';
import { tempDir, writeMigrations, type TestDatabase } from './support/databases.js';
import { describeEachDatabase, it } from './support/each-database.js';
import { killLeftovers, startCli, type Exit } from './support/processes.js';

/**
 * `cairn up` killed with SIGKILL at random moments, over and over, on one
 * database: after every kill each migration must be either applied and
 * recorded, or absent without a trace; never half of it. Then an `up` left
 * alone must finish the job. Real processes, real databases, no mocks.
 */

const MIGRATIONS = 16;
const KILLS = 10;
const ROWS = 20_000;

const version = (k: number) => String(k).padStart(4, '0');

/**
 * Migration k: several statements, slow enough for a kill to land inside it,
 * each leaving something distinctive: two tables with known contents, an
 * index, and a row in a shared ledger (created by 0001).
 */
function migrationFiles(kind: 'sqlite' | 'postgres'): Record<string, string> {
  const files: Record<string, string> = {};
  for (let k = 1; k <= MIGRATIONS; k++) {
    const m = `m${k}`;
    const ledger = k === 1 ? 'CREATE TABLE ledger (version TEXT NOT NULL);\n' : '';
    const body =
      kind === 'sqlite'
        ? `${ledger}CREATE TABLE ${m}_rows (id INTEGER PRIMARY KEY, v INTEGER NOT NULL);
INSERT INTO ${m}_rows (v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS}) SELECT x FROM c;
CREATE TABLE ${m}_sums (total INTEGER NOT NULL);
INSERT INTO ${m}_sums (total) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT sum(x) FROM c;
CREATE INDEX ${m}_rows_v ON ${m}_rows (v);
INSERT INTO ${m}_sums (total) SELECT sum(v) FROM ${m}_rows;
INSERT INTO ledger (version) VALUES ('${version(k)}');`
        : `${ledger}CREATE TABLE ${m}_rows (id integer PRIMARY KEY, v integer NOT NULL);
SELECT pg_sleep(0.15);
INSERT INTO ${m}_rows (id, v) SELECT g, g FROM generate_series(1, ${ROWS}) AS g;
SELECT pg_sleep(0.15);
CREATE TABLE ${m}_sums (total bigint NOT NULL);
INSERT INTO ${m}_sums (total) SELECT 2000000::bigint * 2000001 / 2;
SELECT pg_sleep(0.15);
CREATE INDEX ${m}_rows_v ON ${m}_rows (v);
INSERT INTO ${m}_sums (total) SELECT sum(v) FROM ${m}_rows;
INSERT INTO ledger (version) VALUES ('${version(k)}');`;
    files[`${version(k)}_step_${k}.sql`] = `-- migrate:up\n${body}\n-- migrate:down\nDROP TABLE ${m}_sums;\nDROP TABLE ${m}_rows;\n`;
  }
  return files;
}

/** What one migration left behind. Every part must be present, or none. */
interface Footprint {
  readonly version: string;
  /** The history row's state, or null when there is none. */
  readonly recorded: string | null;
  readonly parts: Readonly<Record<string, boolean>>;
}

interface Snapshot {
  readonly footprints: readonly Footprint[];
  /** History rows for versions that do not exist in the migrations directory. */
  readonly strayRecords: readonly string[];
  /** SQLite only: the lock row left behind, if any. */
  readonly lockRow: { readonly pid: number; readonly owner: string } | null;
}

/** Reads the database without Cairn: sqlite_master / to_regclass and plain counts. */
interface Reader {
  hasTable(name: string): Promise<boolean>;
  hasIndex(name: string): Promise<boolean>;
  rows<Row>(sql: string): Promise<Row[]>;
}

/** The two rows every migration puts in its _sums table. */
const SUMS = [(2_000_000 * 2_000_001) / 2, (ROWS * (ROWS + 1)) / 2].map(String).sort();

async function inspect(db: TestDatabase): Promise<Snapshot> {
  return withReader(db, async (read) => {
    const history = (await read.hasTable('cairn_migrations'))
      ? await read.rows<{ version: string; state: string }>('SELECT version, state FROM cairn_migrations')
      : [];
    const hasLedger = await read.hasTable('ledger');
    const ledger = hasLedger ? await read.rows<{ version: string }>('SELECT version FROM ledger') : [];
    const footprints: Footprint[] = [];
    for (let k = 1; k <= MIGRATIONS; k++) {
      const m = `m${k}`;
      const hasRows = await read.hasTable(`${m}_rows`);
      const hasSums = await read.hasTable(`${m}_sums`);
      const rows = hasRows ? await read.rows<{ n: number | string; total: number | string | null }>(`SELECT count(*) AS n, sum(v) AS total FROM ${m}_rows`) : [];
      const sums = hasSums ? await read.rows<{ total: number | string }>(`SELECT total FROM ${m}_sums`) : [];
      const parts: Record<string, boolean> = {
        [`table ${m}_rows`]: hasRows,
        [`${ROWS} rows in ${m}_rows`]: hasRows && Number(rows[0]!.n) === ROWS && Number(rows[0]!.total) === (ROWS * (ROWS + 1)) / 2,
        [`table ${m}_sums`]: hasSums,
        [`both totals in ${m}_sums`]: hasSums && JSON.stringify(sums.map((s) => String(s.total)).sort()) === JSON.stringify(SUMS),
        [`index ${m}_rows_v`]: await read.hasIndex(`${m}_rows_v`),
        [`one ledger row for ${version(k)}`]: ledger.filter((row) => row.version === version(k)).length === 1,
      };
      if (k === 1) parts['table ledger'] = hasLedger;
      const records = history.filter((row) => row.version === version(k));
      expect(records.length, `history rows for ${version(k)}`).toBeLessThanOrEqual(1);
      footprints.push({ version: version(k), recorded: records[0]?.state ?? null, parts });
    }
    const known = new Set(footprints.map((f) => f.version));
    const lockRows = db.kind === 'sqlite' && (await read.hasTable('cairn_migrations_lock')) ? await read.rows<{ pid: number; owner: string }>('SELECT pid, owner FROM cairn_migrations_lock') : [];
    return { footprints, strayRecords: history.filter((row) => !known.has(row.version)).map((row) => row.version), lockRow: lockRows[0] ?? null };
  });
}

async function withReader<T>(db: TestDatabase, work: (read: Reader) => Promise<T>): Promise<T> {
  if (db.kind === 'sqlite') {
    // Opening the file after a crash also rolls back the dead process's hot journal, as the next `up` would.
    const sqlite = new Database(db.url.replace(/^sqlite:/, ''));
    try {
      sqlite.exec('BEGIN');
      const has = (type: string, name: string) => sqlite.prepare('SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?').get(type, name) !== undefined;
      return await work({
        hasTable: async (name) => has('table', name),
        hasIndex: async (name) => has('index', name),
        rows: async <Row>(sql: string) => sqlite.prepare(sql).all() as Row[],
      });
    } finally {
      if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
      sqlite.close();
    }
  }
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    // One snapshot for the whole inspection.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const regclass = async (name: string, relkind: string) =>
      (await client.query<{ present: boolean }>("SELECT EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass($1) AND relkind = $2) AS present", [name, relkind])).rows[0]!.present;
    return await work({
      hasTable: (name) => regclass(name, 'r'),
      hasIndex: (name) => regclass(name, 'i'),
      rows: async <Row>(sql: string) => (await client.query(sql)).rows as Row[],
    });
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end();
  }
}

/** The invariant: per migration, recorded 'applied' <=> every part present; otherwise no part present. */
function expectAllOrNothing(snapshot: Snapshot, context: string): number {
  expect(snapshot.strayRecords, `${context}: unexpected history rows`).toEqual([]);
  let applied = 0;
  for (const footprint of snapshot.footprints) {
    const present = Object.entries(footprint.parts).filter(([, ok]) => ok).map(([name]) => name);
    const missing = Object.entries(footprint.parts).filter(([, ok]) => !ok).map(([name]) => name);
    const where = `${context}: migration ${footprint.version} (history: ${footprint.recorded ?? 'no row'}; present: [${present.join(', ')}]; missing: [${missing.join(', ')}])`;
    // Transactional migrations never leave a 'running' or 'failed' row behind.
    expect([null, 'applied'], where).toContain(footprint.recorded);
    if (footprint.recorded === 'applied') {
      expect(missing, where).toEqual([]);
      applied++;
    } else {
      expect(present, where).toEqual([]);
    }
  }
  // Applied migrations form a prefix: 0001..000n, nothing after a gap.
  expect(snapshot.footprints.map((f) => f.recorded === 'applied'), `${context}: applied set is not a prefix`).toEqual(
    snapshot.footprints.map((_, i) => i < applied),
  );
  return applied;
}

/** PostgreSQL keeps a killed client's backend until its current statement ends; wait for it so what we inspect is settled. */
async function settle(db: TestDatabase): Promise<void> {
  if (db.kind !== 'postgres') return;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [row] = await db.query<{ n: number | string }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
    );
    if (Number(row!.n) === 0) return;
    if (Date.now() > deadline) throw new Error('the killed cairn session is still connected after 30 s');
    await sleep(25);
  }
}

const random = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));
const STALE_NOTICE = /^notice: took over a stale migration lock held by .* \(pid (\d+) on .*: process \1 on this host is no longer running$/m;

describeEachDatabase('cairn up killed with SIGKILL', (current, kind) => {
  const dirs: string[] = [];
  afterEach(async () => {
    await killLeftovers();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it(`leaves each migration wholly applied or absent after ${KILLS} kills at random moments, and the next up finishes`, { timeout: 120_000 }, async () => {
    const root = tempDir('cairn-crash-');
    dirs.push(root);
    const dir = writeMigrations(root, migrationFiles(kind));
    const db = current();
    const upArgs = ['up', '--url', db.url, '--dir', dir, '--lock-timeout', '60'];

    let midMigrationKills = 0;
    let staleTakeovers = 0;
    /**
     * SQLite: the pid on a lock row left behind by a killed process, which the next `up` to get in must
     * take over loudly; null when there is none, undefined when we did not look (last round).
     */
    let staleLockPid: number | null | undefined = null;
    const log: string[] = [];

    const checkTakeover = (exit: Exit, gotIn: boolean, label: string) => {
      const notice = STALE_NOTICE.exec(exit.stderr);
      if (notice) staleTakeovers++;
      if (kind !== 'sqlite' || staleLockPid === undefined) return;
      if (staleLockPid !== null && gotIn) {
        // It got past the lock, so it must have taken over the dead process's row, and said so.
        expect(notice?.[1], `${label}: expected a stale-lock notice naming pid ${staleLockPid}; stderr:\n${exit.stderr}`).toBe(String(staleLockPid));
      } else if (notice) {
        expect(notice[1], `${label}: took over a lock we did not see left behind; stderr:\n${exit.stderr}`).toBe(String(staleLockPid));
      }
    };

    for (let i = 0; i < KILLS; i++) {
      const run = startCli(upArgs, root);
      // Even rounds and the last: kill a short random time after a migration has started (the 1st or 2nd
      // of this run), so some kills surely land mid-migration with the lock held. Odd rounds: at a random
      // time after spawn, wherever that falls (before the lock, inside a step, between steps).
      let plan: string;
      if (i % 2 === 0 || i === KILLS - 1) {
        const nth = random(1, 2);
        const delay = random(0, 100);
        plan = `${delay} ms after migration start #${nth}`;
        if (await run.printed(new RegExp(`(↑[^↑]*){${nth}}`))) await sleep(delay);
      } else {
        const delay = random(50, 1500);
        plan = `${delay} ms after spawn`;
        await sleep(delay);
      }
      run.kill();
      const exit = await run.exited;
      const started = (exit.stdout.match(/↑ /g) ?? []).length;
      const finished = (exit.stdout.match(/ ok \(\d+ ms\)/g) ?? []).length;
      const midMigration = started > finished;
      if (midMigration) midMigrationKills++;
      const label = `kill #${i + 1} (${plan})`;
      checkTakeover(exit, started > 0 || exit.code !== null, label);

      const outcome = `${exit.signal ?? `exit ${exit.code}`}, ${midMigration ? 'mid-migration' : 'not inside a step'}`;
      if (i === KILLS - 1) {
        // Last round: leave the wreck as it is for the final `up`. On PostgreSQL the dead session may
        // still hold the advisory lock; on SQLite there is a hot journal to roll back and a dead lock row.
        if (kind === 'sqlite') staleLockPid = midMigration ? exit.pid : undefined;
        log.push(`${label}: ${outcome}, not inspected`);
        continue;
      }
      await settle(db);
      const snapshot = await inspect(db);
      const applied = expectAllOrNothing(snapshot, label);
      // SQLite: a kill while the lock was held leaves its row, with the dead pid, for the next run to take over.
      if (kind === 'sqlite') {
        staleLockPid = snapshot.lockRow?.pid ?? null;
        if (midMigration) expect(staleLockPid, `${label}: lock row after a kill mid-migration`).toBe(exit.pid);
      }
      log.push(`${label}: ${outcome}, ${applied}/${MIGRATIONS} applied${staleLockPid ? `, lock row of dead pid ${staleLockPid}` : ''}`);
    }

    // Left alone, the next `up` finishes the job (on PostgreSQL it may first wait for the dead session's lock).
    if (kind === 'sqlite') log.push(`before the final up: ${existsSync(`${db.url.replace(/^sqlite:/, '')}-journal`) ? 'a' : 'no'} rollback journal left behind`);
    const last = await startCli(upArgs, root).exited;
    expect(last.code, `final up:\n${last.stdout}\n${last.stderr}`).toBe(0);
    checkTakeover(last, true, 'final up');
    const final = await inspect(db);
    expect(expectAllOrNothing(final, 'after the final up')).toBe(MIGRATIONS);
    expect(final.lockRow, 'the lock is released').toBeNull();
    const again = await startCli(upArgs, root).exited;
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to apply: the database is up to date.');
    expect(again.stderr).toBe('');

    log.push(`final up: ${last.ms} ms; ${midMigrationKills} kills mid-migration; ${staleTakeovers} stale-lock takeovers`);
    console.log(`[${kind}]\n  ${log.join('\n  ')}`);
    // The even rounds make this certain: the first kill lands inside the first migration.
    expect(midMigrationKills).toBeGreaterThanOrEqual(1);
    if (kind === 'sqlite') expect(staleTakeovers).toBeGreaterThanOrEqual(1);
  });
});
