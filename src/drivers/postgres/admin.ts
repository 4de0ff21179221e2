import type * as PgTypes from 'pg';
import pg from './pg.js';
import { CairnError } from '../../errors.js';
import { isMissingDatabase, scrub } from './driver.js';

/**
 * `cairn create` and `cairn drop` on a PostgreSQL server: the database named
 * in the URL, created or dropped from a connection to the server's
 * maintenance database (`postgres`, else `template1`), as dbmate does.
 * Both are idempotent: creating one that exists, or dropping one that does
 * not, says so and changes nothing.
 */
export async function createPostgresDatabase(url: string, display: string, secrets: readonly string[]): Promise<{ readonly name: string; readonly changed: boolean }> {
  const name = databaseName(url, display);
  return withMaintenance(url, display, secrets, async (client) => {
    if (await exists(client, name)) return { name, changed: false };
    await client.query(`CREATE DATABASE ${quote(name)}`).catch((error: Error) => {
      throw new CairnError('CONNECTION', `cannot create database "${name}" on ${display}: ${scrub(error.message, secrets)}`, {
        hint: 'the user in the URL needs CREATEDB (ALTER ROLE … CREATEDB), or ask the server\'s administrator to create it',
        details: { target: display, database: name },
      });
    });
    return { name, changed: true };
  });
}

export async function dropPostgresDatabase(url: string, display: string, secrets: readonly string[]): Promise<{ readonly name: string; readonly changed: boolean }> {
  const name = databaseName(url, display);
  return withMaintenance(url, display, secrets, async (client) => {
    if (!(await exists(client, name))) return { name, changed: false };
    // WITH (FORCE) ends other sessions on it (PostgreSQL 13+): `drop` was confirmed, and a forgotten psql must not stop it.
    await client.query(`DROP DATABASE ${quote(name)} WITH (FORCE)`).catch((error: Error) => {
      throw new CairnError('CONNECTION', `cannot drop database "${name}" on ${display}: ${scrub(error.message, secrets)}`, {
        hint: 'only its owner or a superuser may drop it',
        details: { target: display, database: name },
      });
    });
    return { name, changed: true };
  });
}

function databaseName(url: string, display: string): string {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (name === '') throw new CairnError('CONFIG', `${display} names no database`, { hint: 'write the database after the host: postgres://user@host:5432/app' });
  return name;
}

async function withMaintenance<T>(url: string, display: string, secrets: readonly string[], work: (client: PgTypes.Client) => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (const maintenance of ['postgres', 'template1']) {
    const target = new URL(url);
    target.pathname = `/${maintenance}`;
    target.searchParams.delete('schema');
    const client = new pg.Client({ connectionString: target.toString(), connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      lastError = error;
      await client.end().catch(() => undefined);
      if (isMissingDatabase(error)) continue;
      break;
    }
    try {
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw new CairnError('CONNECTION', `cannot connect to the server of ${display}: ${scrub((lastError as Error).message, secrets)}`, {
    hint: 'check that the server is running and that host, port and user in the URL are right',
    details: { target: display },
  });
}

async function exists(client: PgTypes.Client, name: string): Promise<boolean> {
  const { rows } = await client.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [name]);
  return rows.length > 0;
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
