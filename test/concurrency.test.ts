import { rmSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { afterEach, expect } from 'vitest';
import { tempDir, writeMigrations, type TestDatabase } from './support/databases.js';
import { describeEachDatabase, it } from './support/each-database.js';
import { killLeftovers, startCli, type Exit } from './support/processes.js';

/**
 * Several `cairn up` processes started at the same moment on one database:
 * the lock must serialise them so that every migration runs exactly once, and
 * a process that cannot get the lock in time must say who holds it.
 * Real processes (child_process.spawn), real databases, no mocks.
 */

const PROCESSES = 8;

/** Five migrations where running any of them twice would show: CREATE/ALTER would fail, INSERT/UPDATE would count twice. */
function migrations(kind: 'sqlite' | 'postgres'): Record<string, string> {
  const sqlite = kind === 'sqlite';
  const id = sqlite ? 'INTEGER PRIMARY KEY' : 'serial PRIMARY KEY';
  return {
    '0001_counter.sql': `-- migrate:up
CREATE TABLE counter (id ${id}, note TEXT NOT NULL, hits INTEGER NOT NULL DEFAULT 0);
INSERT INTO counter (note) VALUES ('inserted once');
-- migrate:down
DROP TABLE counter;
`,
    // The slow one, so that the other processes really arrive while the lock is held.
    '0002_bulk.sql': `-- migrate:up
CREATE TABLE bulk (n INTEGER NOT NULL);
${
  sqlite
    ? `INSERT INTO bulk (n) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) SELECT x FROM c;
CREATE TABLE bulk_total (total INTEGER NOT NULL);
INSERT INTO bulk_total (total) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT sum(x) FROM c;`
    : `INSERT INTO bulk (n) SELECT g FROM generate_series(1, 200000) AS g;
SELECT pg_sleep(0.5);
CREATE TABLE bulk_total (total bigint NOT NULL);
INSERT INTO bulk_total (total) SELECT sum(n) FROM bulk;`
}
-- migrate:down
DROP TABLE bulk_total;
DROP TABLE bulk;
`,
    '0003_audit.sql': `-- migrate:up
CREATE TABLE audit (id ${id}, event TEXT NOT NULL);
CREATE INDEX audit_event ON audit (event);
-- migrate:down
DROP TABLE audit;
`,
    '0004_touch_counter.sql': `-- migrate:up
ALTER TABLE counter ADD COLUMN touched TEXT;
${sqlite ? '' : 'SELECT pg_sleep(0.3);\n'}UPDATE counter SET hits = hits + 1, touched = 'by 0004' WHERE id = 1;
-- migrate:down
ALTER TABLE counter DROP COLUMN touched;
`,
    '0005_log.sql': `-- migrate:up
INSERT INTO audit (event) VALUES ('migrated');
UPDATE counter SET hits = hits + 1 WHERE id = 1;
-- migrate:down
DELETE FROM audit WHERE event = 'migrated';
`,
  };
}

const VERSIONS = ['0001', '0002', '0003', '0004', '0005'];

/** How many migrations one process says it applied: from --json (filesExecuted) or from the text summary. */
function appliedCount(exit: Exit, json: boolean): number {
  if (json) {
    const document = JSON.parse(exit.stdout) as { success?: boolean; filesExecuted?: number };
    expect(document.success, exit.stdout).toBe(true);
    expect(typeof document.filesExecuted, exit.stdout).toBe('number');
    return document.filesExecuted!;
  }
  if (/Nothing to apply: the database is up to date\./.test(exit.stdout)) return 0;
  const match = /^Applied (\d+) migrations? in \d+ ms\.$/m.exec(exit.stdout);
  if (!match) throw new Error(`no "Applied N migrations" summary in stdout:\n${exit.stdout}\nstderr:\n${exit.stderr}`);
  return Number(match[1]);
}

/** True when the process gave up on the lock and said so: exit 4 and a LOCK_TIMEOUT message (stderr, or stdout with --json). */
function lockTimedOut(exit: Exit, json: boolean): boolean {
  if (exit.code !== 4) return false;
  if (json) {
    const document = JSON.parse(exit.stdout) as { error?: { code?: string; message?: string } };
    return document.error?.code === 'LOCK_TIMEOUT' && /holds the lock/.test(document.error.message ?? '');
  }
  return /^error\[LOCK_TIMEOUT\]: another migration holds the lock on this database/m.test(exit.stderr);
}

function describeExit(exit: Exit): string {
  return `pid ${exit.pid} exited ${exit.code ?? exit.signal} after ${exit.ms} ms\nstdout:\n${exit.stdout}\nstderr:\n${exit.stderr}`;
}

/** Everything the migrations leave behind, read straight from the database. */
async function expectAppliedExactlyOnce(db: TestDatabase): Promise<void> {
  const history = await db.query<{ version: string; state: string; method: string }>('SELECT version, state, method FROM cairn_migrations ORDER BY version');
  expect(history).toEqual(VERSIONS.map((version) => ({ version, state: 'applied', method: 'run' })));
  const counter = await db.query<{ note: string; hits: number | string; touched: string }>('SELECT note, hits, touched FROM counter');
  expect(counter.map((row) => ({ ...row, hits: Number(row.hits) }))).toEqual([{ note: 'inserted once', hits: 2, touched: 'by 0004' }]);
  const [bulk] = await db.query<{ n: number | string }>('SELECT count(*) AS n FROM bulk');
  expect(Number(bulk!.n)).toBe(200_000);
  const [totals] = await db.query<{ n: number | string }>('SELECT count(*) AS n FROM bulk_total');
  expect(Number(totals!.n)).toBe(1);
  const audit = await db.query<{ event: string }>('SELECT event FROM audit');
  expect(audit).toEqual([{ event: 'migrated' }]);
  // Nobody still holds the lock once every process has exited.
  if (db.kind === 'sqlite') {
    expect(await db.query('SELECT owner, pid FROM cairn_migrations_lock')).toEqual([]);
  } else {
    const [locks] = await db.query<{ n: number | string }>(
      "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    );
    expect(Number(locks!.n)).toBe(0);
  }
}

describeEachDatabase('concurrent cairn up', (current, kind) => {
  const dirs: string[] = [];
  const project = (files: Record<string, string>) => {
    const root = tempDir('cairn-concurrency-');
    dirs.push(root);
    return { root, dir: writeMigrations(root, files) };
  };
  afterEach(async () => {
    await killLeftovers();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  const upArgs = (dir: string, lockTimeout: number, json: boolean) => ['up', '--url', current().url, '--dir', dir, '--lock-timeout', String(lockTimeout), ...(json ? ['--json'] : [])];

  it(`${PROCESSES} processes started together apply each migration exactly once and all exit 0`, { timeout: 90_000 }, async () => {
    const { root, dir } = project(migrations(kind));
    // Half of them report with --json (filesExecuted), half as text ("Applied N migrations").
    const json = Array.from({ length: PROCESSES }, (_, i) => i % 2 === 0);
    const running = json.map((asJson) => startCli(upArgs(dir, 120, asJson), root));
    const exits = await Promise.all(running.map((r) => r.exited));
    console.log(`[${kind}] ${PROCESSES} concurrent up: ${exits.map((e) => `${e.ms} ms`).join(', ')}`);

    for (const exit of exits) {
      expect(exit.code, describeExit(exit)).toBe(0);
      // No stale-lock takeovers or warnings: every holder was alive.
      // Nothing on stderr but the one-line lint summary (these test migrations have no headers)
      // and the notice of the backup taken before the UPDATEs of `counter`.
      expect(exit.stderr.split('\n').filter((line) => line && !line.startsWith('lint: ') && !line.startsWith('notice: backed up ')), describeExit(exit)).toEqual([]);
    }
    const counts = exits.map((exit, i) => appliedCount(exit, json[i]!));
    expect(counts.reduce((a, b) => a + b, 0), `applied counts per process: ${counts.join(', ')}`).toBe(VERSIONS.length);
    await expectAppliedExactlyOnce(current());
  });

  it(`${PROCESSES} processes with a short --lock-timeout: each exits 0 or 4 with a lock message, and each migration still runs exactly once`, { timeout: 90_000 }, async () => {
    const { root, dir } = project(migrations(kind));
    const json = Array.from({ length: PROCESSES }, (_, i) => i % 2 === 1);
    const running = json.map((asJson) => startCli(upArgs(dir, 0.5, asJson), root));
    const exits = await Promise.all(running.map((r) => r.exited));
    console.log(`[${kind}] ${PROCESSES} concurrent up --lock-timeout 0.5: ${exits.map((e) => `exit ${e.code} in ${e.ms} ms`).join(', ')}`);

    let applied = 0;
    for (const [i, exit] of exits.entries()) {
      if (exit.code === 0) applied += appliedCount(exit, json[i]!);
      else expect(lockTimedOut(exit, json[i]!), describeExit(exit)).toBe(true);
    }
    expect(exits.filter((e) => e.code === 0).length, 'at least the first holder succeeds').toBeGreaterThanOrEqual(1);
    expect(applied).toBe(VERSIONS.length);
    await expectAppliedExactlyOnce(current());
  });

  it('a process that cannot get the lock within --lock-timeout exits 4 and names the holder', { timeout: 90_000 }, async () => {
    // One migration that keeps the lock for a few seconds in a single step.
    const slow =
      kind === 'sqlite'
        ? `-- migrate:up
CREATE TABLE slow_result (total INTEGER NOT NULL);
INSERT INTO slow_result (total) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000000) SELECT sum(x) FROM c;
-- migrate:down
DROP TABLE slow_result;
`
        : `-- migrate:up
CREATE TABLE slow_result (total bigint NOT NULL);
SELECT pg_sleep(4);
INSERT INTO slow_result (total) VALUES (1);
-- migrate:down
DROP TABLE slow_result;
`;
    const { root, dir } = project({ '0001_slow.sql': slow });
    const holder = startCli(upArgs(dir, 60, false), root);
    // The "↑ 0001_slow" progress line is printed once the lock is held and the step has begun.
    await holder.waitFor(/↑ 0001_slow/);
    const waiter = await startCli(upArgs(dir, 0.5, false), root).exited;
    const holderStillMigrating = holder.isRunning();
    const holderExit = await holder.exited;
    console.log(`[${kind}] holder ${holderExit.ms} ms (exit ${holderExit.code}); waiter ${waiter.ms} ms (exit ${waiter.code})`);

    expect(waiter.code, describeExit(waiter)).toBe(4);
    expect(waiter.stderr).toMatch(/^error\[LOCK_TIMEOUT\]: another migration holds the lock on this database: /m);
    expect(waiter.stderr).toMatch(/hint: .*--lock-timeout/);
    // It names the holder: for SQLite the lock row's owner and pid, for PostgreSQL
    // the holding session's application_name ("cairn user@host pid N") and server pid.
    if (kind === 'sqlite') {
      expect(waiter.stderr).toContain(`(pid ${holder.pid} on ${hostname()}`);
    } else {
      expect(waiter.stderr).toMatch(/holds the lock on this database: cairn .*\(server pid \d+/);
      const applicationName = `cairn ${userInfo().username}@${hostname()} pid ${holder.pid}`;
      if (applicationName.length <= 63) expect(waiter.stderr).toContain(applicationName);
    }
    // The timeout was honoured: the waiter gave up while the holder was still migrating.
    expect(holderExit.code, describeExit(holderExit)).toBe(0);
    expect(holderExit.stdout).toMatch(/^Applied 1 migration in \d+ ms\.$/m);
    expect(holderStillMigrating, `the waiter should give up after ~0.5 s, long before the holder finishes; it took ${waiter.ms} ms`).toBe(true);
    expect(await current().query('SELECT version, state FROM cairn_migrations')).toEqual([{ version: '0001', state: 'applied' }]);
    expect(await current().query('SELECT count(*) AS n FROM slow_result').then((rows) => rows.map((r) => Number(r.n)))).toEqual([1]);
  });
});
