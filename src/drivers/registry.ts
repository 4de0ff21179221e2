import type { DatabaseUrl } from '../config/url.js';
import type { TypedRelation } from './columns.js';
import type { TemplateProject, TemplateStore } from './template.js';
import type { Driver } from './types.js';
import { d1 } from './d1/index.js';
import { pglite } from './pglite/index.js';
import { postgres } from './postgres/index.js';
import { sqlite } from './sqlite/index.js';

/**
 * Every database Cairn speaks, one entry each. Adding a database is a new
 * `drivers/<db>/` with an `index.ts` that exports its `DatabaseKind`, a line
 * in `KINDS`, and its URL form in config/url.ts. Each entry loads its driver
 * on demand: a SQLite run never loads pg.
 */
export interface DatabaseKind<U extends DatabaseUrl = DatabaseUrl> {
  /** The SQL its migrations are written in: which parser lints them, which engine replays them. */
  readonly dialect: 'postgres' | 'sqlite';
  open(url: U, options: OpenOptions & { readonly scratch: boolean }): Promise<Driver>;
  /** `cairn create`: the database made when it does not exist. */
  create(url: U): Promise<DatabaseChange>;
  /** `cairn drop`: the database gone with everything in it. */
  drop(url: U): Promise<DatabaseChange>;
  /** An empty throw-away database of this kind, like `like` (on the same server). `scratch` marks the URL it returns as one. */
  scratch(like: U, mark: (url: DatabaseUrl) => DatabaseUrl): Promise<ScratchDatabase>;
  /** What else would work when a scratch database could not be made. */
  readonly scratchHint: string | null;
  /** Template databases for `cairn-migrate/testing`. */
  templates(like: U, project: TemplateProject): Promise<TemplateStore>;
  /** The tables and views as TypeScript sees them (`cairn codegen`). */
  relations(driver: Driver, exclude: readonly string[]): Promise<TypedRelation[]>;
  /** How many databases of this kind `cairn fleet` keeps open at once unless told. */
  fleetConcurrency(url: U): number;
  /** True where the driver waits for the disk on the calling thread: a fleet runs such targets in worker threads. */
  readonly blocksThread: boolean;
  /**
   * Which scratch database `scratch(url)` makes, as a key: URLs with the same
   * key replay in alike scratch databases (same engine, same server). May hold
   * a password; never printed.
   */
  scratchKey(url: U): string;
  /**
   * The databases a pattern names (for `cairn fleet`'s targets), each as its
   * URL and a label, or null when `text` is not this kind's pattern. Absent
   * where a kind has no patterns of its own.
   */
  expandPattern?(text: string): Promise<DatabasePattern[] | null>;
}

/** One database a fleet pattern named: its URL, and a label that names it. */
export interface DatabasePattern {
  readonly source: string;
  readonly label: string;
}

export interface OpenOptions {
  /** False for read-only commands: do not create a database that does not exist yet. */
  readonly create: boolean;
}

/** What `cairn create` / `cairn drop` did: the database's name, and whether it had to (false: it already existed, or was already gone). */
export interface DatabaseChange {
  readonly name: string;
  readonly changed: boolean;
}

export interface ScratchDatabase {
  readonly url: DatabaseUrl;
  drop(): Promise<void>;
}

type Kinds = { readonly [S in DatabaseUrl['scheme']]: DatabaseKind<Extract<DatabaseUrl, { scheme: S }>> };

const KINDS: Kinds = { sqlite, postgres, pglite, d1 };

/** Every entry, for what is asked of all kinds at once (a fleet pattern before it is parsed). */
export const DATABASE_KINDS: readonly DatabaseKind[] = Object.values(KINDS) as DatabaseKind[];

/** The entry for the database `url` names. */
export function databaseKind(url: DatabaseUrl): DatabaseKind {
  return KINDS[url.scheme] as DatabaseKind;
}
