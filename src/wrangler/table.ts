import { basename, relative, resolve, sep } from 'node:path';
import type { Driver, SqlCommand } from '../drivers/types.js';
import { parseMigrationPath } from '../source/files.js';
import type { Migration } from '../source/migration.js';
import { canonicalVersion } from '../source/version.js';
import type { CairnEvent } from '../core/events.js';
import type { Direction } from '../core/failure.js';
import type { CompanionLoader } from '../core/session.js';
import { historyRecord, type AppliedRecord, type TrackingTable } from '../core/tracking.js';

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

/** Where the migration files are: wrangler names a migration by its path relative to the migrations directory. */
export interface WranglerLayout {
  readonly root: string;
  readonly migrationsDir: string;
}

export class WranglerTable {
  private readonly quoted: string;
  private rows: readonly WranglerRow[] = [];
  private present = false;

  constructor(
    private readonly driver: Driver,
    readonly settings: WranglerTableSettings,
    private readonly layout: WranglerLayout | null = null,
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

  /** Rows for files applied outside wrangler's knowledge, as wrangler would have written them. */
  record(fileNames: readonly string[]): SqlCommand[] {
    return fileNames.map((name) => ({ sql: `INSERT INTO ${this.quoted} (name) VALUES (${this.driver.flavor.param(1)})`, params: [name] }));
  }

  /**
   * The name wrangler records for a migration file (project-relative path): its path relative to the
   * migrations directory with `/` (`0001_init/migration.sql` in a `migrations_pattern` layout), which is
   * the file name in the flat layout.
   */
  nameOf(file: string): string {
    if (this.layout === null) return basename(file);
    const path = relative(this.layout.migrationsDir, resolve(this.layout.root, file));
    return path.startsWith('..') ? basename(file) : path.split(sep).join('/');
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
      return this.record([this.nameOf(step.file)]);
    }
    const names = new Set(this.rows.filter((row) => sameVersion(versionOfName(row.name), step.version)).map((row) => row.name));
    if (step.file !== null) names.add(this.nameOf(step.file));
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
  if (rows.length === 0) return { records: [], importable: [] }; // no wrangler table, or an empty one: the usual case
  const recorded = new Set(history.map((r) => canonicalVersion(r.version)));
  const files = new Map(migrations.map((m) => [canonicalVersion(m.version), m]));
  const seen = new Set<string>();
  const records: AppliedRecord[] = [];
  const importable: AppliedRecord[] = [];
  for (const row of [...rows].sort((a, b) => a.id - b.id)) {
    const parsed = parseMigrationPath(row.name);
    // Not a Cairn-readable name (wrangler takes any *.sql): nothing to reconcile it with.
    if (!parsed) continue;
    const key = canonicalVersion(parsed.version);
    // A version already recorded by Cairn, or a second row for one version (`0001_x.down.sql` run by wrangler as a migration).
    if (recorded.has(key) || seen.has(key)) continue;
    seen.add(key);
    const migration = files.get(key) ?? null;
    const record = historyRecord(migration ?? { ...parsed, checksum: '' }, 'wrangler', 'adopted', { appliedAt: row.appliedAt, details: { wrangler: { id: row.id, name: row.name } } });
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
  if (context.write && table.mirrored) {
    // Applied by Cairn while wrangler's table was not kept (a plain d1:// URL, or before it existed): without
    // their rows, `wrangler d1 migrations apply` would run them again.
    const missing = unmirrored(rows, history, migrations, (file) => table.nameOf(file));
    if (missing.length > 0) {
      await context.driver.atomic(table.record(missing));
      context.onEvent({ type: 'notice', message: `recorded ${missing.length} migration${missing.length > 1 ? 's' : ''} applied by Cairn in ${table.settings.name}, so wrangler will not run ${missing.length > 1 ? 'them' : 'it'} again` });
    }
  }
  return [...history, ...adoption.records];
}

/** Pure: file names of migrations Cairn applied that have no row in wrangler's table. */
export function unmirrored(rows: readonly WranglerRow[], history: readonly AppliedRecord[], migrations: readonly Migration[], nameOf: (file: string) => string = basename): string[] {
  const listed = new Set(rows.map((row) => versionOfName(row.name)).filter((v) => v !== null).map(canonicalVersion));
  const applied = new Set(history.filter((r) => r.state === 'applied').map((r) => canonicalVersion(r.version)));
  return migrations.filter((m) => applied.has(canonicalVersion(m.version)) && !listed.has(canonicalVersion(m.version))).map((m) => nameOf(m.file));
}

function versionOfName(fileName: string): string | null {
  return parseMigrationPath(fileName)?.version ?? null;
}

function sameVersion(a: string | null, b: string): boolean {
  return a !== null && canonicalVersion(a) === canonicalVersion(b);
}

/** Wrangler writes SQLite's CURRENT_TIMESTAMP: `2024-01-01 12:00:00`, UTC without a zone. */
function wranglerTime(value: string | Date): Date {
  if (value instanceof Date) return value;
  const text = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$/.test(value) ? `${value.replace(' ', 'T')}Z` : value;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? new Date(0) : date;
}

/** The session's companion for wrangler's table (core/session.ts): adopts what wrangler applied, then keeps the table in step. */
export const wranglerCompanion: CompanionLoader = async (context, history, migrations) => {
  const table = new WranglerTable(context.driver, context.config.wranglerTable, context.config);
  const records = await adoptFromWrangler(table, context, history, migrations);
  return { companion: { keptInStep: table.mirrored ? table.settings.name : null, steps: (step, direction) => table.companions(step, direction) }, records };
};
