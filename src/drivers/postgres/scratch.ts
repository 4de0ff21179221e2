import pg from 'pg';
import { CairnError } from '../../core/errors.js';

/**
 * A throw-away database on the same server, for replaying migrations. Needs
 * CREATE DATABASE; it is dropped (WITH FORCE) however the replay ends.
 */
export async function createPostgresScratch(url: string, display: string): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `cairn_scratch_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  try {
    await run(`CREATE DATABASE ${name}`);
  } catch (error) {
    throw new CairnError('CONNECTION', `cannot create a scratch database on ${display}: ${(error as Error).message}`, {
      hint: 'verify replays migrations in a temporary database: give the user CREATE DATABASE, or point --scratch-url at a server where it may create one',
    });
  }
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  return { url: scratch.toString(), name, drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
