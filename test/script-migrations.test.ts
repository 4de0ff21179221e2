import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect } from 'vitest';
import { runCli, tempDir, writeMigrations } from './support/databases.js';
import { describeEachDatabase, it } from './support/each-database.js';
import { killLeftovers, startCli } from './support/processes.js';

/**
 * TypeScript migrations (`NNNN_name.ts` exporting up(ctx) and down(ctx)) on
 * real databases, through the built CLI: one transaction that a throw rolls
 * back whole, bound parameters, checksums, down; and ctx.batch killed with
 * SIGKILL mid-way, then resumed, every row done exactly once.
 */

const PEOPLE = `import type { MigrationContext } from 'cairn-migrate';

export async function up(ctx: MigrationContext): Promise<void> {
  await ctx.sql\`INSERT INTO people (id, name) VALUES (\${1}, \${"O'Brien'); DROP TABLE people; --"})\`;
  const [row] = await ctx.sql<{ n: number | string }>\`SELECT count(*) AS n FROM people\`;
  ctx.log(\`people now: \${Number(row!.n)}\`);
  if (process.env.FAIL_AFTER_INSERT) {
    throw new Error('refusing after the insert');
  }
}

export async function down(ctx: MigrationContext): Promise<void> {
  await ctx.sql\`DELETE FROM people WHERE id = \${1}\`;
}
`;

const ROWS = 20_000;

function batchFiles(kind: 'sqlite' | 'postgres' | 'd1'): Record<string, string> {
  const fill =
    kind === 'postgres'
      ? `INSERT INTO items (id) SELECT g FROM generate_series(1, ${ROWS}) AS g;`
      : `INSERT INTO items (id) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS}) SELECT x FROM c;`;
  return {
    '0001_create_items.sql': `-- migrate:up\nCREATE TABLE items (id integer PRIMARY KEY, counter integer NOT NULL DEFAULT 0);\n${fill}\n-- migrate:down\nDROP TABLE items;\n`,
    // No condition a second pass would skip: a batch done twice shows as counter = 2.
    '0002_count_items.ts': `import type { MigrationContext } from 'cairn-migrate';

export async function up(ctx: MigrationContext): Promise<void> {
  await ctx.sql\`CREATE TABLE IF NOT EXISTS counted (at text)\`;
  await ctx.batch<{ id: number }>('items', { size: 100, pauseMs: 5, where: 'counter >= 0' }, async (rows) => {
    await ctx.sql\`UPDATE items SET counter = counter + 1 WHERE id >= \${rows[0]!.id} AND id <= \${rows[rows.length - 1]!.id}\`;
  });
  ctx.log('every item counted');
}

export async function down(ctx: MigrationContext): Promise<void> {
  await ctx.sql\`UPDATE items SET counter = 0\`;
  await ctx.sql\`DROP TABLE counted\`;
}
`,
  };
}

afterEach(killLeftovers);

describeEachDatabase('TypeScript migrations', (current, kind) => {
  it('run as one transaction: a throw rolls back every write and leaves the history untouched; values are bound; down(ctx) undoes it', async () => {
    const db = current();
    const cwd = tempDir();
    writeMigrations(cwd, {
      '0001_create_people.sql': `-- migrate:up\nCREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL);\n-- migrate:down\nDROP TABLE people;\n`,
      '0002_add_people.ts': PEOPLE,
    });
    const cli = (args: string[], env: Record<string, string> = {}) => runCli([...args, '--url', db.url], { cwd, env });
    expect(cli(['up', '--to', '0001']).status).toBe(0);

    expect(cli(['up', '--dry-run']).stdout).toMatch(/up 0002_add_people  \(migrations\/0002_add_people\.ts, TypeScript up\(ctx\), as one unit\)/);
    const failed = cli(['up'], { FAIL_AFTER_INSERT: '1' });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/error\[MIGRATION_FAILED\]: migrations\/0002_add_people\.ts:8:\d+: refusing after the insert/);
    expect(failed.stderr).toMatch(/rolled back/);
    // The insert had happened inside the transaction; on D1 it was queued for the one batch that never went.
    expect(failed.stdout + failed.stderr).toMatch(kind === 'd1' ? /people now: 0/ : /people now: 1/);
    expect((await db.query<{ n: number | string }>('SELECT count(*) AS n FROM people'))[0]!.n).toSatisfy((n: number | string) => Number(n) === 0);
    const afterFailure = JSON.parse(cli(['status', '--json']).stdout) as { migrations: { version: string; state: string }[] };
    expect(afterFailure.migrations.map((m) => [m.version, m.state])).toEqual([['0001', 'applied'], ['0002', 'pending']]);

    const applied = cli(['up']);
    expect(applied.status, applied.stderr).toBe(0);
    expect(applied.stdout + applied.stderr).toMatch(kind === 'd1' ? /0002_add_people: people now: 0/ : /0002_add_people: people now: 1/);
    const people = await db.query<{ name: string }>('SELECT name FROM people');
    expect(people.map((p) => p.name)).toEqual(["O'Brien'); DROP TABLE people; --"]);
    expect(cli(['up']).stdout).toMatch(/Nothing to apply/);

    // Checksummed like a SQL file: an edit after applying is reported.
    const path = join(cwd, 'migrations/0002_add_people.ts');
    writeFileSync(path, `${readFileSync(path, 'utf8')}// edited\n`);
    const changed = JSON.parse(cli(['status', '--json']).stdout) as { migrations: { version: string; state: string }[] };
    expect(changed.migrations.find((m) => m.version === '0002')!.state).toBe('changed');
    writeFileSync(path, PEOPLE);

    const lint = cli(['lint']);
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    expect(lint.stdout).toMatch(/0002_add_people .*\n +TypeScript: not linted \(its SQL is built when it runs\)/);

    const verify = cli(['verify']);
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/✓ 0002_add_people +up, down, up/);

    const down = cli(['down']);
    expect(down.status, down.stderr).toBe(0);
    expect((await db.query<{ n: number | string }>('SELECT count(*) AS n FROM people'))[0]!.n).toSatisfy((n: number | string) => Number(n) === 0);
    expect((JSON.parse(cli(['status', '--json']).stdout) as { migrations: { state: string }[] }).migrations.map((m) => m.state)).toEqual(['applied', 'pending']);
  }, 120_000);

  it('a TypeScript file that does not compile, or exports no up, stops up before anything is applied, naming the file', async () => {
    const db = current();
    const cwd = tempDir();
    writeMigrations(cwd, {
      '0001_create_people.sql': `-- migrate:up\nCREATE TABLE people (id integer PRIMARY KEY);\n-- migrate:down\nDROP TABLE people;\n`,
      '0002_broken.ts': 'export async function up(ctx) {\n  await ctx.sql`SELECT 1`;\n  let x = ;\n}\n',
    });
    const cli = (...args: string[]) => runCli([...args, '--url', db.url], { cwd });
    const broken = cli('up');
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/error\[SOURCE\]: migrations\/0002_broken\.ts could not be loaded: .*\n.*0002_broken\.ts:3:\d+/);
    expect((JSON.parse(cli('status', '--json').stdout) as { migrations: { state: string }[] }).migrations.map((m) => m.state)).toEqual(['pending', 'pending']);
    writeFileSync(join(cwd, 'migrations/0002_broken.ts'), 'export const up = 1;\n');
    const noUp = cli('up');
    expect(noUp.status).toBe(2);
    expect(noUp.stderr).toMatch(/migrations\/0002_broken\.ts exports no function `up`/);
    writeFileSync(join(cwd, 'migrations/0002_broken.ts'), 'export const nothing = 1;\n');
    expect(cli('status').stderr).toMatch(/migrations\/0002_broken\.ts: a TypeScript migration without an `up` export/);
    expect(await db.query('SELECT 1 AS one FROM people').catch((error: Error) => error.message)).toMatch(/people/);
  }, 60_000);

  it('ctx.batch on a table without a key walks SQLite\'s rowid (rows handed without it), and on PostgreSQL says there is no key to walk', async () => {
    const db = current();
    const cwd = tempDir();
    writeMigrations(cwd, {
      '0001_create_tags.sql': `-- migrate:up\nCREATE TABLE tags (name text, seen integer);\nINSERT INTO tags (name, seen) VALUES ('a', 0), ('b', 0), ('c', 0), ('d', 0), ('e', 0);\n-- migrate:down\nDROP TABLE tags;\n`,
      '0002_mark_tags.ts': `export async function up(ctx) {
  await ctx.batch('tags', { size: 2 }, async (rows) => {
    for (const row of rows) {
      if (Object.keys(row).join(',') !== 'name,seen') throw new Error('unexpected columns: ' + Object.keys(row).join(','));
      await ctx.sql\`UPDATE tags SET seen = seen + 1 WHERE name = \${row.name}\`;
    }
  });
}
`,
    });
    const up = runCli(['up', '--url', db.url], { cwd });
    if (kind === 'postgres') {
      expect(up.status).toBe(1);
      expect(up.stderr).toMatch(/migrations\/0002_mark_tags\.ts:2:\d+: ctx\.batch: table tags has no primary or unique key to walk/);
      return;
    }
    expect(up.status, up.stderr).toBe(0);
    const seen = await db.query<{ name: string; seen: number }>('SELECT name, seen FROM tags ORDER BY name');
    expect(seen.map((r) => [r.name, Number(r.seen)])).toEqual([['a', 1], ['b', 1], ['c', 1], ['d', 1], ['e', 1]]);
  }, 60_000);

  it('ctx.batch killed with SIGKILL mid-way resumes after its last committed batch: every row counted exactly once', async () => {
    const db = current();
    const cwd = tempDir();
    writeMigrations(cwd, batchFiles(db.kind));
    expect(runCli(['up', '--url', db.url, '--to', '0001'], { cwd }).status).toBe(0);

    const seen: { state: string; rows: number }[] = [];
    for (let kill = 0; kill < 4; kill++) {
      const up = startCli(['up', '--url', db.url], cwd);
      await up.waitFor(/line 5: [1-9]\d*\/\d+ rows/, 60_000);
      await sleep(50 + Math.random() * 200);
      up.kill();
      await up.exited;
      const status = JSON.parse(runCli(['status', '--url', db.url, '--json'], { cwd }).stdout) as { migrations: { version: string; state: string; progress: { rows: number } | null }[] };
      const entry = status.migrations.find((m) => m.version === '0002')!;
      seen.push({ state: entry.state, rows: entry.progress?.rows ?? -1 });
      if (entry.state === 'applied') break;
    }
    const running = seen.filter((s) => s.state === 'running');
    expect(running.length).toBeGreaterThanOrEqual(1);
    expect(running.some((s) => s.rows > 0 && s.rows < ROWS)).toBe(true);
    const human = runCli(['status', '--url', db.url], { cwd });
    if (seen.at(-1)!.state === 'running') expect(human.stdout).toMatch(/0002 .*running.*batches in progress at line 5: \d+\/\d+ rows/);

    const last = runCli(['up', '--url', db.url], { cwd });
    expect(last.status, last.stderr).toBe(0);
    if (seen.at(-1)!.state === 'running') expect(last.stderr).toMatch(/resuming 0002_count_items: up\(\) runs again, batches before the 1st are skipped, that one goes on at migrations\/0002_count_items\.ts:5 after key/);
    if (seen.at(-1)!.state === 'running') expect(last.stdout + last.stderr).toMatch(/every item counted/);
    const counts = await db.query<{ counter: number | string; n: number | string }>('SELECT counter, count(*) AS n FROM items GROUP BY counter');
    expect(counts.map((c) => [Number(c.counter), Number(c.n)])).toEqual([[1, ROWS]]);
    const history = JSON.parse(runCli(['status', '--url', db.url, '--json'], { cwd }).stdout) as { migrations: { state: string }[] };
    expect(history.migrations.map((m) => m.state)).toEqual(['applied', 'applied']);

    const down = runCli(['down', '--url', db.url], { cwd });
    expect(down.status, down.stderr).toBe(0);
    expect((await db.query<{ n: number | string }>('SELECT count(*) AS n FROM items WHERE counter <> 0'))[0]!.n).toSatisfy((n: number | string) => Number(n) === 0);
  }, 180_000);
}, { d1: true });

describe('cairn new --ts', () => {
  it('writes the next-numbered .ts migration; left as written it refuses to run, and nothing is recorded', () => {
    const cwd = tempDir();
    writeMigrations(cwd, { '0001_create_people.sql': `-- migrate:up\nCREATE TABLE people (id integer PRIMARY KEY);\n-- migrate:down\nDROP TABLE people;\n` });
    const created = runCli(['new', 'fill people', '--ts'], { cwd });
    expect(created.status, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/Created migrations\/0002_fill_people\.ts/);
    const text = readFileSync(join(cwd, 'migrations/0002_fill_people.ts'), 'utf8');
    expect(text).toMatch(/export async function up\(ctx: MigrationContext\)/);
    expect(text).toMatch(/export async function down\(ctx: MigrationContext\)/);
    const up = runCli(['up'], { cwd });
    expect(up.status).toBe(1);
    expect(up.stderr).toMatch(/migrations\/0002_fill_people\.ts:\d+:\d+: fill people: write up\(\) first/);
    const status = JSON.parse(runCli(['status', '--json'], { cwd }).stdout) as { migrations: { state: string }[] };
    expect(status.migrations.map((m) => m.state)).toEqual(['applied', 'pending']);
    expect(runCli(['new', 'x', '--ts', '--from', 'up.sql'], { cwd }).stderr).toMatch(/--ts and --from do not go together/);
  }, 60_000);
});
