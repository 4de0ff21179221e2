import type { Driver, SqlCommand } from '../drivers/types.js';

/**
 * The history table. One row per migration that ran (or was baselined):
 * state `applied`, or `failed`/`running` for a no-transaction migration that
 * broke or was interrupted half-way. For transactional migrations the row is
 * written in the migration's own transaction, so it cannot lie.
 */
export type RecordState = 'applied' | 'failed' | 'running';
/** `adopted`: applied by wrangler, copied from its d1_migrations table (wrangler/table.ts). */
export type RecordMethod = 'run' | 'baseline' | 'adopted';

export interface AppliedRecord {
  readonly version: string;
  readonly name: string;
  readonly checksum: string;
  readonly state: RecordState;
  readonly appliedAt: Date;
  readonly durationMs: number;
  readonly appliedBy: string;
  readonly method: RecordMethod;
  /** The database's message for a failed migration. */
  readonly error: string | null;
  /** JSON-safe extras: the failing statement's file and line, … */
  readonly details: Readonly<Record<string, unknown>>;
}

/**
 * A history row for a migration done now, as `method` did it: applied, no
 * time measured yet, no error. `extra` overrides what differs (when, details).
 */
export function historyRecord(
  migration: { readonly version: string; readonly name: string; readonly checksum: string },
  appliedBy: string,
  method: RecordMethod,
  extra: Partial<Pick<AppliedRecord, 'appliedAt' | 'details'>> = {},
): AppliedRecord {
  return { version: migration.version, name: migration.name, checksum: migration.checksum, state: 'applied', appliedAt: new Date(), durationMs: 0, appliedBy, method, error: null, details: {}, ...extra };
}

interface Row {
  version: string;
  name: string;
  checksum: string;
  state: string;
  applied_at: string | Date;
  duration_ms: number | string;
  applied_by: string;
  method: string;
  error: string | null;
  details: string | null;
}

const COLUMNS = ['version', 'name', 'checksum', 'state', 'applied_at', 'duration_ms', 'applied_by', 'method', 'error', 'details'] as const;

export class TrackingTable {
  private readonly quoted: string;

  constructor(
    private readonly driver: Driver,
    readonly name: string,
  ) {
    this.quoted = name.split('.').map((part) => driver.flavor.quoteIdentifier(part)).join('.');
  }

  /** Create-if-missing, tolerant of another process creating it at the same moment. */
  async ensure(): Promise<void> {
    if (await this.driver.tableExists(this.name)) return;
    const { text, integer, timestamp } = this.driver.flavor.types;
    try {
      await this.driver.atomic([
        {
          sql: `CREATE TABLE IF NOT EXISTS ${this.quoted} (
  version ${text} PRIMARY KEY,
  name ${text} NOT NULL,
  checksum ${text} NOT NULL,
  state ${text} NOT NULL,
  applied_at ${timestamp} NOT NULL,
  duration_ms ${integer} NOT NULL,
  applied_by ${text} NOT NULL,
  method ${text} NOT NULL,
  error ${text},
  details ${text}
)`,
        },
      ]);
    } catch (error) {
      // Two processes can race past the existence check; the loser's CREATE fails. Look again.
      if (!(await this.driver.tableExists(this.name))) throw error;
    }
  }

  async read(): Promise<AppliedRecord[]> {
    if (!(await this.driver.tableExists(this.name))) return [];
    const rows = await this.driver.query<Row>({ sql: `SELECT ${COLUMNS.join(', ')} FROM ${this.quoted}` });
    return rows.map((row) => ({
      version: row.version,
      name: row.name,
      checksum: row.checksum,
      state: row.state as RecordState,
      appliedAt: new Date(row.applied_at),
      durationMs: Number(row.duration_ms),
      appliedBy: row.applied_by,
      method: row.method as RecordMethod,
      error: row.error,
      details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : {},
    }));
  }

  insert(record: AppliedRecord): SqlCommand {
    const p = (n: number) => this.driver.flavor.param(n);
    return {
      sql: `INSERT INTO ${this.quoted} (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => p(i + 1)).join(', ')})`,
      params: [
        record.version,
        record.name,
        record.checksum,
        record.state,
        record.appliedAt.toISOString(),
        record.durationMs,
        record.appliedBy,
        record.method,
        record.error,
        Object.keys(record.details).length > 0 ? JSON.stringify(record.details) : null,
      ],
    };
  }

  /** Finishes a `running` record of a no-transaction migration as applied or failed. */
  finish(version: string, outcome: { state: RecordState; durationMs: number; error: string | null; details: Record<string, unknown> }): SqlCommand {
    const p = (n: number) => this.driver.flavor.param(n);
    return {
      sql: `UPDATE ${this.quoted} SET state = ${p(1)}, duration_ms = ${p(2)}, error = ${p(3)}, details = ${p(4)} WHERE version = ${p(5)}`,
      params: [outcome.state, outcome.durationMs, outcome.error, Object.keys(outcome.details).length > 0 ? JSON.stringify(outcome.details) : null, version],
    };
  }

  /** Replaces a row's details: facts known only after its step committed (a backup's row counts after it). */
  updateDetails(version: string, details: Record<string, unknown>): SqlCommand {
    const p = (n: number) => this.driver.flavor.param(n);
    return { sql: `UPDATE ${this.quoted} SET details = ${p(1)} WHERE version = ${p(2)}`, params: [Object.keys(details).length > 0 ? JSON.stringify(details) : null, version] };
  }

  updateDuration(version: string, durationMs: number): SqlCommand {
    const p = (n: number) => this.driver.flavor.param(n);
    return { sql: `UPDATE ${this.quoted} SET duration_ms = ${p(1)} WHERE version = ${p(2)}`, params: [durationMs, version] };
  }

  updateChecksum(version: string, checksum: string): SqlCommand {
    const p = (n: number) => this.driver.flavor.param(n);
    return { sql: `UPDATE ${this.quoted} SET checksum = ${p(1)} WHERE version = ${p(2)}`, params: [checksum, version] };
  }

  delete(version: string): SqlCommand {
    return { sql: `DELETE FROM ${this.quoted} WHERE version = ${this.driver.flavor.param(1)}`, params: [version] };
  }
}

/**
 * The tables that record migrations rather than hold the schema: the history,
 * its lock, and wrangler's d1_migrations. Snapshots, dumps and drift leave them out.
 */
export function bookkeepingTables(config: { readonly table: string; readonly wranglerTable: { readonly name: string } }): string[] {
  return [config.table, `${config.table}_lock`, config.wranglerTable.name];
}
