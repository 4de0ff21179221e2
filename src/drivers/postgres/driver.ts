import { hostname, userInfo } from 'node:os';
import type * as PgTypes from 'pg';
import pg from './pg.js';
import { CairnError } from '../../errors.js';
import { resolveCommand, StatementError, type Driver, type SqlCommand, type SqlFlavor } from '../types.js';
import { postgresBackup } from './backup.js';
import { dumpPostgres } from './dump.js';
import { incrementalPostgresDump } from './incremental-dump.js';
import { introspectPostgres, postgresUserTables } from './introspect.js';
import { acquireAdvisoryLock, advisoryLockHolder } from './lock.js';
import { installChangeLog } from './scratch.js';
import { batchedAtomic, postgresStatements } from './statements.js';
import { quoteIdentifier } from '../../sql/quote.js';

export const postgresFlavor: SqlFlavor = {
  param: (n) => `$${n}`,
  quoteIdentifier,
  types: { text: 'text', integer: 'bigint', timestamp: 'timestamptz' },
  lockTimeout: { set: (ms) => `SET LOCAL lock_timeout = '${Math.max(1, Math.round(ms))}ms'`, code: '55P03' },
  relaxedCommit: 'SET LOCAL synchronous_commit = off',
  // Compared as text so that a boolean, an integer 1 or 't' all hold, as source/assertions.ts `holds` reads them.
  assertion: (query) => `DO $cairn_assert$ BEGIN IF NOT coalesce(((${query}))::text IN ('true', 't', '1'), false) THEN RAISE EXCEPTION 'cairn: assertion failed' USING ERRCODE = 'P0004'; END IF; END $cairn_assert$`,
};

export interface PostgresOpenOptions {
  /** A scratch database Cairn made, written only through this connection: dumps re-read only what changed since the last one. */
  readonly scratch?: boolean;
  /** Run with `search_path` = this schema alone (schema-per-tenant): unqualified names, the history table included, live there. */
  readonly schema?: string | undefined;
}

/**
 * PostgreSQL through `pg`, on one pinned connection: session advisory locks
 * belong to a connection, so the lock and every migration share this one.
 */
export async function openPostgres(url: string, display: string, secrets: readonly string[], options: PostgresOpenOptions = {}): Promise<Driver> {
  const client = new pg.Client({
    connectionString: url,
    application_name: `cairn ${userInfo().username}@${hostname()} pid ${process.pid}`.slice(0, 63),
    connectionTimeoutMillis: 10_000,
  });
  // A dropped connection must surface as a failed query, not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    const reason = scrub((error as Error).message || String((error as { code?: string }).code), secrets);
    throw new CairnError('CONNECTION', `cannot connect to ${display}: ${reason}`, {
      hint: isMissingDatabase(error)
        ? 'create it with `cairn create` (or `cairn up --create`), or correct the database name in the URL'
        : 'check that the server is running and that host, port, user and database in the URL are right',
      details: { target: display },
    });
  }

  if (options.schema !== undefined) {
    // Only this schema: with public behind it, a tenant without a history table yet would read public's.
    const { rows } = await client.query<{ present: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS present', [options.schema]);
    if (rows[0]?.present !== true) {
      await client.end().catch(() => undefined);
      throw new CairnError('CONNECTION', `schema "${options.schema}" does not exist in ${display}`, {
        hint: 'create it first (CREATE SCHEMA …), or correct ?schema= in the URL',
        details: { target: display, schema: options.schema },
      });
    }
    await client.query("SELECT set_config('search_path', $1, false)", [postgresFlavor.quoteIdentifier(options.schema)]);
  }

  // A scratch database: a log of what each DDL command touched, where the user may keep one (scratch.ts).
  const changeLog = options.scratch ? await installChangeLog(client).catch(() => false) : false;

  const lockName = (table: string) => (options.schema === undefined ? table : `${options.schema}.${table}`);

  const run = async (command: SqlCommand) => {
    const result = await client.query({ text: command.sql, values: command.params as unknown[] | undefined });
    // A multi-statement string yields an array of results; we only send one statement at a time.
    return (Array.isArray(result) ? result.at(-1)?.rows ?? [] : result.rows) as unknown[];
  };

  const failed = (error: unknown, index: number) => asStatementError(error, index, secrets);
  const statements = postgresStatements(run, failed);
  // After cancel() (Ctrl-C), the unit being run sends none of its remaining commands (nor runs them again one by one): it rolls back.
  let cancelled = false;
  const guarded = (commands: Parameters<Driver['atomic']>[0]) =>
    commands.map((command) => () => {
      if (cancelled) throw new Error('canceling statement due to user request (interrupted before it was sent)');
      return resolveCommand(command);
    });
  const oneByOne: Driver['atomic'] = (commands) => statements.atomic(guarded(commands));
  // A scratch database (verify's replay): a step's statements in one round trip, one by one again on any error (statements.ts).
  const atomicUnit = options.scratch ? batchedAtomic((sql) => client.query(sql), (value) => literal(client, value), oneByOne, failed) : oneByOne;
  const atomic: Driver['atomic'] = (commands) => {
    cancelled = false;
    return atomicUnit(commands);
  };

  return {
    capabilities: { transactionalDdl: true, batchOnlyAtomicity: false, rowKey: null },
    flavor: postgresFlavor,
    target: display,

    query: statements.query,
    atomic,
    transaction: statements.transaction,

    async tableExists(table) {
      const { rows } = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
      return rows[0]?.present === true;
    },

    userTables: (asked) => postgresUserTables(client, asked.exclude, options.schema),

    // A tenant's schema (?schema=) reads as the database it stands for: that schema alone, as if it were public.
    snapshot: (snapshotOptions) => introspectPostgres(client, { ...snapshotOptions, home: options.schema }),

    dump: options.scratch ? incrementalPostgresDump(client, { changeLog }) : (dumpOptions) => dumpPostgres(client, { ...dumpOptions, home: options.schema }),

    // Tenants in schemas of one database each have their own history, so each its own lock.
    lock: (table, lockOptions) => acquireAdvisoryLock(client, lockName(table), lockOptions),
    lockHolder: (table) => advisoryLockHolder(client, lockName(table)),

    // The server cancels what this connection's backend is running; asked over a second connection, as psql's Ctrl-C does.
    async cancel() {
      cancelled = true;
      const pid = (client as unknown as { processID: number | null }).processID;
      if (!pid) return;
      const other = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, application_name: 'cairn (cancel)' });
      other.on('error', () => undefined);
      try {
        await other.connect();
        await other.query('SELECT pg_cancel_backend($1)', [pid]);
      } finally {
        await other.end().catch(() => undefined);
      }
    },

    async close() {
      await client.end().catch(() => undefined);
    },

    async schemas(like) {
      const { rows } = await client.query<{ name: string }>('SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE $1 ORDER BY nspname COLLATE "C"', [like]);
      return rows.map((row) => row.name);
    },

    backup: postgresBackup(client),
  };
}

function asStatementError(error: unknown, index: number, secrets: readonly string[]): unknown {
  if (error instanceof pg.DatabaseError) {
    const position = error.position ? Number(error.position) : undefined;
    return new StatementError(index, scrub(error.message, secrets), position, error.code, { cause: error });
  }
  if (error instanceof Error) return new StatementError(index, scrub(error.message, secrets), undefined, undefined, { cause: error });
  return error;
}

/** A parameter as an SQL literal of unknown type (the server gives it the type the context wants, as for a `$n`); null for what is not a plain value. */
function literal(client: PgTypes.Client, value: unknown): string | null {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return client.escapeLiteral(value);
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint' || typeof value === 'boolean') return `'${String(value)}'`;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return `'${value.toISOString()}'`;
  return null;
}

/** True when connecting failed only because the database in the URL does not exist (SQLSTATE 3D000). */
export function isMissingDatabase(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === '3D000';
}

/** The message with every secret of the URL (password, token) replaced by ***. */
export function scrub(message: string, secrets: readonly string[]): string {
  return secrets.reduce((text, secret) => (secret ? text.split(secret).join('***') : text), message);
}
