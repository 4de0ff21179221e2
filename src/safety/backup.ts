import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { CairnError } from '../errors.js';
import type { BackupSupport, Driver, RestoreAction, RestoreCount, SavedTable, SqlCommand, TableShape } from '../drivers/types.js';
import type { FileLint } from '../lint/index.js';
import type { Migration } from '../source/migration.js';
import { compareVersions } from '../source/version.js';
import { quoteIfNeeded } from '../sql/quote.js';

/**
 * Backups before destructive migrations, engine-neutral: which tables, where
 * the files go, the manifest, the history record, and how a restore puts
 * each table back. Copying rows is the driver's (`Driver.backup`).
 *
 * Layout: `<root>/.cairn/backups/<version>_<name>-<UTC time>/manifest.json`
 * next to the driver's data files.
 */
export const BACKUPS_DIR = join('.cairn', 'backups');

/** What a backup needs from the run that asks for it (the runner's session satisfies it). */
export interface BackupContext {
  readonly config: { readonly root: string };
  readonly driver: Driver;
  readonly onEvent: (event: { readonly type: 'notice'; readonly message: string }) => void;
  /** The command that merges `details` into the history row of `version` (the row counts after the step). */
  readonly tracking: { updateDetails(version: string, details: Record<string, unknown>): SqlCommand };
}

export interface BackedUpTable extends SavedTable {
  /** Rows after the migration ran; null when the table no longer exists; absent when it did not complete. */
  readonly after?: number | null;
}

export interface BackupManifest {
  readonly cairn: 1;
  /** The driver's data format, e.g. sqlite-database or postgres-copy-text. */
  readonly format: string;
  readonly version: string;
  readonly name: string;
  /** The migration file, relative to the project root. */
  readonly migration: string;
  readonly createdAt: string;
  /** The database it was taken from (no password). */
  readonly database: string;
  /** Size of the data files. */
  readonly bytes: number;
  readonly tables: readonly BackedUpTable[];
}

export interface BackupInfo extends BackupManifest {
  /** The backup's directory, relative to the project root. */
  readonly path: string;
}

/** What `cairn up` records in the history row's details. */
export interface BackupRecord {
  readonly path: string;
  readonly bytes: number;
  readonly tables: Readonly<Record<string, { readonly before: number; readonly after: number | null }>>;
}

/** Decides, right before each step, whether to back up first. */
export interface StepGuard {
  /** True for a step that may need a backup first: it must run on its own, not in a batch with others. */
  covers(migration: Migration): boolean;
  before(migration: Migration): Promise<GuardedStep | null>;
  /** What goes into every step's history row whether it runs alone or in a batch (the bookmark that backs it up). */
  recorded?(migration: Migration): Record<string, unknown>;
}

export interface GuardedStep {
  /** Goes into the history row. */
  readonly details: Record<string, unknown>;
  /** After the step committed: records the row counts after it (with the step's full `details`). */
  after(details: Record<string, unknown>): Promise<void>;
}

export interface BackupGuardOptions {
  readonly noBackup: boolean;
  /**
   * The engine's own point-in-time history taken before this run (remote D1's Time Travel bookmark), when it
   * stands in for copies of the rows (config `backup: 'auto'`); null or absent: copy the rows.
   */
  readonly bookmark?: string | null | undefined;
}

/**
 * The guard `up` calls before each step; undefined when nothing pending is at risk. Refuses up front, before anything
 * runs, when a pending migration puts rows at risk and the driver cannot back
 * up (unless --no-backup). With a bookmark, no rows are copied: the bookmark is
 * recorded as the backup of each migration at risk, which then batches like any other.
 */
export function backupGuard(session: BackupContext, lint: readonly FileLint[], options: BackupGuardOptions): StepGuard | undefined {
  const atRisk = new Map(lint.filter((file) => file.tablesAtRisk.length > 0).map((file) => [file.version, file.tablesAtRisk]));
  if (atRisk.size === 0) return undefined;
  const bookmark = options.bookmark;
  if (bookmark && !options.noBackup) {
    const files = lint.filter((file) => atRisk.has(file.version));
    const named = files.map((file) => `${file.version}_${file.name} (${file.tablesAtRisk.join(', ')})`).join(', ');
    session.onEvent({ type: 'notice', message: `rows at risk in ${named} are not copied: the D1 Time Travel bookmark taken before this run is their backup (\`cairn restore <version> --bookmark\`); \`backup: 'rows'\` in cairn.config or --backup-rows copies them too` });
    return {
      covers: () => false,
      before: async () => null,
      recorded: (migration) => {
        const tables = atRisk.get(migration.version);
        return tables ? { backup: { bookmark, tables } } : {};
      },
    };
  }
  const support = session.driver.backup;
  if (!options.noBackup && !support) {
    const files = lint.filter((file) => atRisk.has(file.version)).map((file) => `${file.version}_${file.name}`);
    throw new CairnError('BACKUP', `${files.join(', ')} can destroy rows (${[...new Set([...atRisk.values()].flat())].join(', ')}), and ${session.driver.target} cannot be backed up by Cairn; nothing was applied`, {
      hint: 'back the data up yourself, then run `cairn up --no-backup`',
      details: { migrations: files },
    });
  }
  return {
    covers: (migration) => atRisk.has(migration.version),
    before: (migration) => guardStep(migration),
  };

  async function guardStep(migration: Migration): Promise<GuardedStep | null> {
    const tables = atRisk.get(migration.version);
    if (!tables) return null;
    if (options.noBackup || !support) {
      session.onEvent({ type: 'notice', message: `--no-backup: ${migration.version}_${migration.name} changes or removes rows of ${tables.join(', ')}; no backup is made` });
      return { details: { backup: 'skipped (--no-backup)' }, after: async () => undefined };
    }
    return backUp(session, support, migration, tables);
  }
}

async function backUp(session: BackupContext, support: BackupSupport, migration: Migration, candidates: readonly string[]): Promise<GuardedStep | null> {
  const label = `${migration.version}_${migration.name}`;
  const { root } = session.config;
  let dir: string | undefined;
  try {
    const tables: string[] = [];
    // Only what exists right now holds rows (a table dropped "IF EXISTS" may be long gone).
    for (const table of candidates) if (await support.describe(table)) tables.push(table);
    if (tables.length === 0) {
      session.onEvent({ type: 'notice', message: `${label} changes or removes rows of ${candidates.join(', ')}, which ${candidates.length > 1 ? 'do' : 'does'} not exist in the database: nothing to back up` });
      return null;
    }
    dir = freshDirectory(join(root, BACKUPS_DIR), `${label}-${stamp(new Date())}`);
    const saved = await support.save(tables, dir);
    const bytes = sizeOf(dir);
    const manifest: BackupManifest = { cairn: 1, format: support.format, version: migration.version, name: migration.name, migration: migration.file, createdAt: new Date().toISOString(), database: session.driver.target, bytes, tables: saved };
    writeManifest(dir, manifest);
    const path = portable(relative(root, dir));
    const record: BackupRecord = { path, bytes, tables: Object.fromEntries(saved.map((t) => [t.table, { before: t.rows, after: null }])) };
    session.onEvent({ type: 'notice', message: `backed up ${saved.map((t) => `${t.table} (${t.rows} row${t.rows === 1 ? '' : 's'})`).join(', ')} to ${path} (${formatBytes(bytes)}) before ${label}` });
    const where = dir;
    return {
      details: { backup: record },
      after: async (details) => {
        try {
          const after = await Promise.all(saved.map(async (t) => [t.table, await support.count(t.table)] as const));
          const counts = new Map(after);
          const final: BackupRecord = { ...record, tables: Object.fromEntries(saved.map((t) => [t.table, { before: t.rows, after: counts.get(t.table) ?? null }])) };
          writeManifest(where, { ...manifest, tables: saved.map((t) => ({ ...t, after: counts.get(t.table) ?? null })) });
          await session.driver.atomic([session.tracking.updateDetails(migration.version, { ...details, backup: final })]);
        } catch (error) {
          // The step has committed; failing now would misreport it. Say what is missing instead.
          session.onEvent({ type: 'notice', message: `${label} is applied, but its row counts after the step were not recorded: ${(error as Error).message}` });
        }
      },
    };
  } catch (error) {
    if (dir) rmSync(dir, { recursive: true, force: true });
    const reason = error instanceof Error ? error.message : String(error);
    throw new CairnError('BACKUP', `could not back up ${candidates.join(', ')} before ${label}: ${reason}; nothing of ${label} was applied`, {
      hint: `make ${portable(BACKUPS_DIR)} (under ${root}) a writable directory with room for the data, or run \`cairn up --no-backup\` to apply without a backup`,
      details: { version: migration.version, tables: candidates },
      cause: error,
    });
  }
}

/** Every backup under the project, oldest first. A directory without a readable manifest is not a backup. */
export function listBackups(root: string): BackupInfo[] {
  const base = join(root, BACKUPS_DIR);
  if (!existsSync(base) || !statSync(base).isDirectory()) return [];
  const found: BackupInfo[] = [];
  for (const entry of readdirSync(base, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    try {
      const manifest = JSON.parse(readFileSync(join(base, entry.name, 'manifest.json'), 'utf8')) as BackupManifest;
      if (manifest.cairn === 1) found.push({ ...manifest, path: portable(join(BACKUPS_DIR, entry.name)) });
    } catch {
      // Not ours, or half-written by a run that was killed: leave it alone.
    }
  }
  return found.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || compareVersions(a.version, b.version));
}

export interface RestoreOptions {
  /** Put every table's rows into a side table, never into the table itself. */
  readonly intoSideTable?: boolean | undefined;
  /** In rows that are there, replace values that differ from the saved ones too, not only NULLs. */
  readonly overwrite?: boolean | undefined;
}

export interface RestoredTable {
  readonly table: string;
  /** recreated: the table was gone; missing-rows: saved rows not there were inserted; side-table: all saved rows went into `into`. */
  readonly action: 'recreated' | 'missing-rows' | 'side-table';
  readonly into: string;
  /** Rows in the backup. */
  readonly saved: number;
  readonly inserted: number;
  /** missing-rows: rows whose column was set from the backup, by column (NULL now, or with --overwrite any other value). */
  readonly filled: Readonly<Record<string, number>>;
  /** What happened and, for a side table, why and how to copy columns back. */
  readonly message: string;
}

export interface RestoreResult {
  readonly version: string;
  readonly name: string;
  readonly path: string;
  readonly createdAt: string;
  readonly tables: readonly RestoredTable[];
}

/**
 * Puts a backup's rows back: a table that is gone is recreated and filled; a
 * table with the same columns and a key gets the saved rows it is missing;
 * otherwise the rows go to `<table>_restored_<version>`. All tables in one
 * transaction, under the migration lock (the session's).
 */
export async function restoreBackup(session: BackupContext, version: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const backups = listBackups(session.config.root);
  const ofVersion = backups.filter((b) => compareVersions(b.version, version) === 0);
  // Backups of many databases sit side by side (`cairn fleet`, several --url): this database's own come first.
  const backup = ofVersion.filter((b) => b.database === session.driver.target).at(-1) ?? ofVersion.at(-1);
  if (backup && backup.database !== session.driver.target) session.onEvent({ type: 'notice', message: `no backup of ${version} was taken from ${session.driver.target}; restoring ${backup.path}, taken from ${backup.database}` });
  if (!backup) {
    throw new CairnError('TARGET', `no backup of migration ${version} in ${portable(BACKUPS_DIR)}`, {
      hint: session.driver.timeTravel
        ? `on remote D1 \`cairn up\` copies no rows unless asked (\`backup: 'rows'\`, --backup-rows): the Time Travel bookmark is the backup, \`cairn restore ${version} --bookmark\` returns the database to it`
        : backups.length > 0
          ? `backups exist for ${[...new Set(backups.map((b) => b.version))].join(', ')}; \`cairn backups\` lists them`
          : '`cairn up` makes one before each migration that can destroy rows',
    });
  }
  const support = session.driver.backup;
  if (!support) throw new CairnError('BACKUP', `${session.driver.target} cannot restore Cairn backups`, { hint: `load the files in ${backup.path} by hand (docs/backups.md)` });
  if (support.format !== backup.format) {
    throw new CairnError('BACKUP', `${backup.path} holds ${backup.format} data, which ${session.driver.target} cannot load`, { hint: 'restore it into the kind of database it was taken from (--url)' });
  }
  const plans: { saved: SavedTable; action: RestoreAction; message: (count: RestoreCount) => string }[] = [];
  for (const saved of backup.tables) {
    const plan = planTable(saved, await support.describe(saved.table), backup.version, options);
    if (plan.action.kind === 'side-table' && (await support.describe(plan.action.into))) {
      throw new CairnError('BACKUP', `cannot restore ${saved.table} into ${plan.action.into}: that table exists already (from an earlier restore?); nothing was restored`, {
        hint: `drop or rename ${plan.action.into} once you have what you need from it, then restore again`,
      });
    }
    plans.push({ saved, ...plan });
  }
  let counts: RestoreCount[];
  try {
    counts = await support.restore(join(session.config.root, backup.path), plans);
  } catch (error) {
    throw new CairnError('BACKUP', `restoring ${backup.path} failed, nothing was restored: ${error instanceof Error ? error.message : String(error)}`, {
      hint: 'the database rejected the saved rows or definition (a foreign key to a table that is gone, a type that was dropped, …); fix that, or restore --into-side-table',
      cause: error,
    });
  }
  const tables = plans.map((plan, i): RestoredTable => {
    const kind = plan.action.kind === 'recreate' ? 'recreated' : plan.action.kind;
    const into = plan.action.kind === 'side-table' ? plan.action.into : plan.saved.table;
    const count = counts[i] ?? { inserted: 0, filled: {} };
    return { table: plan.saved.table, action: kind, into, saved: plan.saved.rows, inserted: count.inserted, filled: count.filled, message: plan.message(count) };
  });
  return { version: backup.version, name: backup.name, path: backup.path, createdAt: backup.createdAt, tables };
}

/** The restore decision for one table, from its saved shape and its shape now (null: it is gone). Pure. */
export function planTable(saved: SavedTable, now: TableShape | null, version: string, options: RestoreOptions = {}): { action: RestoreAction; message: (count: RestoreCount) => string } {
  const rows = (n: number) => `${n} row${n === 1 ? '' : 's'}`;
  const into = `${saved.table}_restored_${version}`;
  const side = (why: string, howBack: string): { action: RestoreAction; message: (count: RestoreCount) => string } => ({
    action: { kind: 'side-table', into },
    message: ({ inserted: n }) => `${saved.table}: ${why}; ${rows(n)} restored into side table ${into}. ${howBack}`,
  });
  if (options.intoSideTable) return side('as asked (--into-side-table)', `Compare with ${saved.table} and copy what you need.`);
  if (!now) return { action: { kind: 'recreate' }, message: ({ inserted: n }) => `${saved.table}: was gone; recreated from the saved definition with ${rows(n)}.` };
  const columns = (shape: TableShape) => shape.columns.map((c) => `${c.name} ${c.type.toLowerCase()}`).sort().join(', ');
  if (columns(saved) !== columns(now)) {
    const missing = saved.columns.filter((c) => !now.columns.some((n) => n.name === c.name));
    const key = saved.key.length > 0 && saved.key.every((k) => now.columns.some((n) => n.name === k)) ? saved.key : null;
    const howBack =
      missing.length > 0 && key
        ? `To copy the dropped column${missing.length > 1 ? 's' : ''} back:\n${missing.map((c) => `  ALTER TABLE ${ident(saved.table)} ADD COLUMN ${ident(c.name)} ${c.type || ''};`.replace(' ;', ';')).join('\n')}\n  UPDATE ${ident(saved.table)} SET ${missing.map((c) => `${ident(c.name)} = (SELECT r.${ident(c.name)} FROM ${ident(into)} r WHERE ${key.map((k) => `r.${ident(k)} = ${ident(saved.table)}.${ident(k)}`).join(' AND ')})`).join(', ')};`
        : `Copy what you need from ${into} into ${saved.table} by hand.`;
    return side(`its columns changed since the backup (saved: ${columns(saved)}; now: ${columns(now)})`, howBack);
  }
  if (now.key.length === 0) {
    const list = saved.columns.map((c) => ident(c.name)).join(', ');
    return side('it has no primary or unique key, so rows still there cannot be told from missing ones', `To add the rows that are not there:\n  INSERT INTO ${ident(saved.table)} (${list}) SELECT ${list} FROM ${ident(into)} EXCEPT SELECT ${list} FROM ${ident(saved.table)};`);
  }
  const overwrite = options.overwrite === true;
  const fill = saved.columns.map((c) => c.name).filter((name) => !now.key.includes(name));
  return {
    action: { kind: 'missing-rows', key: now.key, fill, overwrite },
    message: ({ inserted: n, filled }) => {
      const columns = Object.entries(filled).filter(([, count]) => count > 0);
      const how = overwrite ? 'set from the backup where they differed' : 'filled from the backup where they were NULL';
      const fills = columns.length > 0 ? `; ${how}: ${columns.map(([column, count]) => `${column} in ${rows(count)}`).join(', ')}` : '';
      const kept = saved.rows - n;
      let rest = '.';
      if (kept > 0 && overwrite) rest = `; ${rows(kept)} already there now hold the saved values.`;
      else if (kept > 0 && columns.length > 0) rest = `; other values of the ${rows(kept)} already there kept as they are now (\`--overwrite\` replaces them with the saved ones).`;
      else if (kept > 0) rest = `; ${rows(kept)} already there kept as they are now (\`--into-side-table\` shows their saved values).`;
      return `${saved.table}: ${rows(n)} that were missing inserted${fills}${rest}`;
    },
  };
}

function ident(name: string): string {
  return quoteIfNeeded(name);
}

function writeManifest(dir: string, manifest: BackupManifest): void {
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** A new directory under `base`; a second backup of the same migration in the same second gets a suffix. */
function freshDirectory(base: string, name: string): string {
  mkdirSync(base, { recursive: true });
  for (let n = 1; ; n++) {
    const dir = join(base, n === 1 ? name : `${name}-${n}`);
    try {
      mkdirSync(dir);
      return dir;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** 2026-01-31T12:00:05.123Z → 20260131T120005Z: sortable, and safe in a file name everywhere. */
function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

function sizeOf(dir: string): number {
  return readdirSync(dir).reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);
}

function portable(path: string): string {
  return path.split(sep).join('/');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
