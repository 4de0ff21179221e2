/** What a user writes in cairn.config.ts. Every field is optional. */
export interface CairnConfig {
  /** Database URL: `sqlite:path/to.db` (default `sqlite:cairn.db`) or `postgres://…`. */
  readonly database?: string;
  /** Directory of migration files, relative to the config file. Default `migrations`. */
  readonly migrations?: string;
  /** History table. Default `cairn_migrations`. */
  readonly table?: string;
  /** Seconds to wait for another migration's lock. Default 60. */
  readonly lockTimeout?: number;
  /** Apply pending files numbered below the newest applied one instead of refusing. */
  readonly allowOutOfOrder?: boolean;
  /** What `cairn lint` (and the check before `cairn up`) assumes about the target. */
  readonly lint?: LintConfig;
  /** Named environments, chosen with --env; each may override any field above. */
  readonly environments?: Readonly<Record<string, EnvironmentConfig>>;
}

export type EnvironmentConfig = Omit<CairnConfig, 'environments'>;

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
}

/** Identity function that gives cairn.config.ts its types. */
export function defineConfig(config: CairnConfig): CairnConfig {
  return config;
}
