import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Database } from 'better-sqlite3';
import { resolveConfig, type ResolvedConfig } from '../config/load.js';
import { parseDatabaseUrl, type DatabaseUrl } from '../config/url.js';
import { CairnError } from '../errors.js';
import type { CairnEvent } from '../core/events.js';
import { withSession } from '../core/session.js';
import { up } from '../core/up.js';
import { templateStore, type TemplateStore } from '../drivers/template.js';
import { wranglerCompanion } from '../wrangler/table.js';
import { templateKey } from '../source/template-key.js';

export interface TestDatabaseOptions {
  /**
   * What kind of database, and where: `sqlite:` (a file in a temporary
   * directory), `:memory:` (SQLite in memory, with `db` open on it), or a
   * `postgres://` URL of a server where the user may CREATE DATABASE (its
   * database is only connected to, never changed). Default: the kind of the
   * project's configured database, on the same server.
   */
  readonly url?: string | undefined;
  /** The migrations directory (default: the project's, from its config). */
  readonly dir?: string | undefined;
  /** The config file (default: cairn.config.* in `cwd`). */
  readonly config?: string | undefined;
  /** The project directory (default: process.cwd()). */
  readonly cwd?: string | undefined;
  /** SQLite: also return an open better-sqlite3 handle on the test database. */
  readonly open?: boolean | undefined;
  /**
   * Every engine but `:memory:`: make test databases before they are asked
   * for (default true), so a call only takes one. SQLite, PGlite, D1: from the
   * second test database a process asks for, the next one is made in the
   * background as soon as one is handed out; one per process, removed when the
   * process ends. PostgreSQL: `spares` copies kept on the server, shared by
   * every process and kept between runs, refilled in the background. False:
   * each call copies the template itself.
   */
  readonly copyAhead?: boolean | undefined;
  /**
   * PostgreSQL: how many ready copies of the template to keep on the server
   * (default 2; 0: none, each call copies). Each is as large as the template.
   */
  readonly spares?: number | undefined;
  /** Notices while building the template (what `cairn up` would print as notices). */
  readonly onEvent?: ((event: CairnEvent) => void) | undefined;
}

export interface TestDatabase {
  /** The test database's URL: `sqlite:/tmp/…/test.db`, `sqlite::memory:`, or `postgres://…/cairn_test_…`. */
  readonly url: string;
  /** SQLite with `open: true` (always for `:memory:`): the open handle. */
  readonly db?: Database;
  /** The template it was copied from: its key, and whether this call had to build it. */
  readonly template: { readonly key: string; readonly built: boolean };
  /** Removes the test database (closing `db` first). */
  close(): Promise<void>;
}

/**
 * A fresh database holding the schema (and the rows) of every migration in the
 * project, isolated from every other test database. The migrations run once,
 * with the runner and lint rules `cairn up` uses, into a template keyed by the
 * migration files' contents, Cairn's version and the engine; each call copies
 * the template. A changed migration means a new key, so the next call rebuilds.
 * Building takes a lock shared by every process (many vitest workers build once);
 * copying takes none.
 *
 *   const test = await createTestDatabase({ url: ':memory:' });
 *   test.db!.prepare('INSERT INTO users (email) VALUES (?)').run('a@example.com');
 *   await test.close();
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const spares = sparesOf(options.spares);
  const config = await configFor(options);
  const like = options.url === undefined ? config.database : engineUrl(options.url, config.root);
  const store = await storeFor(like, config.root); // first: a server's store starts connecting, and the server forks its backend while the key is computed
  const key = await templateKey(config.migrationsDir, `cairn ${VERSION}\0${like.scheme}\0${config.table}`, config.lint.cache ?? null);
  const built = await store.ensure(key, (url) => migrate(config, url, options.onEvent));
  const copy = await store.copy(key, { open: options.open === true, ahead: options.copyAhead !== false, spares });
  return { url: copy.url, ...(copy.db ? { db: copy.db as Database } : {}), template: { key, built }, close: () => copy.drop() };
}

/** One store per engine, server and project for the life of the process: it remembers the templates it saw and keeps a copy made ahead. */
const stores = new Map<string, Promise<TemplateStore>>();
function storeFor(like: DatabaseUrl, root: string): Promise<TemplateStore> {
  const id = JSON.stringify([like, root]);
  let store = stores.get(id);
  if (!store) {
    store = templateStore(like, { dir: join(root, '.cairn', 'templates'), id: createHash('sha256').update(root).digest('hex').slice(0, 8) });
    stores.set(id, store);
    store.catch(() => stores.delete(id));
  }
  return store;
}

function sparesOf(spares: number | undefined): number {
  if (spares === undefined) return DEFAULT_SPARES;
  if (!Number.isInteger(spares) || spares < 0 || spares > 64) throw new CairnError('CONFIG', `spares must be a whole number from 0 to 64, got ${String(spares)}`, { hint: 'createTestDatabase({ spares: 2 }): ready copies kept on the server; 0 for none' });
  return spares;
}
const DEFAULT_SPARES = 2;

/** `sqlite:` alone (no path) means a SQLite test database wherever Cairn puts it. */
function engineUrl(url: string, root: string): DatabaseUrl {
  if (/^(sqlite3?|file):?$/i.test(url.trim())) return { scheme: 'sqlite', path: '', display: 'sqlite:' };
  return parseDatabaseUrl(url, root);
}

/** The config, resolved once per process for the same options: tests call this many times. */
const configs = new Map<string, Promise<ResolvedConfig>>();
function configFor(options: TestDatabaseOptions): Promise<ResolvedConfig> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const id = JSON.stringify([cwd, options.config, options.dir, options.url === undefined]);
  let config = configs.get(id);
  if (!config) {
    // A test database never follows CAIRN_ENV: no environment's gate, confirmation or health check applies to it.
    config = resolveConfig({ cwd, config: options.config, dir: options.dir, envVars: { ...process.env, CAIRN_ENV: undefined } });
    configs.set(id, config);
    config.catch(() => configs.delete(id));
  }
  return config;
}

/**
 * Runs every migration into the empty template, as `cairn up` would; a migration the database or the linter rejects fails the call.
 * Pre-migration assertions are skipped, as in verify's scratch replay: they guard production data, which a test database does not hold.
 */
async function migrate(config: ResolvedConfig, url: DatabaseUrl, onEvent: ((event: CairnEvent) => void) | undefined): Promise<void> {
  const templateConfig: ResolvedConfig = { ...config, database: url, dumpAfterUp: false, environmentSettings: null };
  const result = await withSession(templateConfig, { write: true, onEvent: onEvent ?? (() => undefined), companion: wranglerCompanion }, (session) => up(session, { assertions: 'skip' }));
  const failure = result.errors[0];
  if (!result.success && failure) {
    throw new CairnError('MIGRATION_FAILED', `building the test database template: ${failure.version}_${failure.name} failed at ${failure.file}:${failure.line}: ${failure.message}`, {
      hint: 'fix the migration (`cairn verify` replays them all in a scratch database); the template is rebuilt on the next call',
      details: { failure },
    });
  }
}

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
