import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as PgTypes from 'pg';
import pg from './pg.js';
import type { DatabaseUrl } from '../../config/url.js';
import { CairnError } from '../../errors.js';
import { processAlive } from '../lock-holder.js';
import type { TemplateProject, TemplateStore } from '../template.js';

type PostgresUrl = Extract<DatabaseUrl, { scheme: 'postgres' }>;

/**
 * PostgreSQL templates: the database `cairn_tpl_<project>_<key>` (built as
 * `…_build`, then renamed, marked IS_TEMPLATE and closed to connections), and
 * each test database `cairn_testdb_<project>_<host>_<pid>_<random>` made by
 * CREATE DATABASE … TEMPLATE. The names say whose they are, so what a crashed
 * run left is found: a `_build` at the next build, templates of older keys
 * after a build, and test databases of processes of this host that are gone,
 * once per process. The build is serialized by an advisory lock per project.
 *
 * STRATEGY (PostgreSQL 15+), by the template's size (docs/testing.md has the
 * measurements): WAL_LOG below 256 MB, FILE_COPY from there. WAL_LOG copies
 * block by block through the WAL, so it grows with the size; FILE_COPY copies
 * the files but forces two checkpoints per copy, a fixed cost of half a second
 * or more on a server where other tests are writing. The two meet near 250 MB.
 *
 * Made ahead: a copy costs a few hundred milliseconds even for an empty
 * database, so copies are made before they are asked for and kept on the
 * server, shared by every process of the project and across runs: the spares
 * `cairn_spare_<project>_<key>_<slot>`, `slot` below `spares`. A call claims
 * one by renaming it to its own test database's name (ALTER DATABASE … RENAME
 * is atomic: of two processes renaming the same spare, the second finds it
 * gone and tries the next), a few milliseconds; then refills the empty slots
 * in the background, each slot under a try-advisory lock so two processes
 * never make the same one. The refill's connection does not keep the process
 * alive: a CREATE DATABASE cut off by the process's exit still completes on the
 * server (or rolls back whole), so a spare is always a complete copy. Spares of
 * other keys are dropped after a build and at a process's first call.
 */
export async function postgresTemplates(like: PostgresUrl, project: TemplateProject): Promise<TemplateStore> {
  const host = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);
  const template = (key: string) => `cairn_tpl_${project.id}_${key}`;
  const spares = (key: string) => `cairn_spare_${project.id}_${key}_`;
  /** Templates this process saw exist (a template is dropped only when the migrations, and so the key, changed), with the STRATEGY clause for copying each. */
  const known = new Map<string, string>();
  /** The refill under way in this process, and what the latest claim asks of it (another pass, perhaps for a new key). */
  let refilling: Promise<void> | null = null;
  let wanted: { readonly key: string; readonly count: number } | null = null;
  /** The key of the latest copy asked for. */
  let latest: string | null = null;
  /** The spare this process's refill is making now: a call that finds none ready waits for it rather than copying beside it. */
  let making: { readonly key: string; readonly name: string; readonly done: Promise<unknown>; readonly client: Refable } | null = null;

  const admin = adminPool(like, 16);
  /** Drops in the background (after close(), of spares of older keys, of what dead processes left), one at a time, on connections of their own: a claim never waits behind one. */
  const dropper = serialJobs(like);
  /** Once the first test database is handed out: drop what dead processes of this host left. */
  let swept = false;
  const sweep = () => {
    if (swept) return;
    swept = true;
    void dropper((client) => sweepDeadTests(client, `cairn_testdb_${project.id}_${host}_`)).catch(() => undefined);
  };
  /** The spares ensure() saw (one query for both), for the copy that follows it. */
  let seen: { readonly key: string; readonly spares: readonly string[] } | null = null;
  const createCopy = (client: PgTypes.ClientBase, name: string, key: string) => client.query(`CREATE DATABASE ${q(name)} TEMPLATE ${q(template(key))}${known.get(key) ?? ''}`);
  const testName = () => `cairn_testdb_${project.id}_${host}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

  /** Renames one of `candidates` (spares) to a test database of this process; null when every one was gone. */
  const claim = async (client: PgTypes.ClientBase, candidates: readonly string[]): Promise<string | null> => {
    for (const spare of candidates) {
      const name = testName();
      try {
        await client.query(`ALTER DATABASE ${q(spare)} RENAME TO ${q(name)}`);
        return name;
      } catch (error) {
        // 3D000: another process renamed it first; 55006: someone is connected to it (not ours to take).
        if (!['3D000', '55006'].includes((error as { code?: string }).code ?? '')) throw error;
      }
    }
    return null;
  };
  const ready = async (client: PgTypes.ClientBase, key: string) =>
    (await client.query<{ datname: string }>('SELECT datname FROM pg_catalog.pg_database WHERE starts_with(datname, $1) ORDER BY random()', [spares(key)])).rows.map((row) => row.datname);
  /** The spare this process is making, once made; the refill's connection keeps the process alive meanwhile (a caller waits on it). */
  const awaitMaking = async (key: string): Promise<string[]> => {
    const spare = making;
    if (spare?.key !== key) return [];
    spare.client.ref();
    try {
      await spare.done;
    } finally {
      spare.client.unref();
    }
    return [spare.name];
  };

  /** Makes the missing spares of `key`, slot by slot, skipping a slot another process is making. */
  const takeWanted = () => {
    const pass = wanted;
    wanted = null;
    return pass;
  };
  const refill = (key: string, count: number): void => {
    wanted = { key, count };
    refilling ??= (async () => {
      const client = await connect(like);
      const refable = client as unknown as Refable;
      refable.unref(); // see above: the process may exit mid-copy
      try {
        await client.query("SELECT set_config('synchronous_commit', 'off', false)");
        for (let pass = takeWanted(); pass; pass = takeWanted()) {
          for (let slot = 0; slot < pass.count && latest === pass.key; slot++) {
            const name = `${spares(pass.key)}${slot}`;
            if (await exists(client, name)) continue;
            const lock = lockId(`cairn spare ${name}`);
            if (!(await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [lock])).rows[0]!.ok) continue;
            try {
              if (!(await exists(client, name))) {
                const done = createCopy(client, name, pass.key);
                making = { key: pass.key, name, done: done.catch(() => undefined), client: refable };
                await done;
                // The migrations changed while it was being made (found() has dropped the other spares): not worth keeping.
                if (latest !== pass.key) await dropDatabase(client, name);
              }
            } finally {
              making = null;
              await client.query('SELECT pg_advisory_unlock($1)', [lock]);
            }
          }
        }
      } finally {
        await client.end().catch(() => undefined);
      }
    })()
      .catch(() => {
        wanted = null; // a spare that could not be made (the server gone?): no retry until the next call, which copies on its own and shows the error
      })
      .finally(() => {
        refilling = null;
        if (wanted) refill(wanted.key, wanted.count); // asked for after the last pass looked
      });
  };

  return {
    async ensure(key, migrate) {
      if (known.has(key)) return false;
      return admin(async (client) => {
        const name = template(key);
        /** Remembers how to copy it (the size the build noted in the template's comment) and drops the spares of other keys. */
        const found = async (): Promise<boolean> => {
          const { rows } = await client.query<{ version: string; note: string | null; spares: string[] }>(
            "SELECT current_setting('server_version_num') AS version, pg_catalog.shobj_description(oid, 'pg_database') AS note, array(SELECT datname::text FROM pg_catalog.pg_database WHERE starts_with(datname, $2) ORDER BY random()) AS spares FROM pg_catalog.pg_database WHERE datname = $1",
            [name, spares(key)],
          );
          if (!rows[0]) return false;
          seen = { key, spares: rows[0].spares };
          const size = Number(/^cairn template, (\d+) bytes/.exec(rows[0].note ?? '')?.[1] ?? (await databaseSize(client, name)));
          known.set(key, Number(rows[0].version) < 150000 ? '' : size < FILE_COPY_FROM ? ' STRATEGY WAL_LOG' : ' STRATEGY FILE_COPY');
          void dropper((other) => dropAll(other, `cairn_spare_${project.id}_`, spares(key))).catch(() => undefined); // made from migrations since changed
          return true;
        };
        if (await found()) return false;
        const lock = lockId(`cairn template ${project.id}`);
        await client.query('SELECT pg_advisory_lock($1)', [lock]);
        try {
          if (await found()) return false;
          const build = `${name}_build`;
          await dropDatabase(client, build); // a build that crashed half-way
          await client.query(`CREATE DATABASE ${q(build)}`);
          // Only this build writes to it: commits need not wait for the WAL flush. Not copied into test databases.
          await client.query(`ALTER DATABASE ${q(build)} SET synchronous_commit = off`).catch(() => undefined);
          try {
            await migrate({ scheme: 'postgres', url: urlOf(like, build), display: `${like.display.replace(/\/[^/?]*(\?.*)?$/, `/${build}`)} (template)`, secrets: like.secrets });
          } catch (error) {
            await dropDatabase(client, build).catch(() => undefined);
            throw error;
          }
          // The runner's connection is closed, but its backend may still be on its way out.
          await retryWhileBusy(() => client.query(`ALTER DATABASE ${q(build)} RENAME TO ${q(name)}`));
          await client.query(`ALTER DATABASE ${q(name)} WITH IS_TEMPLATE true${project.connectable ? '' : ' ALLOW_CONNECTIONS false'}`);
          // pg_database_size walks every file of the database (5000 for 1000 tables): measured once, here, not by every process.
          // Ahead of what the build wrote there (cairn diff names its project): `cairn template, <size> bytes; <that>`.
          const { rows: [built] } = await client.query<{ note: string | null }>("SELECT pg_catalog.shobj_description(oid, 'pg_database') AS note FROM pg_catalog.pg_database WHERE datname = $1", [name]);
          const note = `cairn template, ${await databaseSize(client, name)} bytes${built?.note ? `; ${built.note}` : ''}`;
          await client.query(`COMMENT ON DATABASE ${q(name)} IS '${note.replace(/'/g, "''")}'`);
          // A connectable one (cairn diff's) may be in use by another run: left for a later build rather than forced.
          await dropAll(client, `cairn_tpl_${project.id}_`, name, !project.connectable);
          await found();
          return true;
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [lock]).catch(() => undefined);
        }
      });
    },

    async copy(key, options) {
      latest = key;
      const count = options.ahead ? options.spares : 0;
      const listed = seen?.key === key ? seen.spares : null;
      seen = null;
      let name = count > 0 ? await admin(async (client) => (listed ? await claim(client, listed) : null) ?? claim(client, await ready(client, key))) : null;
      if (name === null && count > 0) {
        const made = await awaitMaking(key); // the rest of a copy under way, rather than a whole one beside it
        if (made.length > 0) name = await admin((client) => claim(client, made));
      }
      name ??= await admin(async (client) => {
        const made = testName();
        await createCopy(client, made, key);
        return made;
      });
      if (count > 0) refill(key, count);
      sweep();
      return {
        url: urlOf(like, name),
        drop: async () => {
          // Renamed at once (its URL stops working), dropped in the background: a DROP DATABASE costs as much as a copy.
          // The name keeps this process's prefix, so if the process ends before the drop does, the next run's sweep drops it.
          const closed = `${name}_closed`;
          try {
            await admin((client) => client.query(`ALTER DATABASE ${q(name)} RENAME TO ${q(closed)}`));
          } catch (error) {
            if ((error as { code?: string }).code !== '55006') throw error;
            return admin((client) => dropDatabase(client, name)); // still connected to: DROP … WITH (FORCE) ends those sessions
          }
          void dropper((client) => dropDatabase(client, closed)).catch(() => undefined);
        },
      };
    },

    ...(project.connectable ? { url: (key: string): DatabaseUrl => ({ scheme: 'postgres', url: urlOf(like, template(key)), display: `${like.display.replace(/\/[^/?]*(\?.*)?$/, `/${template(key)}`)} (kept by cairn diff)`, secrets: like.secrets }) } : {}),
  };
}

/** pg's Client.ref/unref (not in its types): whether its socket keeps the process alive. */
interface Refable {
  ref(): void;
  unref(): void;
}

/** From this size a template is copied with FILE_COPY (see postgresTemplates). */
const FILE_COPY_FROM = 256 * 1024 * 1024;

const q = (name: string) => `"${name}"`;

/** A bigint advisory lock id for `text`. */
const lockId = (text: string) => BigInt.asIntN(64, BigInt(`0x${createHash('sha256').update(text).digest('hex').slice(0, 16)}`)).toString();

/**
 * Connections for short jobs, kept open between calls (a connection costs a backend fork, ~20 ms) without keeping the process
 * alive. Their commits need not wait for the WAL flush: a test database is thrown away; a server crash may lose one being made.
 */
function adminPool(like: PostgresUrl, max: number): <T>(work: (client: PgTypes.PoolClient) => Promise<T>) => Promise<T> {
  const pool = new pg.Pool({ connectionString: like.url, max, idleTimeoutMillis: 10_000, allowExitOnIdle: true, connectionTimeoutMillis: 10_000, application_name: 'cairn test databases', options: '-c synchronous_commit=off' });
  pool.on('error', () => undefined); // an idle connection the server closed: the pool drops it
  // The first connection is opened at once (see postgresTemplates); jobs asked for meanwhile wait for it rather than open others.
  const first = pool.connect().then(
    (client) => client.release(),
    () => undefined, // the job that asks next reports it
  );
  return async (work) => {
    await first;
    const client = await pool.connect().catch((error: unknown) => {
      throw connectionError(like, error);
    });
    let failed = false;
    try {
      return await work(client);
    } catch (error) {
      failed = true; // the connection may hold a lock or be broken: not reused
      throw error;
    } finally {
      client.release(failed);
    }
  };
}

/**
 * Jobs run one after another, each on a connection of its own; the process lives until the last is done (a timer held
 * while any is pending: between two jobs no socket is open).
 */
function serialJobs(like: PostgresUrl): <T>(work: (client: PgTypes.Client) => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  let pending = 0;
  let alive: NodeJS.Timeout | null = null;
  return (work) => {
    pending++;
    alive ??= setInterval(() => undefined, 60_000);
    const job = last
      .catch(() => undefined)
      .then(async () => {
        const client = await connect(like);
        try {
          await client.query("SELECT set_config('synchronous_commit', 'off', false)");
          return await work(client);
        } finally {
          await client.end().catch(() => undefined);
        }
      })
      .finally(() => {
        if (--pending === 0 && alive) {
          clearInterval(alive);
          alive = null;
        }
      });
    last = job;
    return job;
  };
}

async function databaseSize(client: PgTypes.ClientBase, name: string): Promise<number> {
  return Number((await client.query<{ size: string }>('SELECT pg_catalog.pg_database_size($1) AS size', [name])).rows[0]!.size);
}

async function exists(client: PgTypes.ClientBase, name: string): Promise<boolean> {
  return (await client.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [name])).rowCount! > 0;
}

/** Drops the databases named `prefix…` but not `keep…`. */
async function dropAll(client: PgTypes.ClientBase, prefix: string, keep: string, force = true): Promise<void> {
  const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_catalog.pg_database WHERE starts_with(datname, $1) AND NOT starts_with(datname, $2)', [prefix, keep]);
  for (const { datname } of rows) await dropDatabase(client, datname, force).catch(() => undefined);
}

async function connect(like: PostgresUrl): Promise<PgTypes.Client> {
  const client = new pg.Client({ connectionString: like.url, connectionTimeoutMillis: 10_000, application_name: 'cairn test databases' });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectionError(like, error);
  }
  return client;
}

function connectionError(like: PostgresUrl, error: unknown): CairnError {
  const reason = like.secrets.reduce((text, secret) => text.split(secret).join('***'), (error as Error).message);
  return new CairnError('CONNECTION', `cannot connect to ${like.display} to make test databases: ${reason}`, {
    hint: 'createTestDatabase needs a PostgreSQL server where the user may CREATE DATABASE: check the url option (or the configured database)',
  });
}

function urlOf(like: PostgresUrl, name: string): string {
  const url = new URL(like.url);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Drops a test database or template, whoever is connected (with `force`; without, it fails while anyone is). A template
 * must first stop being one; only then is it altered, because ALTER DATABASE on a database another session is dropping
 * (PostgreSQL 15.4+ marks it invalid meanwhile) is FATAL: it ends the connection, and the DROP after it would never run.
 */
async function dropDatabase(client: PgTypes.ClientBase, name: string, force = true): Promise<void> {
  const drop = `DROP DATABASE IF EXISTS "${name}"${force ? ' WITH (FORCE)' : ''}`;
  try {
    await client.query(drop);
  } catch (error) {
    if ((error as { code?: string }).code !== '42809') throw error; // 42809 wrong_object_type: "cannot drop a template database"
    await client.query(`ALTER DATABASE "${name}" WITH IS_TEMPLATE false`);
    await client.query(drop);
  }
}

/** Drops the test databases this host's processes made and did not drop because they died first. */
async function sweepDeadTests(admin: PgTypes.ClientBase, prefix: string): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_catalog.pg_database WHERE starts_with(datname, $1)', [prefix]);
  for (const { datname } of rows) {
    const pid = Number(datname.slice(prefix.length).split('_')[0]);
    if (Number.isInteger(pid) && !processAlive(pid)) await dropDatabase(admin, datname).catch(() => undefined);
  }
}

/** 55006 object_in_use: a backend of a closed connection still attached. */
async function retryWhileBusy<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if ((error as { code?: string }).code !== '55006' || attempt >= 100) throw error;
      await sleep(50);
    }
  }
}
