/**
 * What a TypeScript migration's `up(ctx)` and `down(ctx)` get. Every value in
 * `ctx.sql` is a bound parameter, never spliced into the SQL text.
 *
 *   export async function up(ctx: MigrationContext) {
 *     await ctx.sql`UPDATE users SET plan = ${'free'} WHERE plan IS NULL`;
 *     await ctx.batch('users', { size: 500, where: 'slug IS NULL' }, async (rows) => {
 *       for (const row of rows) await ctx.sql`UPDATE users SET slug = ${slugify(row.name)} WHERE id = ${row.id}`;
 *     });
 *   }
 */
export interface MigrationContext {
  /** Runs one statement on the migration's database; rows for a query, [] for a write. */
  sql<Row = Record<string, unknown>>(strings: TemplateStringsArray, ...values: unknown[]): Promise<Row[]>;
  /** The same with SQL text of your own (an identifier you computed) and optional parameters in the engine's placeholders. */
  raw<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** A line in `cairn up`'s output (and an event for the library's onEvent). */
  log(message: string): void;
  /**
   * Walks `table` by its primary key (SQLite's rowid when it has none), `size`
   * rows at a time, the rows matching `where` (an SQL condition, re-evaluated
   * for each batch). `work` runs once per batch; its `ctx.sql` writes commit
   * together with a checkpoint of the last key done, so a killed run resumes
   * after the last committed batch (on D1 they are queued and sent with the
   * checkpoint as one batch, and return no rows).
   */
  batch<Row = Record<string, unknown>>(table: string, options: BatchOptions, work: (rows: Row[]) => Promise<void>): Promise<void>;
  /** Which way it runs. */
  readonly direction: 'up' | 'down';
}

export interface BatchOptions {
  /** Rows per batch (default 1000; with `targetMs`, of the first batch). */
  readonly size?: number;
  /** How long a batch (your `work` and its commit) should take, in ms: the size grows or shrinks toward it after each batch. */
  readonly targetMs?: number;
  /** Which rows to hand to `work`: an SQL condition on the table (default: all). */
  readonly where?: string;
  /** Sleep between batches, in ms (default 0). */
  readonly pauseMs?: number;
}

/** `sql\`… ${a} … ${b}\`` as SQL text with the engine's placeholders and its parameters. */
export function tagged(strings: TemplateStringsArray, values: readonly unknown[], param: (n: number) => string): { sql: string; params: unknown[] } {
  let sql = strings[0]!;
  for (let i = 0; i < values.length; i++) sql += param(i + 1) + strings[i + 1]!;
  return { sql, params: [...values] };
}
