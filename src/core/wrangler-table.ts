import { basename } from 'node:path';
import type { Driver, SqlCommand } from '../drivers/types.js';
import type { Migration } from '../source/migration.js';
import type { CairnEvent } from './events.js';
import type { Direction } from './migrator.js';
import type { AppliedRecord, TrackingTable } from './tracking.js';

/**
 * Wrangler's history table (`d1_migrations` unless `migrations_table` says
 * otherwise): `id`, `name` (the file name), `applied_at`. It is a table format,
 * not a dialect, so this works on any engine.
 *
 * Reading it lets Cairn take over a database wrangler migrated: a migration
 * recorded there but not in Cairn's history counts as applied, and the first
 * write session copies it into Cairn's history (method `adopted`). Writing it
 * (the same batch as each step) keeps `wrangler d1 migrations list` true, so a
 * team can go back to wrangler at any time. Cairn keeps it in step whenever it
 * exists, not only through a binding: a `down` that left wrangler's row behind
 * would be adopted again as applied on the next run.
 */
export interface WranglerRow {
  readonly id: number;
  readonly name: string;
  readonly appliedAt: Date;
}

export interface WranglerTableSettings {
  readonly name: string;
  /** Create the table if it is missing (the database came from a wrangler binding). */
  readonly create: boolean;
}

/** What a migration step (or baseline/repair) needs to name wrangler's row: its version and file. */
export interface StepIdentity {
  readonly version: string;
  /** Project-relative path of the up file; null when the file is gone. */
  readonly file: string | null;
}

/** Wrangler's own DDL (wrangler-dist: initMigrationsTable), so wrangler finds what it would have made. */
export function createWranglerTableSql(name: string): string {
  return `CREATE TABLE IF NOT EXISTS ${name}(
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		name       TEXT UNIQUE,
		applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);`;
}

export class WranglerTable {
  private readonly quoted: string;
  private rows: readonly WranglerRow[] = [];
  private present = false;

  constructor(
    private readonly driver: Driver,
    readonly settings: WranglerTableSettings,
  ) {
    // Unquoted when it can be, as wrangler writes it: the stored CREATE TABLE then matches wrangler's own.
    this.quoted = /^[A-Za-z_][A-Za-z0-9_]*$/.test(settings.name) ? settings.name : driver.flavor.quoteIdentifier(settings.name);
  }

  /** Reads the table (once per session); creates it first when asked to and allowed to write. */
  async load(write: boolean): Promise<readonly WranglerRow[]> {
    this.present = await this.driver.tableExists(this.settings.name);
    if (!this.present && write && this.settings.create) {
      try {
        await this.driver.atomic([{ sql: createWranglerTableSql(this.quoted) }]);
      } catch (error) {
        // Wrangler (or another Cairn) may have made it a moment ago.
        if (!(await this.driver.tableExists(this.settings.name))) throw error;
      }
      this.present = true;
    }
    if (!this.present) return (this.rows = []);
    const rows = await this.driver.query<{ id: number | string; name: string; applied_at: string | Date }>({ sql: `SELECT id, name, applied_at FROM ${this.quoted} ORDER BY id` });
    this.rows = rows.map((row) => ({ id: Number(row.id), name: row.name, appliedAt: wranglerTime(row.applied_at) }));
    return this.rows;
  }

  /** True when steps must write wrangler's rows too. */
  get mirrored(): boolean {
    return this.present;
  }

  /**
   * The commands that go into a step's atomic unit: up inserts the file's row,
   * down deletes every row recorded for that version. Empty when the table is absent.
   */
  companions(step: StepIdentity, direction: Direction): SqlCommand[] {
    if (!this.present) return [];
    const p = (n: number) => this.driver.flavor.param(n);
    if (direction === 'up') {
      if (step.file === null) return [];
      return [{ sql: `INSERT INTO ${this.quoted} (name) VALUES (${p(1)})`, params: [basename(step.file)] }];
    }
    const names = new Set(this.rows.filter((row) => sameVersion(versionOfName(row.name), step.version)).map((row) => row.name));
    if (step.file !== null) names.add(basename(step.file));
    const list = [...names];
    if (list.length === 0) return [];
    return [{ sql: `DELETE FROM ${this.quoted} WHERE name IN (${list.map((_, i) => p(i + 1)).join(', ')})`, params: list }];
  }
}

export interface Adoption {
  /** One record per version wrangler applied and Cairn has not recorded: `adopted` (file present) or one that reconciles as missing. */
  readonly records: readonly AppliedRecord[];
  /** The adopted ones whose file exists: what the first write session copies into Cairn's history. */
  readonly importable: readonly AppliedRecord[];
}

/** Pure: wrangler's rows × Cairn's history × files → what counts as applied by wrangler. */
export function adoptWranglerRows(rows: readonly WranglerRow[], history: readonly AppliedRecord[], migrations: readonly Migration[]): Adoption {
  const recorded = new Set(history.map((r) => canonical(r.version)));
  const files = new Map(migrations.map((m) => [canonical(m.version), m]));
  const seen = new Set<string>();
  const records: AppliedRecord[] = [];
  const importable: AppliedRecord[] = [];
  for (const row of [...rows].sort((a, b) => a.id - b.id)) {
    const parsed = parseName(row.name);
    // Not a Cairn-readable name (wrangler takes any *.sql): nothing to reconcile it with.
    if (!parsed) continue;
    const key = canonical(parsed.version);
    // A version already recorded by Cairn, or a second row for one version (`0001_x.down.sql` run by wrangler as a migration).
    if (recorded.has(key) || seen.has(key)) continue;
    seen.add(key);
    const migration = files.get(key) ?? null;
    const record: AppliedRecord = {
      version: migration?.version ?? parsed.version,
      name: migration?.name ?? parsed.name,
      checksum: migration?.checksum ?? '',
      state: 'applied',
      appliedAt: row.appliedAt,
      durationMs: 0,
      appliedBy: 'wrangler',
      method: 'adopted',
      error: null,
      details: { wrangler: { id: row.id, name: row.name } },
    };
    records.push(record);
    if (migration) importable.push(record);
  }
  return { records, importable };
}

/**
 * Session setup: reads wrangler's table and, for a writer, copies what wrangler
 * applied into Cairn's history once, saying so. Returns the records to reconcile.
 */
export async function adoptFromWrangler(
  table: WranglerTable,
  context: { readonly driver: Driver; readonly tracking: TrackingTable; readonly write: boolean; readonly onEvent: (event: CairnEvent) => void },
  history: readonly AppliedRecord[],
  migrations: readonly Migration[],
): Promise<AppliedRecord[]> {
  const rows = await table.load(context.write);
  const adoption = adoptWranglerRows(rows, history, migrations);
  if (context.write && adoption.importable.length > 0) {
    await context.driver.atomic(adoption.importable.map((record) => context.tracking.insert(record)));
    const names = adoption.importable.map((r) => `${r.version}_${r.name}`);
    // `cairn status` lists them all (method adopted); the notice stays one readable line.
    const shown = names.length > 6 ? [...names.slice(0, 5), `… ${names.length - 5} more`] : names;
    context.onEvent({ type: 'notice', message: `adopted ${names.length} migration${names.length > 1 ? 's' : ''} applied by wrangler (${table.settings.name}): ${shown.join(', ')}` });
  }
  return [...history, ...adoption.records];
}

/** `0001_create_users.sql` → version `0001`, name `create_users`; the file-name grammar of source/files.ts. */
export function parseName(fileName: string): { version: string; name: string } | null {
  const match = /^(\d{8,}_\d+|\d+)_([A-Za-z0-9][A-Za-z0-9_.-]*?)(?:\.(up|down))?\.sql$/.exec(fileName);
  return match ? { version: match[1]!, name: match[2]! } : null;
}

function versionOfName(fileName: string): string | null {
  return parseName(fileName)?.version ?? null;
}

function sameVersion(a: string | null, b: string): boolean {
  return a !== null && canonical(a) === canonical(b);
}

/** `0001` and `1` are one version (as in the planner). */
function canonical(version: string): string {
  return version.split('_').map((part) => BigInt(part).toString()).join('_');
}

/** Wrangler writes SQLite's CURRENT_TIMESTAMP: `2024-01-01 12:00:00`, UTC without a zone. */
function wranglerTime(value: string | Date): Date {
  if (value instanceof Date) return value;
  const text = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$/.test(value) ? `${value.replace(' ', 'T')}Z` : value;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? new Date(0) : date;
}
