import type * as PgTypes from 'pg';
import pg from './pg.js';
import { CairnError } from '../../errors.js';

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


/**
 * On a scratch database whose user may create event triggers (a superuser):
 * event triggers that note, for the connection Cairn replays on, every object
 * a DDL command created, altered (`pg_event_trigger_ddl_commands`) or dropped
 * (`pg_event_trigger_dropped_objects`), so the incremental dump reads what a
 * step changed instead of scanning the catalogs for it.
 *
 * Nothing of it can show in a dump, a snapshot or a migration's name lookups:
 * the function is in the connection's temporary schema (pg_temp_N, which
 * dumps and snapshots skip like every pg_* schema, and where an unqualified
 * function call never looks) and goes with the connection; the log is a
 * setting of the session, not a table; event triggers are not dumped. The
 * log is transactional like the DDL it records: a step that rolls back takes
 * its entries with it. The triggers fire ALWAYS, so a migration that sets
 * session_replication_role does not silence them; the dump checks at each
 * read that both are still there and enabled, and reads the catalogs if not.
 * False (and nothing installed) when the user may not.
 */
export async function installChangeLog(client: PgTypes.Client): Promise<boolean> {
  const { rows } = await client.query<{ superuser: boolean }>('SELECT rolsuper AS superuser FROM pg_catalog.pg_roles WHERE rolname = current_user');
  if (rows[0]?.superuser !== true) return false;
  const [ddl, drop] = CHANGE_LOG.triggers;
  const append = (entries: string) =>
    `PERFORM pg_catalog.set_config('${CHANGE_LOG.setting}', pg_catalog.concat(pg_catalog.current_setting('${CHANGE_LOG.setting}', true), (${entries})), false);`;
  try {
    await client.query(`BEGIN;
CREATE FUNCTION pg_temp.cairn_scratch_log() RETURNS event_trigger LANGUAGE plpgsql AS $cairn$
BEGIN
  IF TG_EVENT = 'sql_drop' THEN
    ${append(`SELECT pg_catalog.string_agg(pg_catalog.concat('d ', d.classid, ' ', d.objid, ' ', pg_catalog.json_build_array(d.object_type, d.object_identity, d.address_names)::text, E'\\n'), '')
                FROM pg_catalog.pg_event_trigger_dropped_objects() d`)}
  ELSE
    ${append(`SELECT pg_catalog.string_agg(pg_catalog.concat('c ', c.classid, ' ', c.objid, ' ', pg_catalog.json_build_array(c.command_tag)::text, E'\\n'), '')
                FROM pg_catalog.pg_event_trigger_ddl_commands() c`)}
  END IF;
END
$cairn$;
CREATE EVENT TRIGGER ${ddl} ON ddl_command_end EXECUTE PROCEDURE pg_temp.cairn_scratch_log();
CREATE EVENT TRIGGER ${drop} ON sql_drop EXECUTE PROCEDURE pg_temp.cairn_scratch_log();
ALTER EVENT TRIGGER ${ddl} ENABLE ALWAYS;
ALTER EVENT TRIGGER ${drop} ENABLE ALWAYS;
SELECT pg_catalog.set_config('${CHANGE_LOG.setting}', '', false);
COMMIT`);
    return true;
  } catch {
    await client.query('ROLLBACK').catch(() => undefined);
    return false;
  }
}

/** The session setting a scratch's change log is kept in, and the event triggers that write it (scratch.ts installs them). */
export const CHANGE_LOG = { setting: 'cairn.scratch_log', triggers: ['cairn_scratch_ddl', 'cairn_scratch_drop'] } as const;
