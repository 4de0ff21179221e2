import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type { DatabaseUrl } from '../config/url.js';
import type { Driver } from '../drivers/types.js';
import { diffSnapshots, type Snapshot, type SnapshotDifference } from '../drivers/snapshot.js';
import type { Migration } from '../source/migration.js';
import { splitStatements } from '../source/split.js';
import { compareVersions } from '../source/version.js';
import { CairnError } from '../errors.js';
import type { StepContext } from '../core/migrator.js';
import { replayUp, withScratch } from './scratch.js';
import type { Session } from '../core/session.js';
import { bookkeepingTables, historyRecord } from '../core/tracking.js';

/**
 * schema.sql: the driver's dump of the schema under a one-line header naming
 * the newest applied migration, `-- cairn: schema as of 0008_add_orders`.
 * The header is what `verify --from V --baseline schema.sql` starts from, and
 * the only line that changes when nothing but the history moves.
 */
export interface DumpResult {
  /** The whole file: header, then the schema. */
  readonly sql: string;
  /** The newest applied migration, `0008_add_orders`; null when none is applied. */
  readonly asOf: string | null;
}

const HEADER = /^-- cairn: schema as of (\S+)/m;

export async function dumpSchema(session: Session): Promise<DumpResult> {
  const applied = session.statuses.filter((s) => s.state === 'applied').sort((a, b) => compareVersions(a.version, b.version));
  const newest = applied.at(-1);
  const asOf = newest ? `${newest.version}_${newest.name}` : null;
  const body = await session.driver.dump({ exclude: bookkeepingTables(session.config) });
  const header = [
    `-- cairn: schema as of ${asOf ?? 'none (no migration applied)'}`,
    '-- Written by `cairn dump`: the schema, no data. Do not edit by hand: run `cairn dump` again.',
  ].join('\n');
  return { sql: `${header}\n\n${body}`, asOf };
}

/** Writes `sql` to `path` (directories created); returns the path relative to `root` for messages. */
export function writeDump(path: string, sql: string, root: string): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, sql);
  return relative(root, path) || path;
}

/**
 * The migration a dump's header names, matched against the files (a name may
 * itself start with digits, so the files decide where the version ends).
 * Null when the header says no migration was applied. Throws USAGE when there
 * is no header or it names no migration in the project.
 */
export function dumpVersion(sql: string, file: string, migrations: readonly Migration[]): Migration | null {
  const named = HEADER.exec(sql)?.[1];
  if (named === undefined) {
    throw new CairnError('USAGE', `${file} has no "-- cairn: schema as of <version>" header`, {
      hint: 'write it with `cairn dump` against a database migrated to the version it should reflect',
    });
  }
  if (named === 'none') return null;
  const found = migrations.find((m) => `${m.version}_${m.name}` === named) ?? migrations.find((m) => compareVersions(m.version, /^\d+(_\d+)?/.exec(named)?.[0] ?? '-1') === 0);
  if (!found) {
    throw new CairnError('USAGE', `${file} reflects ${named}, which is not a migration in this project`, {
      hint: 'dump again from a database migrated with these files (`cairn dump`)',
    });
  }
  return found;
}

/**
 * Runs a dump's statements on `driver`, all in one transaction. A statement
 * the database rejects is reported with the dump's file and line.
 */
export async function loadDump(driver: Driver, sql: string, file: string): Promise<void> {
  const statements = splitStatements(sql);
  try {
    await driver.atomic(statements.map((statement) => ({ sql: statement.sql })));
  } catch (error) {
    const index = (error as { index?: number }).index;
    const statement = index === undefined ? undefined : statements[index];
    throw new CairnError('MIGRATION_FAILED', `${file}${statement ? `:${statement.line}` : ''} does not load: ${(error as Error).message}`, {
      hint: 'write it again with `cairn dump` against a database migrated to the newest version',
      details: { file, ...(statement ? { line: statement.line } : {}) },
    });
  }
}

export interface WrittenDump extends DumpResult {
  /** Where it was written, relative to the project root; null when only returned. */
  readonly file: string | null;
}

/** Dumps the session's database and writes it to `path` (absolute), unless null. */
export async function dumpToFile(session: Session, path: string | null): Promise<WrittenDump> {
  const dumped = await dumpSchema(session);
  return { ...dumped, file: path === null ? null : writeDump(path, dumped.sql, session.config.root) };
}

// --- verify: the final schema against schema.sql, and --from with a baseline dump ---

/** How the replay's final schema compares with the committed schema dump. */
export interface SchemaCheck {
  /** The dump file, relative to the project root. */
  readonly file: string;
  readonly ok: boolean;
  /** The migration its header names (`0008_add_orders`); null when it names none. */
  readonly asOf: string | null;
  /** What is wrong, when something is. */
  readonly message: string | null;
  /** `before` is the schema the migrations produce, `after` what the file has. */
  readonly differences: readonly SnapshotDifference[];
}

/** The replay's final schema: its dump (compared first) and a way to snapshot it. */
export interface FinalSchema {
  readonly dump: string;
  snapshot(): Promise<Snapshot>;
}

/**
 * Loads the schema dump at `path` into a scratch database of the kind `like`
 * and compares it with the replay's final schema. Equal dumps settle it at
 * once; otherwise snapshots decide (SQLite keeps table text verbatim, so two
 * equal schemas can print differently).
 */
export async function checkSchemaFile(path: string, root: string, like: DatabaseUrl, table: string, exclude: readonly string[], migrations: readonly Migration[], final: FinalSchema): Promise<SchemaCheck> {
  const file = relative(root, path) || path;
  const text = readFileSync(path, 'utf8');
  const newest = migrations.at(-1);
  const header = HEADER.exec(text)?.[1] ?? null;
  const asOf = header === null || header === 'none' ? null : header;
  const loaded = await withScratch(like, table, async (context) => {
    await loadDump(context.driver, text, file);
    const dump = await context.driver.dump({ exclude });
    return { dump, snapshot: dump === final.dump ? null : await context.driver.snapshot({ exclude }) };
  });
  const differences = loaded.snapshot === null ? [] : diffSnapshots(await final.snapshot(), loaded.snapshot);
  if (differences.length === 0) return { file, ok: true, asOf, message: null, differences };
  const stale = newest && asOf !== `${newest.version}_${newest.name}` ? ` (it is as of ${asOf ?? 'no migration'}; the newest migration is ${newest.version}_${newest.name})` : '';
  return { file, ok: false, asOf, message: `${file} does not match the schema the migrations produce${stale}`, differences };
}

/** With `verify --from V`: how the migrations before V were brought in, unverified. */
export interface VerifyStart {
  readonly version: string;
  /** The dump loaded first (relative path), or null when every earlier migration was applied. */
  readonly baseline: string | null;
  /** Migrations recorded as applied because the baseline dump already reflects them. */
  readonly baselined: number;
  /** Migrations applied up only (no down check) between the baseline and V. */
  readonly applied: number;
}

/** The index of `version` in `migrations`, or a USAGE error naming the range there is. */
export function startIndex(migrations: readonly Migration[], version: string): number {
  const index = migrations.findIndex((m) => /^\d+(_\d+)?$/.test(version) && compareVersions(m.version, version) === 0);
  if (index < 0) {
    const range = migrations.length === 0 ? 'there are none' : `known versions: ${migrations[0]!.version} … ${migrations.at(-1)!.version}`;
    throw new CairnError('USAGE', `--from ${version}: there is no migration with that version`, { hint: `${range}; e.g. --from ${migrations.at(-1)?.version ?? '0001'}` });
  }
  return index;
}

/**
 * Brings an empty scratch database to just before `migrations[start]`: loads
 * `baselinePath` (a dump whose header names the version it reflects) and
 * records the migrations up to that version as baselined, then applies the
 * rest up only. Without a baseline, applies every earlier migration up only.
 */
export async function prepareStart(context: StepContext, migrations: readonly Migration[], start: number, baselinePath: string | null, root: string): Promise<VerifyStart> {
  const from = migrations[start]!;
  let baselined = 0;
  let baselineFile: string | null = null;
  if (baselinePath !== null) {
    baselineFile = relative(root, baselinePath) || baselinePath;
    if (!existsSync(baselinePath)) throw new CairnError('USAGE', `--baseline ${baselineFile} does not exist`, { hint: 'write one with `cairn dump --output <file>`' });
    const text = readFileSync(baselinePath, 'utf8');
    const asOf = dumpVersion(text, baselineFile, migrations);
    if (asOf && compareVersions(asOf.version, from.version) >= 0) {
      throw new CairnError('USAGE', `--baseline ${baselineFile} is as of ${asOf.version}_${asOf.name}, not older than --from ${from.version}`, {
        hint: `the baseline must reflect a version before the first one to verify: use --from ${migrations[migrations.indexOf(asOf) + 1]?.version ?? asOf.version}, or an older dump`,
      });
    }
    await loadDump(context.driver, text, baselineFile);
    const reflected = asOf ? migrations.slice(0, migrations.indexOf(asOf) + 1) : [];
    if (reflected.length > 0) await context.driver.atomic(reflected.map((m) => context.tracking.insert(historyRecord(m, context.appliedBy, 'baseline'))));
    baselined = reflected.length;
  }
  const rest = migrations.slice(baselined, start);
  await replayUp(context, rest, ({ file, line, message }) => ({
    message: `bringing the scratch database to ${from.version} failed at ${file}:${line}: ${message}`,
    hint: `migrations before --from are applied up only, unverified; verify from an earlier version to see why${baselineFile ? `, or check that ${baselineFile} is the schema it claims` : ''}`,
  }));
  return { version: from.version, baseline: baselineFile, baselined, applied: rest.length };
}
