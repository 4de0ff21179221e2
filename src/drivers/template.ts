import type { DatabaseUrl } from '../config/url.js';

/**
 * Template databases for tests (src/testing): a database holding the schema
 * of every migration, built once per key, and cheap copies of it. Each engine
 * copies its own way (a file copy, CREATE DATABASE … TEMPLATE); the code in
 * src/testing decides what the key is and how a template is migrated.
 * `cairn diff` on PostgreSQL keeps its replayed migrations in a `connectable`
 * store (src/evolve/postgres/diff.ts).
 */
export interface TemplateStore {
  /**
   * Makes sure template `key` exists: when it does not, builds it (an empty
   * database, `migrate`, then published under its name), under a lock that
   * every process building this project's templates takes. True when this
   * call built it. Templates of other keys for the same project, and what a
   * crashed build left, are removed after a build.
   */
  ensure(key: string, migrate: (url: DatabaseUrl) => Promise<void>): Promise<boolean>;
  /** A new database copied from template `key` (which `ensure` made). */
  copy(key: string, options: CopyOptions): Promise<TemplateCopy>;
  /**
   * The template itself, for a store made `connectable` (`cairn diff` reads it
   * and runs its check there in a transaction it rolls back); undefined where
   * the engine keeps no such database.
   */
  readonly url?: (key: string) => DatabaseUrl;
}

export interface CopyOptions {
  /** SQLite: an open better-sqlite3 handle on the copy. */
  readonly open: boolean;
  /** Make copies before they are asked for, so the next call takes one (how: each engine's store says). */
  readonly ahead: boolean;
  /** Stores that keep copies made ahead on a server (PostgreSQL), shared by processes and kept between runs: how many. */
  readonly spares: number;
}

export interface TemplateCopy {
  /** A URL Cairn and the engine's own client accept. */
  readonly url: string;
  /** The open handle (SQLite with `open`, and always for `:memory:`). */
  readonly db?: unknown;
  /** Removes the copy (closing the handle first). */
  drop(): Promise<void>;
}

/** Where a project's templates live, and the short id that keeps two projects' templates apart. */
export interface TemplateProject {
  /** Directory for file templates (`.cairn/templates` in the project). */
  readonly dir: string;
  /** A few hex digits of the project's path: part of every template's name. */
  readonly id: string;
  /**
   * Templates stay open to connections (`url`), and a template of an older key
   * still in use by another process is left for the next build to drop
   * instead of being dropped under it. Default false: test templates.
   */
  readonly connectable?: boolean;
}

/** The template store for databases like `like`. Loaded on demand, as drivers are. */
export async function templateStore(like: DatabaseUrl, project: TemplateProject): Promise<TemplateStore> {
  return (await import('./registry.js')).databaseKind(like).templates(like, project);
}
