import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, PG_ADMIN_URL, postgresUnavailable, REQUIRE_PG, runCli, tempDir, writeMigrations } from './support/databases.js';
import { createPgDatabase, type PgTestDatabase, dropKeptDiffDatabases } from './support/postgres-diff.js';

/**
 * What `cairn diff` keeps between runs on PostgreSQL: the migrations replayed
 * once into a database kept on the server (keyed by the migration files, or
 * by the live schema with --from-db), and what it read from schema.sql in
 * .cairn/diff. A user runs diff again and again: every run must answer as a
 * first run would, after any edit, and leave one kept database per project.
 */
const INIT = `-- Migration: create items
-- Type: additive
-- Rollback: drops it

-- migrate:up
CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price integer);
CREATE INDEX items_name_idx ON items (name);

-- migrate:down
DROP TABLE items;
`;
const ADD_NOTE = `CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price integer, note text);
CREATE INDEX items_name_idx ON items (name);
`;
const ADD_NOTE_AND_CHECK = ADD_NOTE.replace('note text', 'note text, CHECK (price >= 0)');

/** One of each per project, whatever the number of runs: the key of the migrations (and the project) elided. */
const KEPT = ['cairn_diff_load_…', 'cairn_tpl_diff…'];

let skip: string | null = null;
/** The temporary projects: what cairn diff kept on the server for them is dropped after the file. */
const roots: string[] = [];
afterAll(async () => {
  if (!skip) await dropKeptDiffDatabases(roots);
});

/** The kept databases of the project in `root` (their comment names the host and the project directory): the migrations', and the empty one schema.sql loads into. */
async function keptDatabases(root: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE (starts_with(datname, 'cairn_tpl_diff') OR starts_with(datname, 'cairn_diff_load_')) AND shobj_description(oid, 'pg_database') LIKE '% ' || $1", [root]);
    return rows.map((r) => r.datname.replace(/^(cairn_tpl_diff|cairn_diff_load_).*/, '$1…')).sort();
  } finally {
    await client.end();
  }
}

function cliAsync(args: readonly string[], cwd: string): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, DATABASE_URL: '', CAIRN_ENV: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status: status ?? -1, stdout, stderr }));
  });
}

describe('cairn diff on PostgreSQL keeps the replayed migrations between runs', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    skip = await postgresUnavailable();
    if (skip && REQUIRE_PG) throw new Error(`PostgreSQL is required (CAIRN_REQUIRE_PG=1) but unreachable: ${skip}`);
  });

  const project = (db: PgTestDatabase, desired: string) => {
    const root = tempDir();
    roots.push(root);
    writeMigrations(root, { '0001_create_items.sql': INIT });
    writeFileSync(join(root, 'schema.sql'), desired);
    return root;
  };
  const changes = (root: string, db: PgTestDatabase, ...extra: string[]) => {
    const result = runCli(['diff', 'change_items', '--to', 'schema.sql', '--print', '--json', '--url', db.url, ...extra], { cwd: root });
    expect(result.stderr).toBe('');
    const document = JSON.parse(result.stdout) as { changes?: { kind: string; object: string }[] };
    expect(document.changes, result.stdout).toBeDefined();
    return document.changes!.map((c) => `${c.kind} ${c.object}`);
  };

  it('answers every run as a first run would: after schema.sql is edited, after a migration is added; one kept database per project', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const db = await createPgDatabase();
    try {
      const root = project(db, ADD_NOTE);
      expect(changes(root, db)).toEqual(['add-column items.note']);
      expect(await keptDatabases(root)).toEqual(KEPT);
      expect(readdirSync(join(root, '.cairn', 'diff')).filter((f) => f.startsWith('desired-'))).toHaveLength(1);
      // Nothing changed: the same answer (from what was kept).
      expect(changes(root, db)).toEqual(['add-column items.note']);
      // schema.sql edited: read again, and only the newest reading is kept.
      writeFileSync(join(root, 'schema.sql'), ADD_NOTE_AND_CHECK);
      expect(changes(root, db)).toEqual(['add-column items.note', 'add-check items.items_price_check']);
      expect(readdirSync(join(root, '.cairn', 'diff')).filter((f) => f.startsWith('desired-'))).toHaveLength(1);
      // The migration written: the migrations changed, so they are replayed again, and the schema they produce is the desired one.
      const written = runCli(['diff', 'change_items', '--to', 'schema.sql', '--url', db.url], { cwd: root });
      expect(written.status, written.stderr).toBe(0);
      expect(changes(root, db)).toEqual([]);
      // The kept database of the older migrations is gone.
      expect(await keptDatabases(root)).toEqual(KEPT);
      // The written files removed again: back to the first answer.
      for (const file of readdirSync(join(root, 'migrations'))) if (!file.startsWith('0001')) rmSync(join(root, 'migrations', file));
      expect(changes(root, db)).toEqual(['add-column items.note', 'add-check items.items_price_check']);
    } finally {
      await db.drop();
    }
  });

  it('--no-keep keeps nothing on the server or in .cairn/diff, and answers the same', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const db = await createPgDatabase();
    try {
      const root = project(db, ADD_NOTE_AND_CHECK);
      expect(changes(root, db, '--no-keep')).toEqual(['add-column items.note', 'add-check items.items_price_check']);
      expect(await keptDatabases(root)).toEqual([]);
      expect(existsSync(join(root, '.cairn', 'diff'))).toBe(false);
    } finally {
      await db.drop();
    }
  });

  it('--from-db reads the live database every run: a change made there since the last run shows', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const db = await createPgDatabase();
    try {
      const root = project(db, ADD_NOTE);
      expect(runCli(['up', '--url', db.url], { cwd: root }).status).toBe(0);
      expect(changes(root, db, '--from-db')).toEqual(['add-column items.note']);
      await db.query('ALTER TABLE items ADD COLUMN note text');
      expect(changes(root, db, '--from-db')).toEqual([]);
      await db.query('ALTER TABLE items DROP COLUMN note');
      expect(changes(root, db, '--from-db')).toEqual(['add-column items.note']);
    } finally {
      await db.drop();
    }
  });

  it('two runs at once, with nothing kept yet, both answer, and one kept database is left', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const db = await createPgDatabase();
    try {
      const root = project(db, ADD_NOTE_AND_CHECK);
      const args = ['diff', 'change_items', '--to', 'schema.sql', '--print', '--url', db.url];
      const [a, b] = await Promise.all([cliAsync(args, root), cliAsync(args, root)]);
      expect([a.status, b.status], `${a.stderr}\n${b.stderr}`).toEqual([0, 0]);
      expect(a.stdout).toContain('ADD COLUMN note text');
      expect(b.stdout).toBe(a.stdout);
      // And again, now from what is kept: the two checks take turns on the kept database.
      const [c, d] = await Promise.all([cliAsync(args, root), cliAsync(args, root)]);
      expect([c.stdout, d.stdout]).toEqual([a.stdout, a.stdout]);
      expect(await keptDatabases(root)).toEqual(KEPT);
    } finally {
      await db.drop();
    }
  });

  it("a project directory that is gone loses its kept databases at the next builds of other projects", async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const db = await createPgDatabase();
    try {
      const gone = project(db, ADD_NOTE);
      expect(changes(gone, db)).toEqual(['add-column items.note']);
      expect(await keptDatabases(gone)).toEqual(KEPT);
      rmSync(gone, { recursive: true, force: true });
      // Each build drops two vanished projects' databases (each drop costs the server a checkpoint); earlier test files may have left some too.
      const other = project(db, ADD_NOTE);
      for (let build = 0; build < 20 && (await keptDatabases(gone)).length > 0; build++) {
        writeMigrations(other, { '0001_create_items.sql': `${INIT}\n-- build ${build}\n` });
        expect(changes(other, db)).toEqual(['add-column items.note']);
      }
      expect(await keptDatabases(gone)).toEqual([]);
    } finally {
      await db.drop();
    }
  });
});
