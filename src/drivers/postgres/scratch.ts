import pg from 'pg';
import { CairnError } from '../../core/errors.js';

/**
 * A throw-away database on the same server, for replaying migrations. Needs
 * CREATE DATABASE; it is dropped (WITH FORCE) however the replay ends.
 * Its sessions commit without waiting for the WAL flush (synchronous_commit
 * off, set on the database, so every connection to it gets it): a crash can
 * lose its last commits, which nobody needs, and a replay's three commits
 * per migration stop waiting on the disk. The server's own durability, and
 * every other database's, is unchanged.
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
  // A user who may create a database owns it, so may set this on it; if not, the replay is only slower.
  await run(`ALTER DATABASE ${name} SET synchronous_commit = off`).catch(() => undefined);
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  return { url: scratch.toString(), name, drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
