/** What a user writes in cairn.config.ts. Every field is optional. */
export interface CairnConfig {
  /** Database URL: `sqlite:path/to.db` (default `sqlite:cairn.db`) or `postgres://…`. */
  readonly database?: string;
  /**
   * A Cloudflare D1 binding from wrangler.toml / wrangler.json(c), instead of `database`:
   * `'DB'`, or `{ binding: 'DB', env: 'qa', remote: true }`. Migrations directory and
   * wrangler's history table come from the binding (docs/wrangler.md).
   */
  readonly d1?: string | D1Config;
  /** Directory of migration files, relative to the config file. Default `migrations`. */
  readonly migrations?: string;
  /** How the migration files are encoded, for a legacy history: `'latin1'`, `'windows-1252'`, … (WHATWG labels). Default UTF-8; bytes invalid in it are an error, never replaced. */
  readonly encoding?: string;
  /** History table. Default `cairn_migrations`. */
  readonly table?: string;
  /** Seconds to wait for Cairn's own migration lock (another `cairn up` holding it). Default 60. */
  readonly lockTimeout?: number;
  /**
   * PostgreSQL: how long each statement of a migration may wait for a table lock
   * (`SET LOCAL lock_timeout` at the start of each transactional migration):
   * '5s', '500ms'. Default '5s'; `false` or '0' turns it off (then the lint rule
   * require-lock-timeout asks for a SET in the files).
   */
  readonly statementLockTimeout?: string | false;
  /** How many times a migration that gave way on statementLockTimeout is rolled back and run again. Default 3. */
  readonly statementLockRetries?: number;
  /** Pause before the first such retry; it doubles on each next one: '1s', '500ms'. Default '1s'. */
  readonly statementLockBackoff?: string;
  /** Apply pending files numbered below the newest applied one instead of refusing. */
  readonly allowOutOfOrder?: boolean;
  /** The schema dump `cairn dump` writes and `cairn verify` checks, relative to this file. Default `schema.sql`. */
  readonly schema?: string;
  /** Rewrite the schema dump after every successful `up` and `down` (as dbmate does). Default false. */
  readonly dumpAfterUp?: boolean;
  /**
   * What `up` saves before a migration that can destroy rows (docs/backups.md). 'auto' (default):
   * the rows at risk, copied to .cairn/backups/, except on remote D1, where the Time Travel
   * bookmark taken before the run is the backup. 'rows': copy the rows on remote D1 too.
   */
  readonly backup?: 'auto' | 'rows';
  /** What `cairn lint` (and the check before `cairn up`) assumes about the target. */
  readonly lint?: LintConfig;
  /** Many databases that take the same migrations (`cairn fleet`): named groups of targets (docs/fleet.md). */
  readonly fleet?: FleetConfig;
  /** `cairn codegen`: where the TypeScript types go (default src/db/schema.ts), and whether `up`/`down` rewrite them (docs/codegen.md). */
  readonly codegen?: { readonly out?: string; readonly afterUp?: boolean };
  /** Named environments, chosen with --env; each may override any field above. */
  readonly environments?: Readonly<Record<string, EnvironmentConfig>>;
}

/** An environment: any top-level field, plus what only an environment can say (docs/environments.md). */
export interface EnvironmentConfig extends Omit<CairnConfig, 'environments'> {
  /** Writes (up, down, baseline, repair) ask for confirmation, or need --yes. */
  readonly protected?: boolean;
  /** Another environment's name: `up` here refuses migrations that have not run there first. */
  readonly follows?: string;
  /** Requested after `up` applied something; a failure exits 5. */
  readonly healthCheck?: string | HealthCheckConfig;
  /** A contract migration (`-- cairn:contract <expand>`) waits this long after its expand was applied here: '24h', '30m', '2d'. */
  readonly contractAfter?: string;
  /** A contract migration waits for `cairn phase confirm <expand version> --env <this>`. */
  readonly confirmContract?: boolean;
}

export interface HealthCheckConfig {
  readonly url: string;
  /** Seconds. Default 10. */
  readonly timeout?: number;
  /** Default: any 2xx status. */
  readonly expectStatus?: number;
}

export interface D1Config {
  /** The `binding` (or `database_name`) of a `d1_databases` entry. */
  readonly binding: string;
  /** Read the binding from wrangler's `[env.<name>]`. Default: the --env name when cairn.config has no such environment, else the top level. */
  readonly env?: string;
  /** The database on Cloudflare (D1's HTTP API, token from CLOUDFLARE_API_TOKEN) instead of the local one. */
  readonly remote?: boolean;
  /** Wrangler's --persist-to for the local database, relative to this file. Default `.wrangler/state`. */
  readonly persistTo?: string;
  /** Path to the wrangler config, relative to this file. Default: wrangler.json, wrangler.jsonc or wrangler.toml here. */
  readonly wranglerConfig?: string;
}

/** `cairn fleet`'s targets, in named groups: `{ tenants: 'tenants/*.db', eu: { url: 'postgres://…/app', schemas: 'tenant_%' } }`. */
export type FleetConfig = Readonly<Record<string, FleetGroup>>;

/**
 * One group of fleet targets: a SQLite glob (`'tenants/*.db'`, relative to
 * this file) or a database URL; a list of those; every schema of one
 * PostgreSQL database whose name matches a LIKE pattern, each with its own
 * history table and run with that `search_path`; or local D1 databases by id
 * (or by a binding / database_name of the project's wrangler config).
 * A URL `d1://<account_id>/<prefix>*` is every D1 database of that account
 * on Cloudflare whose name starts with the prefix (the D1 API's list).
 */
export type FleetGroup =
  | string
  | readonly string[]
  | { readonly url: string; readonly schemas: string }
  | { readonly d1: readonly string[]; readonly persistTo?: string };

export interface LintConfig {
  /** Default: from the database URL (postgres:// → postgres, otherwise sqlite). */
  readonly dialect?: 'postgres' | 'sqlite';
  /** PostgreSQL major version the migrations run on. Default 15. */
  readonly postgresVersion?: number;
  /** SQLite version the migrations run on, e.g. "3.45.0". Default: the SQLite Cairn runs with. */
  readonly sqliteVersion?: string;
  /** Cloudflare D1: turns on the d1-* rules and D1's foreign-key behaviour. */
  readonly d1?: boolean;
  /** Per-rule severity, or 'off'. */
  readonly rules?: Readonly<Record<string, 'error' | 'warning' | 'off'>>;
  /**
   * 'opt-in' (default): header rules check only files that carry a header field
   * (`-- Migration:`, `-- Type:` or `-- Rollback:`, as `cairn new` writes them), so
   * files adopted from dbmate or wrangler stay quiet. 'required': every file.
   */
  readonly header?: 'opt-in' | 'required';
}

/** Identity function that gives cairn.config.ts its types. */
export function defineConfig(config: CairnConfig): CairnConfig {
  return config;
}
