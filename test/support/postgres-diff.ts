import pg from 'pg';
import { hostname } from 'node:os';
import { parseDatabaseUrl } from '../../src/config/url.js';
import { openDriver } from '../../src/drivers/index.js';
import { PG_ADMIN_URL } from './databases.js';

/** A database of its own on the test server, for `cairn diff` on PostgreSQL; `query` runs SQL on it directly. */
export interface PgTestDatabase {
  readonly url: string;
  readonly name: string;
  query<Row = Record<string, unknown>>(sql: string): Promise<Row[]>;
  drop(): Promise<void>;
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function createPgDatabase(): Promise<PgTestDatabase> {
  const name = `pgdiff_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async query<Row>(sql: string) {
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        const result = await client.query(sql);
        return (Array.isArray(result) ? (result.at(-1)?.rows ?? []) : result.rows) as Row[];
      } finally {
        await client.end();
      }
    },
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/**
 * The schema of a database as Cairn's PostgreSQL driver describes it (what
 * `cairn verify` compares), Cairn's own tables left out, and the order of each
 * table's columns left out too: PostgreSQL adds a column last, whatever order
 * schema.sql lists them in.
 */
export async function pgSchemaOf(url: string): Promise<Record<string, string>> {
  const driver = await openDriver(parseDatabaseUrl(url, process.cwd()), { create: false });
  try {
    const objects = { ...(await driver.snapshot({ exclude: ['cairn_migrations', 'cairn_migrations_lock', 'd1_migrations'] })).objects };
    for (const key of Object.keys(objects)) if (key.startsWith('columns ')) objects[key] = objects[key]!.split(', ').sort().join(', ');
    return objects;
  } finally {
    await driver.close();
  }
}

/** The schema `sql` gives when loaded into an empty database. */
export async function pgSchemaOfSql(sql: string): Promise<Record<string, string>> {
  const db = await createPgDatabase();
  try {
    await db.query(sql);
    return await pgSchemaOf(db.url);
  } finally {
    await db.drop();
  }
}

/**
 * Drops what `cairn diff` kept on the server for these project directories (a test's temporary
 * projects): the kept databases' comments name the host and directory they are for.
 */
export async function dropKeptDiffDatabases(roots: readonly string[]): Promise<void> {
  if (roots.length === 0) return;
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    const owners = roots.map((root) => `cairn diff ${hostname()} ${root}`);
    // The migrations' kept database has the template store's size note ahead of the owner.
    const { rows } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE regexp_replace(shobj_description(oid, 'pg_database'), '^cairn template, \\d+ bytes; ', '') = ANY($1::text[])",
      [owners],
    );
    for (const { datname } of rows) {
      await client.query(`ALTER DATABASE "${datname}" WITH IS_TEMPLATE false`);
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}
