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
 * STRATEGY (PostgreSQL 15+): WAL_LOG, the default, copies the template block by
 * block through the WAL; FILE_COPY copies its files but forces two checkpoints
 * per copy, which on a server with other work (the other tests' writes) costs
 * more than WAL-logging a test schema's few hundred kilobytes. WAL_LOG is
 * named explicitly so a changed default cannot change it (docs/testing.md).
 */
export async function postgresTemplates(like: PostgresUrl, project: TemplateProject): Promise<TemplateStore> {
  const admin = await connect(like);
  // A test database is thrown away: CREATE DATABASE need not wait for the WAL flush (a server crash may lose one; nobody keeps them).
  // WAL_LOG's copy is WAL-logged block by block, so this is most of its cost: measured 4× faster under load.
  await admin.query('SET synchronous_commit = off');
  const host = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);
  const template = (key: string) => `cairn_tpl_${project.id}_${key}`;
  const q = (name: string) => `"${name}"`;
  const exists = async (name: string) => (await admin.query('SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [name])).rowCount! > 0;
  const version = Number((await admin.query<{ server_version_num: string }>('SHOW server_version_num')).rows[0]!.server_version_num);
  await sweepDeadTests(admin, `cairn_testdb_${project.id}_${host}_`);

  return {
    async ensure(key, migrate) {
      const name = template(key);
      if (await exists(name)) return false;
      const lockKey = BigInt.asIntN(64, BigInt(`0x${createHash('sha256').update(`cairn template ${project.id}`).digest('hex').slice(0, 16)}`)).toString();
      await admin.query('SELECT pg_advisory_lock($1)', [lockKey]);
      try {
        if (await exists(name)) return false;
        const build = `${name}_build`;
        await dropDatabase(admin, build); // a build that crashed half-way
        await admin.query(`CREATE DATABASE ${q(build)}`);
        // Only this build writes to it: commits need not wait for the WAL flush. Not copied into test databases.
        await admin.query(`ALTER DATABASE ${q(build)} SET synchronous_commit = off`).catch(() => undefined);
        try {
          await migrate({ scheme: 'postgres', url: urlOf(like, build), display: `${like.display.replace(/\/[^/?]*(\?.*)?$/, `/${build}`)} (template)`, secrets: like.secrets });
        } catch (error) {
          await dropDatabase(admin, build).catch(() => undefined);
          throw error;
        }
        // The runner's connection is closed, but its backend may still be on its way out.
        await retryWhileBusy(() => admin.query(`ALTER DATABASE ${q(build)} RENAME TO ${q(name)}`));
        await admin.query(`ALTER DATABASE ${q(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
        const older = await admin.query<{ datname: string }>("SELECT datname FROM pg_catalog.pg_database WHERE starts_with(datname, $1) AND datname <> $2", [`cairn_tpl_${project.id}_`, name]);
        for (const { datname } of older.rows) await dropDatabase(admin, datname).catch(() => undefined);
        return true;
      } finally {
        await admin.query('SELECT pg_advisory_unlock($1)', [lockKey]).catch(() => undefined);
      }
    },

    async copy(key) {
      const name = `cairn_testdb_${project.id}_${host}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
      await admin.query(`CREATE DATABASE ${q(name)} TEMPLATE ${q(template(key))}${version >= 150000 ? ' STRATEGY WAL_LOG' : ''}`);
      return {
        url: urlOf(like, name),
        drop: async () => {
          const client = await connect(like);
          try {
            await dropDatabase(client, name);
          } finally {
            await client.end().catch(() => undefined);
          }
        },
      };
    },

    close: () => admin.end().catch(() => undefined),
  };
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

/** Drops a test database or template, whoever is connected. */
async function dropDatabase(client: pg.Client, name: string): Promise<void> {
  await client.query(`ALTER DATABASE "${name}" WITH IS_TEMPLATE false`).catch(() => undefined);
  await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
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
