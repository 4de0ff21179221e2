/** What a plan needs to know about the table it changes (read from the database). */
export interface TableFacts {
  /** The SQL the files are written in: PostgreSQL's, or SQLite's (D1 included). */
  readonly dialect: 'postgres' | 'sqlite';
  readonly table: string;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** Primary (or unique) key columns; empty when the table has none. */
  readonly key: readonly string[];
  readonly q: (name: string) => string;
}

/** One migration file of a planned change. */
export interface PhaseFile {
  readonly phase: 'expand' | 'backfill' | 'contract';
  /** File name after the version: `expand_users_name_to_display_name`. */
  readonly name: string;
  readonly type: 'additive' | 'transformative' | 'destructive';
  readonly title: string;
  readonly rollback: string;
  /** `rename-column users.name display_name`: the same in every file of the change. */
  readonly change: string;
  readonly up: string;
  readonly down: string;
}
