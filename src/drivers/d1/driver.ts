import type { D1Location } from '../../config/url.js';
import { CairnError } from '../../errors.js';
import { sqliteFlavor } from '../sqlite/driver.js';
import { dumpSqlite } from '../sqlite/dump.js';
import { introspectSqlite, sqliteUserTables, type SqliteQuery } from '../sqlite/introspect.js';
import { resolveCommand, StatementError, type Driver, type HeldLock, type LockOptions, type SqlCommand } from '../types.js';
import { d1Backup } from './backup.js';
import { acquireD1Lock } from './lock.js';
import { D1QueryError, describeD1Error, type D1Transport, type TimeTravel } from './transport.js';

/**
 * Cloudflare D1, local (miniflare) or remote (HTTP API), behind one Driver.
 * D1 is SQLite with rules of its own: no BEGIN/COMMIT/SAVEPOINT, foreign keys
 * always on, some pragmas and functions refused. Its only atomic unit is a
 * batch, so `atomic()` is one batch: a migration's statements, its history
 * row and the lock's heartbeat commit together or not at all.
 */
export async function openD1(location: D1Location, display: string, options: { readonly create: boolean }): Promise<Driver> {
  const transport =
    location.kind === 'local'
      ? await (await import('./local.js')).openLocalD1(location.databaseId, location.persistDir, display, options)
      : (await import('./remote.js')).openRemoteD1(location, display, process.env);
  return d1Driver(transport, display, location.kind === 'local');
}

/** D1's documented limits per statement (developers.cloudflare.com/d1/platform/limits). */
export const D1_LIMITS = { engine: 'D1', maxBytes: 100_000, maxParams: 100 } as const;

/**
 * A restore puts back the lock row of the run the bookmark was taken in (it held the lock then); the restoring
 * session holds the lock now, so that row is not anyone's any more: remove it, or the next run waits for its expiry.
 */
function timeTravelOf(timeTravel: TimeTravel, lockTable: () => string | null, transport: D1Transport): NonNullable<Driver['timeTravel']> {
  return {
    bookmark: () => timeTravel.bookmark(),
    async restore(bookmark) {
      const result = await timeTravel.restore(bookmark);
      const table = lockTable();
      if (table) await transport.batch([{ sql: `DELETE FROM ${table} WHERE id = 1` }]).catch(() => undefined);
      return result;
    },
  };
}

/** D1 would refuse the batch whole; say which statement and why instead of D1's "too many SQL variables". */
function refuseOverLimits(batch: readonly SqlCommand[]): void {
  const over = batch.find((command) => (command.params?.length ?? 0) > D1_LIMITS.maxParams);
  if (!over) return;
  throw new CairnError('USAGE', `a statement with ${over.params!.length} bound parameters: D1 allows at most ${D1_LIMITS.maxParams} per statement (${over.sql.slice(0, 80)}…)`, {
    hint: 'bind at most 100 values per statement: split the statement into several in the same batch (Cairn\'s own statements are split already; if this one is Cairn\'s, report it)',
    details: { params: over.params!.length, maxParams: D1_LIMITS.maxParams },
  });
}

/** A probe statement that always fails, with a message nothing else produces: see `failingIndex`. */
const PROBE_TABLE = '_cairn_probe_end_of_prefix';
const PROBE: SqlCommand = { sql: `SELECT 1 FROM ${PROBE_TABLE}` };

export function d1Driver(transport: D1Transport, display: string, local: boolean): Driver {
  let heartbeat: (() => SqlCommand) | null = null;
  let lockTable: string | null = null;

  const query: SqliteQuery = async (sql, params = []) => (await transport.batch([{ sql, params }]))[0] ?? [];

  // D1's own tables (_cf_METADATA, …) are not the user's schema, and D1 refuses to describe them.
  const internalTables = async () => (await query("SELECT name FROM sqlite_master WHERE name LIKE '\\_cf\\_%' ESCAPE '\\'")).map((row) => String(row.name));

  const driver: Driver = {
    capabilities: { transactionalDdl: true, batchOnlyAtomicity: true, rowKey: 'rowid', statementLimits: D1_LIMITS, answeredBy: 'the D1 API' },
    flavor: sqliteFlavor,
    target: display,

    async query<R>(command: SqlCommand): Promise<R[]> {
      if (!command.sql.trim()) return [];
      refuseOverLimits([command]);
      try {
        return ((await transport.batch([command]))[0] ?? []) as R[];
      } catch (error) {
        throw asStatementError(error, 0);
      }
    },

    async atomic(commands) {
      // No interactive transaction: everything, deferred commands included, is built before the batch goes.
      const resolved = commands.map(resolveCommand);
      const statements = resolved.filter((command) => command.sql.trim() !== '');
      const positions = resolved.flatMap((command, index) => (command.sql.trim() !== '' ? [index] : []));
      // The heartbeat rides in the same batch, so the lock cannot look stale right after a long step.
      const batch = heartbeat ? [...statements, heartbeat()] : statements;
      if (batch.length === 0) return;
      refuseOverLimits(batch);
      try {
        await transport.batch(batch);
      } catch (error) {
        if (!(error instanceof D1QueryError)) throw error;
        const failed = batch.length === 1 ? 0 : await failingIndex(transport, batch);
        throw asStatementError(error, Math.min(positions[failed] ?? commands.length - 1, commands.length - 1));
      }
    },

    async tableExists(table) {
      return (await query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [table])).length > 0;
    },

    // One request: D1's own _cf_ tables are left out by name here rather than asked for first.
    userTables: async (options) => (await sqliteUserTables(query, options.exclude)).filter((name) => !/^_cf_/i.test(name)),

    async snapshot(options) {
      return introspectSqlite(query, { exclude: [...options.exclude, ...(await internalTables())] });
    },

    async dump(options) {
      return dumpSqlite(query, { exclude: [...options.exclude, ...(await internalTables())] });
    },

    async lock(table: string, options: LockOptions): Promise<HeldLock> {
      const held = await acquireD1Lock((statements, batchOptions) => transport.batch(statements, batchOptions), `${table}_lock`, { ...options, local });
      heartbeat = held.heartbeat;
      lockTable = `${table}_lock`;
      return {
        release: async () => {
          heartbeat = null;
          lockTable = null;
          await held.release();
        },
      };
    },

    async close() {
      await transport.close();
    },

    ...(transport.timeTravel ? { timeTravel: timeTravelOf(transport.timeTravel, () => lockTable, transport) } : {}),

    // Rows read and written through the same transport, the lock's heartbeat riding along a long backup or restore.
    backup: d1Backup({ batch: (statements) => transport.batch(statements), heartbeat: () => heartbeat?.() ?? null }),
  };
  return driver;
}

/**
 * D1 rolls a failed batch back whole but does not say which statement failed.
 * Find it by bisection: run a prefix followed by PROBE, which always fails,
 * so nothing commits; if the error is PROBE's own, the prefix ran cleanly.
 * log2(n) extra round trips, and only when a batch has failed. Returns the
 * index of the first statement whose prefix fails; when every prefix runs
 * (the batch failed at commit, e.g. a deferred foreign key), the last one.
 */
async function failingIndex(transport: D1Transport, batch: readonly SqlCommand[]): Promise<number> {
  let clean = 0; // the longest prefix known to run without error
  let upper = batch.length - 1; // the whole batch fails, so the longest clean prefix is shorter
  while (clean < upper) {
    const middle = Math.ceil((clean + upper) / 2);
    if (await prefixRuns(transport, batch.slice(0, middle))) clean = middle;
    else upper = middle - 1;
  }
  return clean; // batch[clean] is the first statement that fails
}

async function prefixRuns(transport: D1Transport, prefix: readonly SqlCommand[]): Promise<boolean> {
  try {
    await transport.batch([...prefix, PROBE]);
  } catch (error) {
    if (error instanceof D1QueryError) return error.message.includes(PROBE_TABLE);
    throw error;
  }
  throw new Error(`the probe statement ${PROBE.sql} unexpectedly succeeded`);
}

function asStatementError(error: unknown, index: number): unknown {
  if (!(error instanceof D1QueryError)) return error;
  const { engineCode, position } = describeD1Error(error.message);
  return new StatementError(index, error.message, position, engineCode, { cause: error });
}

