import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import type { ResolvedConfig } from '../../config/load.js';
import { CairnError } from '../../errors.js';
import type { StepContext } from '../../core/migrator.js';
import { replayUp, withScratch, withScratchHint } from '../../replay/scratch.js';
import { withSession } from '../../core/session.js';
import { redactUrl, type DatabaseUrl } from '../../config/url.js';
import { createScratchDatabase, openDriver, scratchFor, scratchKey } from '../../drivers/index.js';
import { templateStore, type TemplateStore } from '../../drivers/template.js';
import type { Driver } from '../../drivers/types.js';
import { diffSnapshots, formatDifference, type Snapshot } from '../../drivers/snapshot.js';
import { wranglerCompanion } from '../../wrangler/table.js';
import { readProjectMigrations } from '../../source/files.js';
import { templateKey } from '../../source/template-key.js';
import { bookkeepingTables, TrackingTable } from '../../core/tracking.js';
import { splitStatements } from '../../source/split.js';
import { planPostgres, quote, type PgPlan, type PgRenameStep } from './plan.js';
import { PG_SCHEMA_FORMAT, readPgSchema, type PgSchema } from './schema.js';
import { desiredKey, hasDesiredCache, readDesiredCache, writeDesiredCache, type DesiredSchema } from './desired-cache.js';

/**
 * `cairn diff` on PostgreSQL: the schema the migrations produce (replayed in
 * a scratch database on the same server, or PGlite) and the desired one
 * (schema.sql loaded into a second scratch database) are read from the
 * catalogs, planned (plan.ts), and the plan is then run on the first scratch
 * database, up and down: the result must be the desired schema and the down
 * must give the old one back, or `diff` writes nothing. That run also shows
 * which tables a change rewrites (their file node changes).
 */
export interface PgDiffInput {
  readonly desiredSql: string;
  /** The desired schema's file, relative to the project root (for errors). */
  readonly desiredFile: string;
  readonly fromDb: boolean;
  readonly renames: readonly { readonly table: string | null; readonly from: string; readonly to: string }[];
  readonly allowDrop: boolean;
  readonly allowRewrite: boolean;
  /** `--fill`: lower-cased `table.column` or `column` → expression. */
  readonly fill?: ReadonlyMap<string, string>;
  /** Cairn's version: part of the keys of what is kept between runs. */
  readonly cairnVersion: string;
  /** False (`--no-keep`): nothing kept on the server; scratch databases made and dropped in this run. */
  readonly keep?: boolean;
}

export async function planPostgresDiff(config: ResolvedConfig, input: PgDiffInput): Promise<PgPlan> {
  const exclude = bookkeepingTables(config);
  const like = scratchFor(config.database, 'postgres').like;
  const liveDump = input.fromDb ? await withSession(config, { write: false, onEvent: () => undefined, companion: wranglerCompanion }, (session) => session.driver.dump({ exclude })) : null;
  if (input.keep === false) return planInScratch(config, input, like, liveDump, null);
  const dir = join(config.root, '.cairn', 'diff');
  const project = createHash('sha256').update(`cairn diff\0${config.root}`).digest('hex').slice(0, 6);
  const store = await templateStore(like, { dir, id: `diff${project}`, connectable: true });
  if (store.url === undefined) return planInScratch(config, input, like, liveDump, null);
  return planOnKept(config, input, { like, liveDump, store, url: store.url, dir, exclude, project });
}

interface Kept {
  readonly like: DatabaseUrl;
  readonly liveDump: string | null;
  readonly store: TemplateStore;
  readonly url: (key: string) => DatabaseUrl;
  /** `.cairn/diff` in the project: the desired schema's cache. */
  readonly dir: string;
  readonly exclude: readonly string[];
  /** Six hex digits of the project's directory: in the names of its kept databases. */
  readonly project: string;
}

/**
 * The fast way, where the engine keeps databases between runs (a server):
 * the migrations replayed once into a database kept on the server, keyed by
 * the migration files (or, with --from-db, by the live schema's dump, taken
 * afresh each run); schema.sql read once per text (desired-cache.ts). The
 * plan's check then runs on the kept database inside one transaction that is
 * rolled back, so it is never changed. A plan that must commit to be checked
 * (an enum's new value is not usable before commit; CONCURRENTLY on a
 * partitioned table) is checked in a scratch database as before.
 */
async function planOnKept(config: ResolvedConfig, input: PgDiffInput, kept: Kept): Promise<PgPlan> {
  const key = kept.liveDump !== null
    ? createHash('sha256').update(`cairn diff ${input.cairnVersion}\0${config.table}\0live\0${kept.liveDump}`).digest('hex').slice(0, 16)
    : await templateKey(config.migrationsDir, `cairn diff ${input.cairnVersion}\0${config.table}`, config.lint.cache ?? null);
  const desiredKeyText = desiredKey([input.cairnVersion, String(PG_SCHEMA_FORMAT), scratchKey(kept.like), kept.exclude.join(','), input.desiredSql]);
  const build = (url: DatabaseUrl) => buildKept(config, url, kept);
  // The kept database is made (the first time) while schema.sql loads, unless what was read from it is kept too.
  const startLoad = () => {
    const loading = readDesiredRolledBack(config, input, kept).then((read) => read ?? readDesired(kept.like, input, kept.exclude));
    loading.catch(() => undefined);
    return loading;
  };
  let loading: Promise<Desired> | null = hasDesiredCache(kept.dir, desiredKeyText) ? null : startLoad();
  let dropping: Promise<void> | null = null;
  try {
    // Opened straight away when it exists: it is published (renamed) only once built whole.
    const driver = (await openDriver(kept.url(key), { create: false }).catch(() => null)) ?? (await buildAndOpen(kept, key, build));
    // Not kept after all (no CREATE DATABASE, say): the scratch way, whose errors say what it needs.
    if (driver === null) return await planInScratch(config, input, kept.like, kept.liveDump, null);
    try {
      const serverVersion = (await driver.query<{ v: string }>({ sql: "SELECT current_setting('server_version_num') AS v" }))[0]!.v;
      let wanted = loading === null ? readDesiredCache(kept.dir, desiredKeyText, serverVersion) : null;
      if (wanted === null) {
        const loaded = await (loading ??= startLoad());
        writeDesiredCache(kept.dir, desiredKeyText, serverVersion, loaded);
        // A scratch database (when schema.sql did not load in a transaction) is dropped while the check runs.
        dropping = loaded.drop().catch(() => undefined);
        wanted = loaded;
      }
      const found = wanted;
      const result = await inRolledBackTransaction(driver, key, async () => {
        const baseline = await driver.snapshot({ exclude: kept.exclude });
        const { current, renames } = await readCurrent(driver, input, kept.exclude);
        const plan = planPostgres(current, found.schema, { allowDrop: input.allowDrop, renames, lockTimeout: '5s', fill: input.fill });
        if (needsCommit(plan, current, found.schema)) return { plan, checked: false };
        await check(driver, plan, { baseline, desired: found.snapshot, current, exclude: kept.exclude, allowRewrite: input.allowRewrite, inTransaction: true });
        return { plan, checked: true };
      });
      if (result.checked) return result.plan;
      await driver.close();
      return await planInScratch(config, input, kept.like, kept.liveDump, { ...found, drop: async () => undefined });
    } finally {
      await driver.close();
    }
  } finally {
    // A load that was not needed after all (or failed) still leaves no database behind.
    const loaded = await Promise.resolve(loading).catch(() => null);
    await (dropping ?? loaded?.drop())?.catch(() => undefined);
  }
}

/**
 * The kept database's migrations (or the live schema), replayed into `url` once. Kept databases'
 * comments name the host and project directory they are for: before it replays, a build drops the
 * project's kept databases of other keys, and those of this host's projects whose directory is
 * gone (a removed checkout, a test's temporary project); one in use by a run is left (no FORCE),
 * for the next build. Dropping first matters: PostgreSQL's DROP DATABASE writes every dirty page
 * of the server at once (a checkpoint), which after the replay would be the whole new database.
 */
async function buildKept(config: ResolvedConfig, url: DatabaseUrl, kept: Kept): Promise<void> {
  const driver = await openDriver(url, { create: true });
  try {
    await driver.query({ sql: `DO $cairn$ BEGIN EXECUTE format('COMMENT ON DATABASE %I IS %L', current_database(), ${literal(owner(config.root))}); END $cairn$` });
    await sweepKept(driver, kept.project);
    const tracking = new TrackingTable(driver, config.table);
    await tracking.ensure();
    if (kept.liveDump !== null) await load(driver, kept.liveDump, 'the live database\'s schema');
    else await replayForDiff(config, { driver, tracking, appliedBy: `${userInfo().username}@${hostname()} (cairn diff)`, onEvent: () => undefined, assertions: 'skip' });
  } finally {
    await driver.close();
  }
}

/** What a kept database's comment says: whose it is. */
const owner = (root: string) => `cairn diff ${hostname()} ${root}`;

/** Names of kept databases: the migrations' (`cairn_tpl_diff<project>_<key>`, made by the template store) and the empty one schema.sql loads into. */
const KEPT = { migrations: 'cairn_tpl_diff', empty: 'cairn_diff_load_' } as const;

/** Drops the project's kept migrations of other keys, and (two at a time) the kept databases of this host's vanished projects. */
async function sweepKept(driver: Driver, project: string): Promise<void> {
  const mine = owner('');
  const rows = await driver.query<{ name: string; owner: string | null }>({
    sql: `SELECT datname AS name, shobj_description(oid, 'pg_database') AS owner FROM pg_database
           WHERE (starts_with(datname, $1) OR starts_with(datname, $2)) AND datname <> current_database()`,
    params: [KEPT.migrations, KEPT.empty],
  });
  // Each DROP DATABASE costs a checkpoint: a build drops a few vanished projects' databases, the next build a few more.
  let vanishedLeft = 2;
  for (const row of rows) {
    const sameProject = row.name.startsWith(`${KEPT.migrations}${project}_`);
    // The template store puts `cairn template, <size> bytes; ` ahead of the owner on the migrations' database.
    const note = row.owner?.replace(/^cairn template, \d+ bytes; /, '') ?? null;
    const vanished = !sameProject && note !== null && note.startsWith(mine) && !existsSync(note.slice(mine.length)) && vanishedLeft-- > 0;
    if (!sameProject && !vanished) continue;
    await driver.query({ sql: `ALTER DATABASE ${quote(row.name)} WITH IS_TEMPLATE false` }).catch(() => undefined);
    await driver.query({ sql: `DROP DATABASE IF EXISTS ${quote(row.name)}` }).catch(() => undefined);
  }
}

/**
 * schema.sql loaded into the project's kept empty database inside a transaction that is rolled
 * back, and read: the database stays empty, and nothing is dropped after (see buildKept); its
 * catalogs are vacuumed instead, which `drop` waits for. Null
 * when it cannot load that way (a statement a transaction cannot hold, a mistake in the file): the
 * scratch database way then loads it statement by statement and names the line that fails.
 */
async function readDesiredRolledBack(config: ResolvedConfig, input: PgDiffInput, kept: Kept): Promise<Desired | null> {
  if (/^\s*(BEGIN|COMMIT|END|ROLLBACK|START|ABORT|SAVEPOINT|RELEASE|PREPARE)\b/im.test(input.desiredSql)) return null;
  const name = `${KEPT.empty}${kept.project}`;
  const at = sibling(kept.url(''), name);
  let driver = await openDriver(at, { create: false }).catch(() => null);
  if (driver === null) {
    try {
      const admin = await openDriver(kept.like, { create: false });
      try {
        await admin.query({ sql: `CREATE DATABASE ${quote(name)}` }).catch((error: unknown) => {
          const code = (error as { engineCode?: string }).engineCode;
          if (code !== '42P04' && code !== '23505') throw error; // made by a run at the same moment
        });
        await admin.query({ sql: `COMMENT ON DATABASE ${quote(name)} IS ${literal(owner(config.root))}` }).catch(() => undefined);
      } finally {
        await admin.close();
      }
      driver = await openDriver(at, { create: false });
    } catch {
      return null; // no CREATE DATABASE here: the scratch way says what it needs
    }
  }
  let read: DesiredSchema | null;
  try {
    read = await inRolledBackTransaction(driver, `${kept.project}0`, async () => {
      try {
        await driver.query({ sql: input.desiredSql });
      } catch {
        return null;
      }
      const schema = await readPgSchema(driver, kept.exclude);
      return { schema, snapshot: await driver.snapshot({ exclude: kept.exclude }) };
    });
  } catch (error) {
    await driver.close();
    throw error;
  }
  if (read === null) {
    await driver.close();
    return null;
  }
  // The rolled-back rows of the catalogs are vacuumed while the check runs (the caller's `drop` waits for it): left, they
  // would pile up run after run, and every CREATE of the same names would step over all of them.
  const open = driver;
  const vacuumed = open.query({ sql: 'VACUUM' }).then(() => undefined, () => undefined).finally(() => open.close());
  return { ...read, drop: () => vacuumed };
}

/** The database `name` on the same server as `url`, a kept database's. */
function sibling(url: DatabaseUrl, name: string): DatabaseUrl {
  if (url.scheme !== 'postgres') return url;
  const at = new URL(url.url);
  at.pathname = `/${name}`;
  return { ...url, url: at.toString(), display: `${redactUrl(at.toString())} (kept by cairn diff)` };
}

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

/**
 * Builds the kept database and opens it (again, if another run of an older key dropped it a moment
 * ago). Null when the server will not keep one for this user; a migration that fails is an error.
 */
async function buildAndOpen(kept: Kept, key: string, build: (url: DatabaseUrl) => Promise<void>): Promise<Driver | null> {
  for (let attempt = 0; ; attempt++) {
    try {
      await kept.store.ensure(key, build);
      return await openDriver(kept.url(key), { create: false });
    } catch (error) {
      if (error instanceof CairnError && error.code === 'MIGRATION_FAILED') throw error;
      if (attempt >= 1) return null;
    }
  }
}

/**
 * Runs `work` in a transaction on the kept database and rolls it back whatever happens.
 * Two runs at once on the same kept database take turns (a transaction-scoped advisory lock): their ALTERs would otherwise wait on each other, or deadlock.
 */
async function inRolledBackTransaction<T>(driver: Driver, key: string, work: () => Promise<T>): Promise<T> {
  await driver.query({ sql: 'BEGIN' });
  try {
    await driver.query({ sql: 'SELECT pg_advisory_xact_lock($1)', params: [BigInt.asIntN(64, BigInt(`0x${key.padEnd(16, '0').slice(0, 16)}`)).toString()] });
    return await work();
  } finally {
    await driver.query({ sql: 'ROLLBACK' }).catch(() => undefined);
  }
}

/** A plan whose check must commit: an enum's new value (not usable in the transaction that added it), or an index built CONCURRENTLY on a partitioned table (refused there, while a plain CREATE INDEX is not). */
function needsCommit(plan: PgPlan, current: PgSchema, wanted: PgSchema): boolean {
  if (plan.files.some((f) => f.phase === 'enum')) return true;
  const concurrent = plan.files.filter((f) => f.noTransaction);
  if (concurrent.length === 0) return false;
  if (concurrent.some((f) => [...f.up, ...(f.down ?? [])].some((sql) => !CONCURRENT.test(sql) && !/^SET /i.test(sql)))) return true;
  return [...current.tables.values(), ...wanted.tables.values()].some((t) => t.extra.startsWith('p'));
}

/** `CREATE [UNIQUE] INDEX CONCURRENTLY …`, `DROP INDEX CONCURRENTLY …`: inside the check's transaction, run as the plain form, which makes the same index. */
const CONCURRENT = /^(CREATE (?:UNIQUE )?INDEX|DROP INDEX) CONCURRENTLY /;

/** The slow way: the migrations (or the live schema) replayed in a scratch database, checked there for real; schema.sql loaded in a second one unless it was read already. */
async function planInScratch(config: ResolvedConfig, input: PgDiffInput, like: DatabaseUrl, liveDump: string | null, known: Desired | null): Promise<PgPlan> {
  const exclude = bookkeepingTables(config);
  // The desired schema loads in its own scratch database while the migrations replay in the other: two connections, two server processes.
  const desired = known !== null ? Promise.resolve(known) : readDesired(like, input, exclude);
  desired.catch(() => undefined);
  // Dropping a database makes the server checkpoint: the two scratch databases are dropped at the same moment, so that one checkpoint can serve both.
  let dropDesired: Promise<void> | null = null;
  const plan = withScratch(like, config.table, async (context) => {
    if (liveDump !== null) await load(context.driver, liveDump, 'the live database\'s schema');
    else await replayForDiff(config, context);
    const baseline = await context.driver.snapshot({ exclude });
    const { current, renames } = await readCurrent(context.driver, input, exclude);
    const wanted = await desired;
    try {
      const plan = planPostgres(current, wanted.schema, { allowDrop: input.allowDrop, renames, lockTimeout: '5s', fill: input.fill });
      // Even with nothing to write: a difference the planner does not see must not read as "no changes".
      await check(context.driver, plan, { baseline, desired: wanted.snapshot, current, exclude, allowRewrite: input.allowRewrite, inTransaction: false });
      return plan;
    } finally {
      dropDesired = wanted.drop();
      dropDesired.catch(() => undefined);
    }
  });
  try {
    return await plan;
  } catch (error) {
    throw withScratchHint(error, like);
  } finally {
    // However the replay ended, the other scratch database goes too.
    await desired.then((d) => dropDesired ?? d.drop(), () => undefined).catch(() => undefined);
  }
}

/** The schema the plan starts from, with the --rename steps applied while it is read (and undone after). */
async function readCurrent(driver: Driver, input: PgDiffInput, exclude: readonly string[]): Promise<{ current: PgSchema; renames: PgRenameStep[] }> {
  const renames: PgRenameStep[] = [];
  for (const rename of input.renames) renames.push(await applyRename(driver, rename));
  const current = await readPgSchema(driver, exclude);
  for (const rename of [...renames].reverse()) await driver.query({ sql: rename.down });
  return { current, renames };
}

interface Desired extends DesiredSchema {
  /** Drops the scratch database it was read from (nothing when it came from the cache). */
  drop(): Promise<void>;
}

/** schema.sql loaded into a scratch database and read; the caller drops the database (`drop`). */
async function readDesired(like: DatabaseUrl, input: PgDiffInput, exclude: readonly string[]): Promise<Desired> {
  const scratch = await createScratchDatabase(like);
  try {
    const driver = await openDriver(scratch.url, { create: true });
    try {
      await load(driver, input.desiredSql, input.desiredFile);
      const schema = await readPgSchema(driver, exclude);
      const snapshot = await driver.snapshot({ exclude });
      await driver.close();
      return { schema, snapshot, drop: () => scratch.drop() };
    } catch (error) {
      await driver.close().catch(() => undefined);
      throw error;
    }
  } catch (error) {
    await scratch.drop();
    throw error;
  }
}

/** Every migration of the project, up, in the scratch database `cairn diff` compares against (both dialects). */
export async function replayForDiff(config: ResolvedConfig, context: StepContext): Promise<void> {
  await replayUp(context, readProjectMigrations(config), ({ file, line, message }) => ({
    message: `replaying the migrations in a scratch database: ${file}:${line}: ${message}`,
    hint: 'fix that migration first (`cairn verify` shows the same), or diff against the live database with --from-db',
    details: { file, line },
  }));
}

/** Runs `sql` (a file of statements): in one round trip where the engine takes several statements at once, else one by one, to name the line that fails. */
async function load(driver: Driver, sql: string, file: string): Promise<void> {
  try {
    await driver.query({ sql });
    return;
  } catch {
    // The statements ran as one implicit transaction (or not at all): nothing is left of them.
  }
  for (const statement of splitStatements(sql)) {
    try {
      await driver.query({ sql: statement.sql });
    } catch (error) {
      throw new CairnError('USAGE', `${file}:${statement.line} does not load in PostgreSQL: ${(error as Error).message}`, {
        hint: 'the desired schema is plain CREATE statements (tables, indexes, views, functions, triggers, types), as `cairn dump` writes them',
        details: { file, line: statement.line },
      });
    }
  }
}

async function applyRename(driver: Driver, rename: PgDiffInput['renames'][number]): Promise<PgRenameStep> {
  const table = rename.table ?? rename.from;
  const rows = await driver.query<{ sql: string | null; name: string | null }>({
    sql: `SELECT CASE WHEN n.nspname = 'public' THEN quote_ident(c.relname) ELSE quote_ident(n.nspname) || '.' || quote_ident(c.relname) END AS sql,
                 CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END AS name
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`,
    params: [table.includes('"') ? table : table.split('.').map(quote).join('.')],
  });
  const found = rows[0];
  if (!found?.sql) throw new CairnError('USAGE', `--rename ${rename.table === null ? '' : `${rename.table}.`}${rename.from}=${rename.to}: there is no table ${table} in the schema the migrations produce`, { hint: 'name the table as it is now (schema-qualified outside public)' });
  const step: PgRenameStep =
    rename.table === null
      ? {
          up: `ALTER TABLE ${found.sql} RENAME TO ${quote(rename.to)}`,
          down: `ALTER TABLE ${found.sql.replace(/[^.]+$/, quote(rename.to))} RENAME TO ${quote(found.name!.replace(/.*\./, ''))}`,
          change: { kind: 'rename-table', object: `${found.name} → ${rename.to}` },
        }
      : {
          up: `ALTER TABLE ${found.sql} RENAME COLUMN ${quote(rename.from)} TO ${quote(rename.to)}`,
          down: `ALTER TABLE ${found.sql} RENAME COLUMN ${quote(rename.to)} TO ${quote(rename.from)}`,
          change: { kind: 'rename-column', object: `${found.name}.${rename.from} → ${rename.to}` },
        };
  try {
    await driver.query({ sql: step.up });
  } catch (error) {
    throw new CairnError('USAGE', `--rename ${rename.table === null ? '' : `${rename.table}.`}${rename.from}=${rename.to}: ${(error as Error).message}`, { hint: 'name the column (or table) as it is now, and the new name as schema.sql has it' });
  }
  return step;
}

interface CheckInput {
  readonly baseline: Snapshot;
  readonly desired: Snapshot;
  readonly current: PgSchema;
  readonly exclude: readonly string[];
  readonly allowRewrite: boolean;
  /** Inside a transaction the caller rolls back: each file's statements run one by one, CONCURRENTLY as the plain form. */
  readonly inTransaction: boolean;
}

/** Runs the plan's files up, then down, on the scratch copy; refuses a plan whose result is not what it must be. */
async function check(driver: Driver, plan: PgPlan, input: CheckInput): Promise<void> {
  let restoreTo = input.baseline;
  for (const [index, file] of plan.files.entries()) {
    await run(driver, file.up, file.noTransaction, `part ${index + 1} (${file.phase}), up`, input.inTransaction);
    // A part with no down (enum values cannot be removed): the downs after it restore what it left.
    if (file.down === null) restoreTo = await driver.snapshot({ exclude: input.exclude });
  }
  const after = await driver.snapshot({ exclude: input.exclude });
  const wrong = differences(after, input.desired);
  if (wrong.length > 0) {
    throw new CairnError('USAGE', `cairn diff cannot express every difference; after the migration it would write, these still differ from the desired schema:\n  ${wrong.join('\n  ')}`, {
      hint: 'write those changes by hand in a migration of their own (`cairn new <name>`), apply it, then run cairn diff again for the rest',
      details: { differences: wrong },
    });
  }
  const rewritten = await rewrittenTables(driver, input.current);
  if (rewritten.length > 0 && !input.allowRewrite) {
    const what = rewritten.map((table) => `${table}${plan.typeChanges.has(table) ? ` (${plan.typeChanges.get(table)!.join(', ')})` : ''}`);
    throw new CairnError('USAGE', `the change rewrites ${what.join(', ')}: the whole table is copied under an ACCESS EXCLUSIVE lock, no reads or writes until it is done`, {
      hint: 'change it expand–contract instead: `cairn plan change-type <table>.<column> <type>` writes the phases (a new column kept in sync, batched backfill, swap), or pass --allow-rewrite when the table is small or the downtime is fine',
      details: { rewrites: rewritten },
    });
  }
  for (const [index, file] of [...plan.files.entries()].reverse()) {
    if (file.down === null) break;
    await run(driver, file.down, file.noTransaction, `part ${index + 1} (${file.phase}), down`, input.inTransaction);
  }
  const back = differences(await driver.snapshot({ exclude: input.exclude }), restoreTo);
  if (back.length > 0) {
    throw new CairnError('USAGE', `cairn diff wrote a down section that does not restore the schema:\n  ${back.join('\n  ')}`, {
      hint: 'please report it with the two schemas; meanwhile write the down by hand (`cairn diff --print` shows the up)',
      details: { differences: back },
    });
  }
}

async function run(driver: Driver, statements: readonly string[], noTransaction: boolean, what: string, inTransaction: boolean): Promise<void> {
  let at: number | undefined;
  try {
    if (inTransaction) for (at = 0; at < statements.length; at++) await driver.query({ sql: statements[at]!.replace(CONCURRENT, '$1 ') });
    else if (noTransaction) for (const sql of statements) await driver.query({ sql });
    else await driver.atomic(statements.map((sql) => ({ sql })));
  } catch (error) {
    const index = at ?? (error as { index?: number }).index;
    const statement = (noTransaction && !inTransaction) || index === undefined ? '' : ` at ${statements[index]}`;
    throw new CairnError('USAGE', `cairn diff cannot write this change: its ${what} fails on a copy of the schema${statement}: ${(error as Error).message}`, {
      hint: 'write that change by hand in a migration of its own (`cairn new <name>`), then run cairn diff again for the rest',
    });
  }
}

/** Differences that matter: PostgreSQL cannot reorder columns, so a new column lands last whatever schema.sql says. */
function differences(actual: Snapshot, wanted: Snapshot): string[] {
  return diffSnapshots(actual, wanted)
    .filter((d) => !(d.key.startsWith('columns ') && d.before !== null && d.after !== null && [...d.before.split(', ')].sort().join() === [...d.after.split(', ')].sort().join()))
    .map(formatDifference);
}

/** Tables of `current` whose file node changed: PostgreSQL wrote them anew. */
async function rewrittenTables(driver: Driver, current: PgSchema): Promise<string[]> {
  const tables = [...current.tables.values()];
  if (tables.length === 0) return [];
  const rows = await driver.query<{ name: string; filenode: string | null }>({
    sql: 'SELECT t.name, pg_relation_filenode(to_regclass(t.sql))::text AS filenode FROM unnest($1::text[], $2::text[]) AS t(name, sql)',
    params: [tables.map((t) => t.name), tables.map((t) => t.sql)],
  });
  const before = new Map(tables.map((t) => [t.name, t.filenode]));
  return rows.filter((row) => row.filenode !== null && row.filenode !== before.get(row.name)).map((row) => row.name);
}

