/** What a plan needs to know about the table it changes (read from the database). */
export interface TableFacts {
  /** The SQL the files are written in: PostgreSQL's, or SQLite's (D1 included). */
  readonly dialect: 'postgres' | 'sqlite';
  readonly table: string;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** Primary (or unique) key columns; empty when the table has none. */
  readonly key: readonly string[];
  /** Each column's DEFAULT as SQL text, by column name; absent or null: none. */
  readonly defaults: Readonly<Record<string, string | null>>;
  /** The table's indexes that no constraint owns, with the SQL that creates them. */
  readonly indexes: readonly { readonly name: string; readonly sql: string }[];
  /**
   * SQLite: default expressions the plan adds a column with, each with its value as a literal
   * (ALTER TABLE ADD COLUMN takes no expression once the table has rows). Read from the database.
   */
  readonly literals?: Readonly<Record<string, string>>;
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
  /** `-- cairn:…` lines for the header (`cairn:no-transaction`), without the `-- `. */
  readonly directives?: readonly string[];
  readonly up: string;
  readonly down: string;
}
