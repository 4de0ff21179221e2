import type { Migration, Section } from '../source/migration.js';
import { hasBatches } from '../source/batch.js';
import { canonicalVersion, compareVersions } from '../source/version.js';
import { CairnError } from '../errors.js';
import type { AppliedRecord } from './tracking.js';

/**
 * Pure functions of (files on disk × rows in the history table × target).
 * No database, no I/O: everything here is tested with plain data.
 */
/** `running`: a batched migration (`-- cairn:batch`) that started and has not finished; the next `up` resumes it from its checkpoint. */
export type MigrationState = 'applied' | 'pending' | 'changed' | 'missing' | 'failed' | 'running';

export interface MigrationStatus {
  readonly version: string;
  readonly name: string;
  readonly state: MigrationState;
  /** Null for `missing`: the file is gone. */
  readonly migration: Migration | null;
  /** Null for `pending`: it never ran. */
  readonly record: AppliedRecord | null;
  /** Pending, but numbered below the newest applied migration. */
  readonly outOfOrder: boolean;
}

export function reconcile(available: readonly Migration[], applied: readonly AppliedRecord[]): MigrationStatus[] {
  const byVersion = new Map(available.map((m) => [canonicalVersion(m.version), m]));
  const records = new Map(applied.map((r) => [canonicalVersion(r.version), r]));
  const newestApplied = applied.filter((r) => r.state === 'applied').map((r) => r.version).sort(compareVersions).at(-1);
  const versions = [...new Set([...byVersion.keys(), ...records.keys()])];
  return versions
    .map((key): MigrationStatus => {
      const migration = byVersion.get(key) ?? null;
      const record = records.get(key) ?? null;
      const version = migration?.version ?? record!.version;
      const name = migration?.name ?? record!.name;
      const state: MigrationState = !record
        ? 'pending'
        : record.state === 'running' && migration && hasBatches(migration) && migration.checksum === record.checksum
          ? 'running'
          : record.state !== 'applied'
          ? 'failed'
          : !migration
            ? 'missing'
            : migration.checksum !== record.checksum
              ? 'changed'
              : 'applied';
      const outOfOrder = state === 'pending' && newestApplied !== undefined && compareVersions(version, newestApplied) < 0;
      return { version, name, state, migration, record, outOfOrder };
    })
    .sort((a, b) => compareVersions(a.version, b.version));
}

/** History problems stop every command that would change the database. */
export function assertHistoryIntact(statuses: readonly MigrationStatus[]): void {
  const failed = statuses.filter((s) => s.state === 'failed');
  if (failed.length > 0) {
    const lines = failed.map((s) => {
      const where = s.record?.details.file ? ` at ${String(s.record.details.file)}:${String(s.record.details.line)}` : '';
      const what = s.record?.state === 'running' ? 'started and never finished (its process died, or it is still running)' : `failed${where}: ${s.record?.error ?? 'unknown error'}`;
      return `  ${s.version}_${s.name} ${what}`;
    });
    throw new CairnError('FAILED_MIGRATION', `a migration that runs outside a transaction did not complete, so the database may hold part of it:\n${lines.join('\n')}`, {
      hint: 'inspect the database and undo (or finish) what the migration did by hand, then run `cairn repair` to clear the failed record, and `cairn up` to run it again',
      details: { versions: failed.map((s) => s.version) },
    });
  }
  const changed = statuses.filter((s) => s.state === 'changed');
  if (changed.length > 0) {
    const lines = changed.map((s) => `  ${s.migration!.file}: applied with checksum ${s.record!.checksum.slice(0, 12)}…, file now has ${s.migration!.checksum.slice(0, 12)}… (applied ${s.record!.appliedAt.toISOString()})`);
    throw new CairnError('CHECKSUM_MISMATCH', `applied migration${changed.length > 1 ? 's were' : ' was'} edited after it ran:\n${lines.join('\n')}`, {
      hint: 'applied migrations are append-only: restore the file (git checkout/diff it) and put the change in a new migration; if the edit is harmless (a comment, formatting), review it and run `cairn repair` to accept it',
      details: { versions: changed.map((s) => s.version) },
    });
  }
  const missing = statuses.filter((s) => s.state === 'missing');
  if (missing.length > 0) {
    const lines = missing.map((s) => `  ${s.version}_${s.name} (applied ${s.record!.appliedAt.toISOString()} by ${s.record!.appliedBy})`);
    throw new CairnError('MISSING_MIGRATION', `applied migration${missing.length > 1 ? 's have' : ' has'} no file any more:\n${lines.join('\n')}`, {
      hint: 'restore the file from version control; if it was removed on purpose, run `cairn repair` to forget its record',
      details: { versions: missing.map((s) => s.version) },
    });
  }
}

export interface UpPlanOptions {
  readonly to?: string | undefined;
  readonly allowOutOfOrder?: boolean | undefined;
}

/** The pending migrations to apply, oldest first. Throws on a damaged history or a bad target. */
export function planUp(statuses: readonly MigrationStatus[], options: UpPlanOptions = {}): Migration[] {
  assertHistoryIntact(statuses);
  if (options.to !== undefined) assertKnownVersion(statuses, options.to);
  // An interrupted batched migration goes on where it stopped, in its place in the order.
  const pending = statuses.filter((s) => (s.state === 'pending' || s.state === 'running') && (options.to === undefined || compareVersions(s.version, options.to) <= 0));
  const early = pending.filter((s) => s.outOfOrder);
  if (early.length > 0 && !options.allowOutOfOrder) {
    const newest = statuses.filter((s) => s.state === 'applied').at(-1)!;
    throw new CairnError('OUT_OF_ORDER', `pending migration${early.length > 1 ? 's are' : ' is'} numbered below the newest applied one (${newest.version}_${newest.name}):\n${early.map((s) => `  ${s.migration!.file}`).join('\n')}`, {
      hint: 'renumber the file above the newest applied migration (usual after a merge), or apply it anyway with --allow-out-of-order',
      details: { versions: early.map((s) => s.version), newestApplied: newest.version },
    });
  }
  return pending.map((s) => s.migration!);
}

export interface DownPlanOptions {
  /** Roll back this many applied migrations (default 1). */
  readonly steps?: number | undefined;
  /** Roll back every applied migration newer than this version; `0` means all. */
  readonly to?: string | undefined;
  /**
   * Downs generated for migrations that have none (`down --generated`), by
   * version: the section to run instead, or why none could be generated.
   */
  readonly generatedDowns?: ReadonlyMap<string, Section | string> | undefined;
  /** Return the migrations without a down too (their `down` stays null) instead of refusing: what a dry run shows. */
  readonly allowMissingDown?: boolean | undefined;
}

/**
 * The applied migrations to roll back, newest first. Refuses before anything
 * runs if one has no down, unless `generatedDowns` gives it one (that migration
 * comes back with the generated section as its down).
 */
export function planDown(statuses: readonly MigrationStatus[], options: DownPlanOptions = {}): Migration[] {
  const chosen = chooseRollback(statuses, options);
  const generated = (s: MigrationStatus) => options.generatedDowns?.get(s.version);
  const withoutDown = chosen.filter((s) => !s.migration!.down && typeof generated(s) !== 'object');
  if (withoutDown.length > 0 && !options.allowMissingDown) {
    const why = (s: MigrationStatus) => (typeof generated(s) === 'string' ? ` (no generated down either: ${generated(s)})` : '');
    throw new CairnError('NO_DOWN', `cannot roll back: ${withoutDown.length > 1 ? 'these migrations have' : 'this migration has'} no down section:\n${withoutDown.map((s) => `  ${s.migration!.file}${why(s)}`).join('\n')}`, {
      hint: options.generatedDowns
        ? 'write a "-- migrate:down" section with the SQL that undoes the up (or a sibling NNNN_name.down.sql); nothing was rolled back'
        : 'add a "-- migrate:down" section with the SQL that undoes the up (or a sibling NNNN_name.down.sql), or, where the up is made only of reversible statements (CREATE TABLE/INDEX/VIEW/TRIGGER, ADD COLUMN, RENAME), roll back with a generated inverse: `cairn down --generated` (--dry-run shows it); nothing was rolled back',
      details: { versions: withoutDown.map((s) => s.version), ...(options.generatedDowns ? { reasons: Object.fromEntries(withoutDown.map((s) => [s.version, generated(s) ?? null])) } : {}) },
    });
  }
  return chosen.map((s) => {
    const down = generated(s);
    return s.migration!.down || typeof down !== 'object' ? s.migration! : { ...s.migration!, down };
  });
}

/** The applied migrations `steps` or `to` choose to roll back, newest first, whether or not they have a down. */
export function chooseRollback(statuses: readonly MigrationStatus[], options: DownPlanOptions = {}): MigrationStatus[] {
  assertHistoryIntact(statuses);
  if (options.steps !== undefined && options.to !== undefined) throw new CairnError('USAGE', 'use either --steps or --to, not both');
  if (options.steps !== undefined && (!Number.isInteger(options.steps) || options.steps < 1)) {
    throw new CairnError('USAGE', `--steps must be a positive whole number, got ${options.steps}`);
  }
  if (options.to !== undefined && !/^0+$/.test(options.to)) assertKnownVersion(statuses, options.to);
  const applied = statuses.filter((s) => s.state === 'applied').reverse();
  return options.to !== undefined ? applied.filter((s) => compareVersions(s.version, options.to!) > 0) : applied.slice(0, options.steps ?? 1);
}

/** Throws unless `version` is well-formed and one of `known` (statuses, or migration files). */
export function assertKnownVersion(known: readonly { readonly version: string }[], version: string): void {
  if (!/^\d+(_\d+)?$/.test(version)) throw new CairnError('USAGE', `"${version}" is not a version`, { hint: 'versions are the leading number of a file name, e.g. --to 0003' });
  if (!known.some((s) => compareVersions(s.version, version) === 0)) {
    throw new CairnError('TARGET', `there is no migration with version ${version}`, {
      hint: `known versions: ${known.map((s) => s.version).join(', ') || 'none'}`,
    });
  }
}
