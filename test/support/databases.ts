import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/**
 * Real databases for tests: SQLite files in a temp dir, and scratch databases
 * on the PostgreSQL server at CAIRN_TEST_PG_URL (default 127.0.0.1:5432).
 * When the server is unreachable the PostgreSQL suites skip and say so,
 * unless CAIRN_REQUIRE_PG=1 (set by .ci/run), which makes them fail instead.
 */
export const PG_ADMIN_URL = process.env.CAIRN_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REQUIRE_PG = process.env.CAIRN_REQUIRE_PG === '1';

let reachable: Promise<string | null> | undefined;

/** Null when PostgreSQL answers; otherwise why not. */
export function postgresUnavailable(): Promise<string | null> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return null;
    } catch (error) {
      return (error as Error).message || String(error);
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachable;
}

export interface TestDatabase {
  readonly kind: 'sqlite' | 'postgres' | 'd1';
  readonly url: string;
  /** Runs SQL directly on the database (not through Cairn) and returns rows. */
  query<Row = Record<string, unknown>>(sql: string): Promise<Row[]>;
  drop(): Promise<void>;
}

export async function createPostgresDatabase(): Promise<TestDatabase> {
  const name = `cairn_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    kind: 'postgres',
    url: url.toString(),
    async query<Row>(sql: string) {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        return (await client.query(sql)).rows as Row[];
      } finally {
        await client.end();
      }
    },
    async drop() {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export async function createSqliteDatabase(): Promise<TestDatabase> {
  const dir = tempDir('cairn-db-');
  const path = join(dir, 'test.db');
  const { default: Database } = await import('better-sqlite3');
  return {
    kind: 'sqlite',
    url: `sqlite:${path}`,
    async query<Row>(sql: string) {
      const db = new Database(path);
      try {
        const statement = db.prepare(sql);
        return (statement.reader ? statement.all() : (statement.run(), [])) as Row[];
      } finally {
        db.close();
      }
    },
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const DATABASES = [
  { kind: 'sqlite' as const, create: createSqliteDatabase },
  { kind: 'postgres' as const, create: createPostgresDatabase },
];

/**
 * A local D1 (miniflare, the real workerd D1) in a temp directory used as
 * wrangler's --persist-to. `query` goes through D1 too (its own miniflare,
 * started on first use), so it sees exactly what D1 does: no BEGIN, foreign
 * keys on, `_cf_` tables out of reach.
 */
export async function createD1Database(): Promise<TestDatabase> {
  const dir = tempDir('cairn-d1-');
  const id = `test-${Math.random().toString(36).slice(2, 10)}`;
  const { openLocalD1 } = await import('../../src/drivers/d1/local.js');
  let transport: Awaited<ReturnType<typeof openLocalD1>> | undefined;
  return {
    kind: 'd1',
    url: `d1://local/${id}?persist=${encodeURIComponent(dir)}`,
    async query<Row>(sql: string) {
      transport ??= await openLocalD1(id, dir, `d1 local ${id} (test)`, { create: true });
      return ((await transport.batch([{ sql }]))[0] ?? []) as Row[];
    },
    async drop() {
      await transport?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** DATABASES and a local D1, for suites that opt in (describeEachDatabase(…, { d1: true })). */
export const DATABASES_WITH_D1 = [...DATABASES, { kind: 'd1' as const, create: createD1Database }];

const made: string[] = [];

/** Removes every directory tempDir made; test/support/setup.ts runs it after each test file. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A fresh temp directory, removed after the test file has run. */
export function tempDir(prefix = 'cairn-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Writes migration files into `dir/migrations` (created) and returns that directory. */
export function writeMigrations(dir: string, files: Readonly<Record<string, string>>): string {
  const migrations = join(dir, 'migrations');
  mkdirSync(migrations, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(migrations, name), text);
  return migrations;
}

/** The CLI as users run it: package.json's `bin`, the bundle scripts/build-cli.mjs writes. */
export const CLI = fileURLToPath(new URL('../../dist/bin/cairn.js', import.meta.url));

export interface CliResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI as a user would, in `cwd`, with DATABASE_URL etc. cleared unless given. */
export function runCli(args: readonly string[], options: { cwd: string; env?: Record<string, string> }): CliResult {
  const env = { ...process.env, DATABASE_URL: '', CAIRN_ENV: '', ...options.env };
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: options.cwd, env, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
