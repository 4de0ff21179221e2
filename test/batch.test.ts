import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, expect } from 'vitest';
import { runCli, tempDir, writeMigrations } from './support/databases.js';
import { describeEachDatabase, it } from './support/each-database.js';
import { killLeftovers, startCli } from './support/processes.js';

/**
 * `-- cairn:batch`: a backfill killed with SIGKILL at random moments, again
 * and again, then left to finish. Each batch commits with its checkpoint, so
 * at the end every row was updated exactly once: the counter column says so.
 * Real processes, real databases.
 */

const ROWS = 100_000;
const KILLS = 6;

function files(kind: 'sqlite' | 'postgres' | 'd1'): Record<string, string> {
  const fill =
    kind === 'postgres'
      ? `INSERT INTO items (id) SELECT g FROM generate_series(1, ${ROWS}) AS g;`
      : `INSERT INTO items (id) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS}) SELECT x FROM c;`;
  return {
    '0001_create_items.sql': `-- migrate:up\nCREATE TABLE items (id integer PRIMARY KEY, counter integer NOT NULL DEFAULT 0);\n${fill}\n-- migrate:down\nDROP TABLE items;\n`,
    // No WHERE that a second pass would skip: a range done twice shows as counter = 2.
    '0002_backfill_items.sql': `-- migrate:up\n-- cairn:batch size=200 pause=5ms\nUPDATE items SET counter = counter + 1 WHERE counter >= 0;\n-- migrate:down\n-- cairn:batch size=5000\nUPDATE items SET counter = 0 WHERE counter <> 0;\n`,
  };
}

afterEach(killLeftovers);

describeEachDatabase('batched backfill, killed and resumed', (current, kind) => {
  it('updates every row exactly once across kill -9 at random moments, and status shows it running with progress', async () => {
    const db = current();
    const cwd = tempDir();
    writeMigrations(cwd, files(kind));
    expect(runCli(['up', '--url', db.url, '--to', '0001'], { cwd }).status).toBe(0);

    const seen: { state: string; rows: number }[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      const up = startCli(['up', '--url', db.url, '--no-backup'], cwd);
      await up.waitFor(/line 3: \d+\/100000 rows/, 60_000);
      await sleep(50 + Math.random() * 300);
      up.kill();
      await up.exited;
      const status = runCli(['status', '--url', db.url, '--json'], { cwd });
      const entry = (JSON.parse(status.stdout) as { migrations: { version: string; state: string; progress: { rows: number } | null }[] }).migrations.find((m) => m.version === '0002')!;
      seen.push({ state: entry.state, rows: entry.progress?.rows ?? -1 });
      if (entry.state === 'applied') break;
    }
    // It was interrupted mid-way, status said so, and progress only moved forward.
    const running = seen.filter((s) => s.state === 'running');
    expect(running.length).toBeGreaterThanOrEqual(2);
    expect(running.some((s) => s.rows > 0 && s.rows < ROWS)).toBe(true);
    expect(running.map((s) => s.rows)).toEqual([...running.map((s) => s.rows)].sort((a, b) => a - b));

    const last = runCli(['up', '--url', db.url, '--no-backup'], { cwd });
    expect(last.status, last.stderr).toBe(0);
    if (seen.at(-1)!.state === 'running') expect(last.stderr).toMatch(/resuming 0002_backfill_items, interrupted at migrations\/0002_backfill_items.sql:3 after key/);
    const counts = await db.query<{ counter: number | string; n: number | string }>('SELECT counter, count(*) AS n FROM items GROUP BY counter');
    expect(counts.map((c) => [Number(c.counter), Number(c.n)])).toEqual([[1, ROWS]]);
    const history = runCli(['status', '--url', db.url, '--json'], { cwd });
    expect((JSON.parse(history.stdout) as { migrations: { state: string }[] }).migrations.map((m) => m.state)).toEqual(['applied', 'applied']);
    // A second up does nothing.
    expect(runCli(['up', '--url', db.url], { cwd }).stdout).toMatch(/Nothing to apply/);
  }, 240_000);


  it('Ctrl-C stops after the batch in hand: exit 130, the migration stays running, and the next up finishes it', async () => {
    const db = current();
    const cwd = tempDir();
    writeMigrations(cwd, files(kind));
    expect(runCli(['up', '--url', db.url, '--to', '0001'], { cwd }).status).toBe(0);
    const up = startCli(['up', '--url', db.url, '--no-backup'], cwd);
    await up.waitFor(/line 3: [1-9]\d*\/100000 rows/, 60_000);
    process.kill(up.pid, 'SIGINT');
    const exit = await up.exited;
    expect(exit.code).toBe(130);
    expect(exit.stderr).toMatch(/error\[INTERRUPTED\]/);
    const entry = (JSON.parse(runCli(['status', '--url', db.url, '--json'], { cwd }).stdout) as { migrations: { version: string; state: string; progress: { rows: number } | null }[] }).migrations.find((m) => m.version === '0002')!;
    expect(entry.state).toBe('running');
    expect(entry.progress!.rows).toBeGreaterThan(0);
    const last = runCli(['up', '--url', db.url, '--no-backup'], { cwd });
    expect(last.status, last.stderr).toBe(0);
    const counts = await db.query<{ counter: number | string; n: number | string }>('SELECT counter, count(*) AS n FROM items GROUP BY counter');
    expect(counts.map((c) => [Number(c.counter), Number(c.n)])).toEqual([[1, ROWS]]);
  }, 120_000);
});

describeEachDatabase('batched statements, bounded lock waits', (current, kind) => {
  it('maxLockWait: a batch that meets a held row lock gives way and is retried (PostgreSQL); said to have no effect elsewhere', async () => {
    const db = current();
    const cwd = tempDir();
    const fill = kind === 'postgres' ? 'INSERT INTO items (id) SELECT g FROM generate_series(1, 2000) AS g;' : 'INSERT INTO items (id) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000) SELECT x FROM c;';
    writeMigrations(cwd, {
      '0001_create_items.sql': `-- migrate:up\nCREATE TABLE items (id integer PRIMARY KEY, counter integer NOT NULL DEFAULT 0);\n${fill}\n`,
      '0002_backfill_items.sql': `-- migrate:up\n-- cairn:batch size=500 maxLockWait=100ms\nUPDATE items SET counter = counter + 1 WHERE counter >= 0;\n`,
    });
    expect(runCli(['up', '--url', db.url, '--to', '0001'], { cwd }).status).toBe(0);
    if (kind !== 'postgres') {
      const result = runCli(['up', '--url', db.url, '--no-backup'], { cwd });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/maxLockWait has no effect on this database/);
      return;
    }
    // Another transaction holds row 700 (in the second batch) for a while.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('UPDATE items SET counter = counter WHERE id = 700');
    const up = startCli(['up', '--url', db.url, '--no-backup'], cwd);
    await sleep(2500);
    await holder.query('COMMIT');
    await holder.end();
    const exit = await up.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stderr).toMatch(/line 3: a batch waited more than 100 ms for a lock and gave way; retry 1 of 8/);
    const counts = await db.query<{ counter: number | string; n: number | string }>('SELECT counter, count(*) AS n FROM items GROUP BY counter');
    expect(counts.map((c) => [Number(c.counter), Number(c.n)])).toEqual([[1, 2000]]);
  }, 120_000);
});

describeEachDatabase('batched statements', (current, kind) => {
  it('dry run and lint say the file runs outside one transaction; up and down run in batches', async () => {
    const db = current();
    const cwd = tempDir();
    writeMigrations(cwd, files(kind));
    const dry = runCli(['up', '--url', db.url, '--dry-run'], { cwd });
    expect(dry.stdout).toMatch(/0002_backfill_items .*outside one transaction/);
    expect(dry.stdout).toMatch(/line 3, in batches of 200 rows on the key of items, 5 ms apart/);
    const lint = runCli(['lint', '--url', db.url], { cwd });
    expect(lint.stdout).toMatch(/0002_backfill_items .*\n +runs outside one transaction: line 3 in batches, each batch its own transaction/);
    expect(runCli(['up', '--url', db.url, '--no-backup'], { cwd }).status).toBe(0);
    const down = runCli(['down', '--url', db.url], { cwd });
    expect(down.status, down.stderr).toBe(0);
    const counts = await db.query<{ counter: number | string; n: number | string }>('SELECT counter, count(*) AS n FROM items GROUP BY counter');
    expect(counts.map((c) => [Number(c.counter), Number(c.n)])).toEqual([[0, ROWS]]);
  }, 120_000);
}, { d1: true });

describeEachDatabase('batched statements aiming at a batch duration', (current, kind) => {
  it('target=: the batch size adapts, every row is updated exactly once, and the dry run says how batches are sized', async () => {
    const db = current();
    const cwd = tempDir();
    const fill =
      kind === 'postgres'
        ? 'INSERT INTO items (id) SELECT g FROM generate_series(1, 20000) AS g;'
        : 'INSERT INTO items (id) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) SELECT x FROM c;';
    writeMigrations(cwd, {
      '0001_create_items.sql': `-- migrate:up\nCREATE TABLE items (id integer PRIMARY KEY, counter integer NOT NULL DEFAULT 0);\n${fill}\n-- migrate:down\nDROP TABLE items;\n`,
      '0002_backfill_items.sql': `-- migrate:up\n-- cairn:batch size=100 target=20ms\nUPDATE items SET counter = counter + 1 WHERE counter >= 0;\n-- migrate:down\nSELECT 1;\n`,
    });
    expect(runCli(['up', '--url', db.url, '--to', '0001'], { cwd }).status).toBe(0);
    const dry = runCli(['up', '--url', db.url, '--dry-run'], { cwd });
    expect(dry.stdout).toMatch(/line 3, in batches of about 20 ms \(100 rows at first\) on the key of items/);
    const up = runCli(['up', '--url', db.url, '--no-backup'], { cwd });
    expect(up.status, up.stderr).toBe(0);
    const counts = await db.query<{ counter: number | string; n: number | string }>('SELECT counter, count(*) AS n FROM items GROUP BY counter');
    expect(counts.map((c) => [Number(c.counter), Number(c.n)])).toEqual([[1, 20000]]);
  }, 120_000);
}, { d1: true });
