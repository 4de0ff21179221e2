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
  /** Named environments, chosen with --env; each may override any field above. */
  readonly environments?: Readonly<Record<string, EnvironmentConfig>>;
}

export type EnvironmentConfig = Omit<CairnConfig, 'environments'>;

/** Identity function that gives cairn.config.ts its types. */
export function defineConfig(config: CairnConfig): CairnConfig {
  return config;
}
