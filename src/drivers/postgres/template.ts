import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
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
 * Made ahead: from a process's second test database on, the next one is made
 * in the background as soon as one is handed out (a test's own work hides
 * it), and the next call takes it. One such spare per process; dropped when
 * the process runs out of work (`beforeExit`), otherwise with the dead
 * process's other test databases by the next run's sweep.
 */
export async function postgresTemplates(like: PostgresUrl, project: TemplateProject): Promise<TemplateStore> {
  const host = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);
  const template = (key: string) => `cairn_tpl_${project.id}_${key}`;
  /** Templates this process saw exist (a template is dropped only when the migrations, and so the key, changed), with the STRATEGY clause for copying each. */
  const known = new Map<string, string>();
  let handedOut = 0;
  let spare: { readonly key: string; readonly name: Promise<string | null> } | null = null;

  /** A connection for one job: commits need not wait for the WAL flush (a test database is thrown away; a server crash may lose one being made). */
  const admin = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = await connect(like);
    try {
      await client.query("SELECT set_config('synchronous_commit', 'off', false)");
      await sweepDeadTests(client, `cairn_testdb_${project.id}_${host}_`);
      return await work(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const makeCopy = (key: string) =>
    admin(async (client) => {
      const name = `cairn_testdb_${project.id}_${host}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
      await client.query(`CREATE DATABASE ${q(name)} TEMPLATE ${q(template(key))}${known.get(key) ?? ''}`);
      return name;
    });
  const dropSpare = () => {
    const left = spare;
    spare = null;
    return left ? left.name.then((name) => (name ? admin((client) => dropDatabase(client, name)) : undefined)).catch(() => undefined) : Promise.resolve();
  };
  process.once('beforeExit', () => void dropSpare());

  return {
    async ensure(key, migrate) {
      if (known.has(key)) return false;
      return admin(async (client) => {
        const name = template(key);
        const strategy = async () => {
          const { rows } = await client.query<{ version: string; size: string }>("SELECT current_setting('server_version_num') AS version, pg_catalog.pg_database_size($1) AS size", [name]);
          known.set(key, Number(rows[0]!.version) < 150000 ? '' : Number(rows[0]!.size) < FILE_COPY_FROM ? ' STRATEGY WAL_LOG' : ' STRATEGY FILE_COPY');
        };
        if (await exists(client, name)) return strategy().then(() => false);
        const lockKey = BigInt.asIntN(64, BigInt(`0x${createHash('sha256').update(`cairn template ${project.id}`).digest('hex').slice(0, 16)}`)).toString();
        await client.query('SELECT pg_advisory_lock($1)', [lockKey]);
        try {
          if (await exists(client, name)) return strategy().then(() => false);
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
          const older = await client.query<{ datname: string }>('SELECT datname FROM pg_catalog.pg_database WHERE starts_with(datname, $1) AND datname <> $2', [`cairn_tpl_${project.id}_`, name]);
          for (const { datname } of older.rows) await dropDatabase(client, datname, !project.connectable).catch(() => undefined);
          await strategy();
          return true;
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [lockKey]).catch(() => undefined);
        }
      });
    },

    async copy(key, options) {
      handedOut++;
      let name: string | null = null;
      if (spare?.key === key) {
        const waiting = spare;
        spare = null;
        name = await waiting.name;
      } else {
        void dropSpare(); // made from a template whose migrations have since changed
      }
      name ??= await makeCopy(key);
      if (options.ahead && handedOut >= 2) spare = { key, name: makeCopy(key).catch(() => null) }; // a failure shows on the next call, which makes its own
      return {
        url: urlOf(like, name),
        drop: () => admin((client) => dropDatabase(client, name)),
      };
    },

    ...(project.connectable ? { url: (key: string): DatabaseUrl => ({ scheme: 'postgres', url: urlOf(like, template(key)), display: `${like.display.replace(/\/[^/?]*(\?.*)?$/, `/${template(key)}`)} (kept by cairn diff)`, secrets: like.secrets }) } : {}),
  };
}

/** From this size a template is copied with FILE_COPY (see postgresTemplates). */
const FILE_COPY_FROM = 256 * 1024 * 1024;

const q = (name: string) => `"${name}"`;

async function exists(client: pg.Client, name: string): Promise<boolean> {
  return (await client.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [name])).rowCount! > 0;
}

async function connect(like: PostgresUrl): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: like.url, connectionTimeoutMillis: 10_000, application_name: 'cairn test databases' });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    const reason = like.secrets.reduce((text, secret) => text.split(secret).join('***'), (error as Error).message);
    throw new CairnError('CONNECTION', `cannot connect to ${like.display} to make test databases: ${reason}`, {
      hint: 'createTestDatabase needs a PostgreSQL server where the user may CREATE DATABASE: check the url option (or the configured database)',
    });
  }
  return client;
}

function urlOf(like: PostgresUrl, name: string): string {
  const url = new URL(like.url);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops a test database or template, whoever is connected (with `force`; without, it fails while anyone is). */
async function dropDatabase(client: pg.Client, name: string, force = true): Promise<void> {
  await client.query(`ALTER DATABASE "${name}" WITH IS_TEMPLATE false`).catch(() => undefined);
  await client.query(`DROP DATABASE IF EXISTS "${name}"${force ? ' WITH (FORCE)' : ''}`);
}

/** Test databases this host's processes made and did not drop because they died first. */
const swept = new Set<string>();
async function sweepDeadTests(admin: pg.Client, prefix: string): Promise<void> {
  if (swept.has(prefix)) return;
  swept.add(prefix);
  const { rows } = await admin.query<{ datname: string }>("SELECT datname FROM pg_catalog.pg_database WHERE starts_with(datname, $1)", [prefix]);
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
