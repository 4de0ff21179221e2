import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PGlite } from '@electric-sql/pglite';
import { CairnError } from '../../errors.js';
import { loadOptional } from '../optional.js';
import { postgresFlavor } from '../postgres/driver.js';
import { dumpPostgres } from '../postgres/dump.js';
import { introspectPostgres, postgresUserTables } from '../postgres/introspect.js';
import { postgresStatements } from '../postgres/statements.js';
import { StatementError, type Driver, type HeldLock, type LockOptions, type SqlCommand } from '../types.js';
import { acquireDirLock, type DirLock } from './lock.js';

/**
 * PGlite: PostgreSQL compiled to WASM, running inside this process, on one
 * connection. In memory (verify's scratch engine when no server is
 * configured) or on a data directory (`pglite:./pgdata`).
 *
 * Starting it costs seconds, so the instance starts once per driver, and for
 * a data directory only when first needed: the directory must be locked
 * before PGlite touches it (see lock.ts), and the migration lock's timeout is
 * only known when `lock()` is called. Reads that come first wait up to
 * READ_WAIT_MS for another process to let go of the directory.
 */
const READ_WAIT_MS = 10_000;

/**
 * The contrib extensions bundled with PGlite, so `CREATE EXTENSION pgcrypto`
 * works as on a server. Registering them adds about 0.4 s of CPU to a start
 * (measured); each loads its files on CREATE EXTENSION. Left out: pg_stat_statements, which PGlite preloads by writing
 * shared_preload_libraries into the data directory's postgresql.conf (after
 * which a PGlite without it cannot open the directory), and auto_explain,
 * a module rather than an extension.
 */
const CONTRIB = [
  'amcheck', 'bloom', 'btree_gin', 'btree_gist', 'citext', 'cube', 'dict_int', 'dict_xsyn', 'earthdistance', 'file_fdw',
  'fuzzystrmatch', 'hstore', 'intarray', 'isn', 'lo', 'ltree', 'moddatetime', 'pageinspect', 'pg_buffercache', 'pg_freespacemap',
  'pg_surgery', 'pg_trgm', 'pg_visibility', 'pg_walinspect', 'pgcrypto', 'seg', 'tablefunc', 'tcn',
  'tsm_system_rows', 'tsm_system_time', 'unaccent', 'uuid_ossp',
] as const;

export interface PgliteOpenOptions {
  /** False for read-only commands: a data directory that does not exist reads as an empty database and is not created. */
  readonly create: boolean;
}

export async function openPglite(dataDir: string | null, display: string, options: PgliteOpenOptions): Promise<Driver> {
  if (dataDir !== null) assertDataDirectory(dataDir, display);
  // A read of a directory that is not there: an empty database, in memory, started only if something asks more than "is there a history table?".
  const absent = dataDir !== null && !options.create && !existsSync(dataDir);
  const where = absent ? null : dataDir;
  const me = `${userInfo().username}@${hostname()}`;

  let instance: Promise<PGlite> | null = null;
  let dirLock: DirLock | null = null;
  const start = async (lockOptions: LockOptions): Promise<PGlite> => {
    if (where !== null) {
      mkdirSync(dirname(where), { recursive: true });
      dirLock = await acquireDirLock(where, display, lockOptions);
    }
    try {
      return await startPglite(where);
    } catch (error) {
      dirLock?.release();
      dirLock = null;
      if (error instanceof CairnError) throw error;
      throw new CairnError('CONNECTION', `cannot open PGlite database ${display}: ${(error as Error).message}`, {
        hint: where ? `check that ${where} was made by PGlite on the same PostgreSQL major version (its PG_VERSION file says which)` : undefined,
        cause: error,
      });
    }
  };
  /** The one instance, started on first need; a failed start (a lock timeout) is not remembered, so a later call tries again. */
  const ready = (lockOptions: LockOptions = { timeoutMs: READ_WAIT_MS, owner: me }): Promise<PGlite> =>
    (instance ??= start(lockOptions).catch((error: unknown) => {
      instance = null;
      throw error;
    }));
  if (dataDir === null) await ready(); // nothing to lock: start now, so failures show at open like other drivers'

  const run = async (command: SqlCommand): Promise<unknown[]> => {
    const db = await ready();
    return (await db.query(command.sql, (command.params ?? []) as unknown[])).rows;
  };
  const tables = new InProcessLocks();

  const driver: Driver = {
    // Like PostgreSQL, except that there is no server to hold advisory locks across processes.
    capabilities: { transactionalDdl: true, batchOnlyAtomicity: false, rowKey: null },
    flavor: postgresFlavor,
    target: display,

    ...postgresStatements(run, asStatementError),

    async tableExists(table) {
      if (absent && instance === null) return false;
      const rows = await run({ sql: 'SELECT to_regclass($1) IS NOT NULL AS present', params: [table] });
      return (rows[0] as { present?: boolean } | undefined)?.present === true;
    },

    userTables: async (options) => (absent && instance === null ? [] : postgresUserTables(await ready(), options.exclude)),

    snapshot: async (options) => introspectPostgres(await ready(), options),

    dump: async (options) => dumpPostgres(await ready(), options),

    async lock(table: string, lockOptions: LockOptions): Promise<HeldLock> {
      const started = Date.now();
      // The directory lock is the one other processes see: take it with the caller's timeout.
      await ready(lockOptions);
      return tables.acquire(table, Math.max(0, lockOptions.timeoutMs - (Date.now() - started)), display);
    },

    async close() {
      const current = instance;
      instance = null;
      if (current) await (await current.catch(() => null))?.close().catch(() => undefined);
      dirLock?.release();
      dirLock = null;
    },
  };
  return driver;
}

async function startPglite(dataDir: string | null): Promise<PGlite> {
  const { PGlite } = await loadOptional('@electric-sql/pglite', 'embedded PostgreSQL (PGlite)', () => import('@electric-sql/pglite'));
  const extensions: Record<string, unknown> = {};
  for (const name of CONTRIB) extensions[name] = ((await import(`@electric-sql/pglite/contrib/${name}`)) as Record<string, unknown>)[name];
  const options = { extensions: extensions as never };
  if (dataDir !== null) return started(new PGlite({ dataDir, ...options }));

  // In memory, every start would run initdb (seconds of CPU): start from a saved fresh data directory instead.
  const template = templateFile();
  const saved = readOwnFile(template);
  if (saved) {
    try {
      return await started(new PGlite({ loadDataDir: new Blob([new Uint8Array(saved)]), ...options }));
    } catch {
      rmSync(template, { force: true }); // unreadable: made again below
    }
  }
  const db = await started(new PGlite(options));
  await saveTemplate(db, template).catch(() => undefined); // only a speed-up
  return db;
}

async function started(db: PGlite): Promise<PGlite> {
  await db.waitReady;
  return db;
}

/**
 * A fresh in-memory PGlite, as a gzipped data directory in the OS temp dir,
 * keyed by PGlite's version and this user: loading it takes about a third of
 * the CPU of initdb (docs/pglite.md has the figures).
 */
function templateFile(): string {
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.resolve('@electric-sql/pglite')), 'utf8')) as { version: string }).version;
  } catch {
    // no version, no sharing across upgrades: still correct, the key just never matches an old file
  }
  return join(tmpdir(), `cairn-pglite-${version}-${userInfo().uid}.tgz`);
}

/** The file's bytes, if this user owns it and no one else may write it (a planted template would be someone else's database). */
function readOwnFile(path: string): Buffer | null {
  try {
    const stat = statSync(path);
    if (stat.uid !== userInfo().uid || (stat.mode & 0o022) !== 0) return null;
    return readFileSync(path);
  } catch {
    return null;
  }
}

async function saveTemplate(db: PGlite, path: string): Promise<void> {
  const data = Buffer.from(await (await db.dumpDataDir('gzip')).arrayBuffer());
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, data, { mode: 0o600 });
  renameSync(partial, path); // atomic: a concurrent reader sees the old file or the whole new one
}

/** Refuses a directory that holds something other than a PGlite (PostgreSQL) data directory: PGlite would initdb into it. */
function assertDataDirectory(dataDir: string, display: string): void {
  if (!existsSync(dataDir)) return;
  let entries: string[];
  try {
    entries = readdirSync(dataDir);
  } catch {
    throw new CairnError('CONFIG', `${display} is not a directory`, { hint: 'pglite:path names a data directory (created on first use), not a file' });
  }
  if (entries.length > 0 && !existsSync(join(dataDir, 'PG_VERSION'))) {
    throw new CairnError('CONFIG', `${display} is not a PGlite data directory (it has files but no PG_VERSION)`, {
      hint: 'point pglite: at an empty or missing directory, or at one PGlite created',
    });
  }
}

/** The migration lock among callers in this process; other processes are kept out by the directory lock (or, in memory, cannot get in). */
class InProcessLocks {
  private readonly held = new Set<string>();

  async acquire(table: string, timeoutMs: number, display: string): Promise<HeldLock> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; this.held.has(table); attempt++) {
      if (Date.now() >= deadline) {
        throw new CairnError('LOCK_TIMEOUT', `another migration in this process holds the lock on ${display}`, { hint: 'run one migration command at a time on one PGlite database' });
      }
      await sleep(Math.min(50 + attempt * 25, 250));
    }
    this.held.add(table);
    return { release: async () => void this.held.delete(table) };
  }
}

/** PGlite raises PostgreSQL's own errors (message, SQLSTATE code, 1-based position as text), like `pg`. */
function asStatementError(error: unknown, index: number): unknown {
  if (error instanceof CairnError) return error;
  if (error instanceof Error) {
    const { code, position } = error as Error & { code?: unknown; position?: unknown };
    const engineCode = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
    const at = engineCode && position ? Number(position) : undefined;
    return new StatementError(index, error.message, Number.isFinite(at) ? at : undefined, engineCode, { cause: error });
  }
  return error;
}
