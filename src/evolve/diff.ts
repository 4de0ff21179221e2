import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { ResolvedConfig } from '../config/load.js';
import { CairnError } from '../errors.js';
import { migrationText, newMigration, type MigrationType } from '../core/scaffold.js';
import { withScratch, withScratchHint } from '../replay/scratch.js';
import { withSession } from '../core/session.js';
import { bookkeepingTables } from '../core/tracking.js';
import type { Capabilities } from '../drivers/types.js';
import { planPostgresDiff, replayForDiff } from './postgres/diff.js';
import { writePgFiles, type PgDiffFile } from './postgres/files.js';
import type { PgChange } from './postgres/plan.js';
import { planSqlite, type Change, type Rename, type SqlitePlan } from './sqlite/plan.js';
import { wranglerCompanion } from '../wrangler/table.js';

/**
 * `cairn diff`: the schema the migrations produce (replayed in a scratch
 * database, or the live one with `fromDb`) against the schema the user wants
 * (a file of CREATE statements), written as the next migration with an up
 * and a down section.
 */
export interface DiffOptions {
  /** The migration's name, verb_object. */
  readonly name: string;
  /** The desired schema (absolute path). */
  readonly to: string;
  readonly fromDb?: boolean | undefined;
  /** Write nothing; return the file's text. */
  readonly print?: boolean | undefined;
  /** `table.old=new` (a column) or `old=new` (a table). */
  readonly renames?: readonly string[] | undefined;
  /** `table.column=expr` or `column=expr`: how a rebuild fills a column. */
  readonly fill?: readonly string[] | undefined;
  readonly allowDrop?: boolean | undefined;
  /** PostgreSQL: write a change that rewrites a table (a column type) instead of refusing it. */
  readonly allowRewrite?: boolean | undefined;
  /** Why the dropped data may go: written into the file's `-- cairn:allow`. */
  readonly reason?: string | undefined;
  /**
   * PostgreSQL: keep the replayed migrations and an empty database for schema.sql on the server
   * between runs (default true; docs/diff.md). False: scratch databases made and dropped in this run.
   */
  readonly keep?: boolean | undefined;
}

export interface DiffResult {
  /** False when the schemas are already equal (nothing written). */
  readonly changed: boolean;
  readonly changes: readonly (Change | PgChange)[];
  /** Where the file was written, relative to the project root; null with print or when nothing changed. */
  readonly file: string | null;
  readonly version: string | null;
  /** The file's whole text. */
  readonly text: string;
  readonly noTransaction: boolean;
  readonly type: MigrationType;
  /** Why the down section is a comment instead of SQL, when it is. */
  readonly noDown: string | null;
  /** PostgreSQL: every file written, in order (the first is `file`); one change can need several (a concurrent index, a later validation). */
  readonly files?: readonly PgDiffFile[];
}

export async function diff(config: ResolvedConfig, options: DiffOptions): Promise<DiffResult> {
  if (!existsSync(options.to)) throw new CairnError('USAGE', `--to ${relative(config.root, options.to)} does not exist`, { hint: 'start from the current schema: `cairn dump`, then edit schema.sql' });
  const desiredSql = readFileSync(options.to, 'utf8');
  const desiredFile = relative(config.root, options.to) || options.to;
  const renames = (options.renames ?? []).map(parseRename);
  const fill = new Map((options.fill ?? []).map(parseFill));
  if (options.allowDrop && !options.reason) throw new CairnError('USAGE', '--allow-drop needs --reason "<why the data can go>"', { hint: 'the reason goes into the file as -- cairn:allow, for whoever reviews it' });
  if (config.lint.dialect === 'postgres') return diffPostgres(config, options, desiredSql, desiredFile, renames, fill);
  if (options.allowRewrite) throw new CairnError('USAGE', '--allow-rewrite is for PostgreSQL: on SQLite and D1 a change ALTER TABLE cannot make is the table rebuild', { hint: 'leave it out' });

  const { schema, capabilities } = options.fromDb ? await liveSchema(config) : await replayedSchema(config);
  const copyAside = capabilities.batchOnlyAtomicity;
  const up = await planSqlite(schema, desiredSql, desiredFile, { renames, allowDrop: options.allowDrop ?? false, fill, copyAside });
  // A rebuild drops the old table (Cairn backs it up before a destructive step), and on D1 empties its children for a moment.
  const type: MigrationType = up.changes.some((c) => c.kind === 'drop-table' || c.kind === 'drop-column' || c.kind === 'rebuild-table') ? 'destructive' : up.changes.every((c) => c.kind.startsWith('create-') || c.kind === 'add-column') ? 'additive' : 'transformative';
  if (up.changes.length === 0) return { changed: false, changes: [], file: null, version: null, text: '', noTransaction: false, type, noDown: null };

  const inverse = renames.map((r) => ({ table: r.table === null ? null : (renames.find((t) => t.table === null && t.from.toLowerCase() === r.table!.toLowerCase())?.to ?? r.table), from: r.to, to: r.from })).reverse();
  let down: SqlitePlan | null = null;
  let noDown: string | null = null;
  try {
    down = await planSqlite(desiredSql, schema, 'the schema the migrations produce', { renames: inverse, allowDrop: true, fill: new Map(), copyAside });
  } catch (error) {
    if (!(error instanceof CairnError)) throw error;
    noDown = error.message;
  }
  const noTransaction = up.noTransaction || (down?.noTransaction ?? false);
  const header = [
    ...(noTransaction ? ['-- cairn:no-transaction'] : []),
    ...allows(up, options.reason),
    ...up.assertions,
    ...(renames.length > 0 ? ['-- Renames: the first phase of an expand–contract change when code still reads the old names (deploy code that reads the new ones first); see `cairn plan`.'] : []),
    `-- Written by \`cairn diff\` from ${desiredFile}${options.fromDb ? ' (against the live database)' : ''}: review it, then \`cairn lint\` and \`cairn verify\`.`,
  ];
  const rollback = noDown
    ? `none generated: ${noDown}`
    : up.changes.some((c) => c.kind === 'drop-table' || c.kind === 'drop-column')
      ? 'the down restores the old definitions; the dropped data does not come back (restore it from the backup Cairn takes before the up)'
      : type === 'destructive'
        ? 'the down rebuilds the tables back to their old definitions, keeping every row'
      : 'the down restores the previous schema the same careful way';
  const body = {
    up: sections(up, noTransaction),
    down: down ? sections(down, noTransaction) : `-- no down: ${noDown}`,
    rollback,
    header,
  };
  const title = options.name.trim().toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  if (options.print) return { changed: true, changes: up.changes, file: null, version: null, text: migrationText(title.replace(/_/g, ' '), type, body), noTransaction, type, noDown };
  const written = newMigration(config.migrationsDir, config.root, options.name, type, new Date(), body);
  return { changed: true, changes: up.changes, file: written.file, version: written.version, text: readFileSync(written.path, 'utf8'), noTransaction, type, noDown };
}

async function diffPostgres(config: ResolvedConfig, options: DiffOptions, desiredSql: string, desiredFile: string, renames: readonly Rename[], fill: ReadonlyMap<string, string>): Promise<DiffResult> {
  const plan = await planPostgresDiff(config, { desiredSql, desiredFile, fromDb: options.fromDb ?? false, renames, allowDrop: options.allowDrop ?? false, allowRewrite: options.allowRewrite ?? false, fill, cairnVersion: VERSION, keep: options.keep ?? true });
  if (plan.files.length === 0) return { changed: false, changes: [], file: null, version: null, text: '', noTransaction: false, type: 'additive', noDown: null, files: [] };
  const files = writePgFiles(plan, { name: options.name, desiredFile, fromDb: options.fromDb ?? false, reason: options.reason, renamed: renames.length > 0, print: options.print ?? false, migrationsDir: config.migrationsDir, root: config.root });
  const first = files[0]!;
  const noDown = plan.files.find((f) => f.noDown !== null)?.noDown ?? null;
  return { changed: true, changes: plan.changes, file: first.file, version: first.version, text: files.map((f) => f.text).join('\n'), noTransaction: files.some((f) => f.noTransaction), type: first.type, noDown, files };
}

/**
 * A plan's statements as a section. A no-transaction file runs each section
 * statement by statement: a section that needs no rebuild gets its own
 * BEGIN/COMMIT so that it stays all-or-nothing.
 */
function sections(plan: SqlitePlan, noTransaction: boolean): string {
  const statements = noTransaction && !plan.noTransaction ? ['BEGIN', ...plan.statements, 'COMMIT'] : plan.statements;
  return statements.map((s) => `${s.trim().replace(/;$/, '')};`).join('\n');
}

/** `-- cairn:allow` lines for what the user allowed to be dropped. */
function allows(plan: SqlitePlan, reason: string | undefined): string[] {
  const rules = new Set<string>();
  for (const change of plan.changes) {
    if (change.kind === 'drop-table') rules.add('drop-table');
    if (change.kind === 'drop-column') rules.add('drop-column');
  }
  const drops = [...rules].map((rule) => `-- cairn:allow ${rule} ${reason ?? ''}`.trimEnd());
  // A rename the user named with --rename is asked for, as a drop is with --allow-drop; the linter's warning about running code stays in the header comment.
  const renamed = new Set(plan.changes.filter((c) => c.kind === 'rename-column' || c.kind === 'rename-table').map((c) => c.kind));
  return [...drops, ...[...renamed].map((rule) => `-- cairn:allow ${rule} ${reason ?? 'asked for with cairn diff --rename; deploy code that uses the new name first'}`)];
}

/** Cairn's version, read as src/testing reads it (this module sits one level under src/). */
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function parseRename(text: string): Rename {
  const match = /^([^=.]+)(?:\.([^=]+))?=(.+)$/.exec(text.trim());
  if (!match) throw new CairnError('USAGE', `--rename ${text}: expected table.old=new (a column) or old=new (a table)`, { hint: 'e.g. --rename users.name=display_name' });
  return match[2] === undefined ? { table: null, from: match[1]!, to: match[3]! } : { table: match[1]!, from: match[2], to: match[3]! };
}

function parseFill(text: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new CairnError('USAGE', `--fill ${text}: expected column=expression or table.column=expression`, { hint: "e.g. --fill users.role='member'" });
  return [text.slice(0, at).trim().toLowerCase(), text.slice(at + 1).trim()];
}

async function liveSchema(config: ResolvedConfig): Promise<{ schema: string; capabilities: Capabilities }> {
  return withSession(config, { write: false, onEvent: () => undefined, companion: wranglerCompanion }, async (session) => ({
    schema: await session.driver.dump({ exclude: bookkeepingTables(config) }),
    capabilities: session.driver.capabilities,
  }));
}

/** Every migration, applied and pending, replayed up in a scratch database of the configured kind. */
async function replayedSchema(config: ResolvedConfig): Promise<{ schema: string; capabilities: Capabilities }> {
  return withScratch(config.database, config.table, async (context) => {
    await replayForDiff(config, context);
    return { schema: await context.driver.dump({ exclude: bookkeepingTables(config) }), capabilities: context.driver.capabilities };
  }).catch((error: unknown) => {
    throw withScratchHint(error, config.database);
  });
}
