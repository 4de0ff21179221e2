import { BACKUP_DATA_FILE, createBackupFile, readBackupFile, splitTriggers, SQLITE_BACKUP_FORMAT, type BackupRowsSink } from '../sqlite/backup.js';
import { fillStatements, type BackupSupport, type RestoreAction, type SavedTable, type SqlCommand, type TableShape } from '../types.js';
import type { Row } from './transport.js';
import { BigValue, decode, encode, insertStatements, literal } from './codec.js';
import { quoteIdentifier } from '../../sql/quote.js';
import { BACKUP_CATALOG, columnsOf, plainKey, type ColumnInfo } from '../sqlite/catalog.js';

/**
 * Backups on D1, in the SQLite driver's format (`data.sqlite`, one untyped
 * table per saved table), so `cairn backups` and `cairn restore` treat them
 * alike, and a D1 backup opens in any `sqlite3` shell.
 *
 * D1 answers in JSON, which loses what SQLite keeps: integers beyond 2^53
 * come back rounded, blobs as arrays of numbers, an infinite real as null.
 * So every value is read through `encode()`, which says its storage class and
 * carries integers and blobs as text; reals stay JSON numbers, which D1 writes
 * exactly (V8's shortest round-trip form). D1 refuses any string over 2 MB,
 * a 1 MB blob's hex included, so long values are read apart in pieces. Going
 * back, integers and blobs are SQL literals, reals and text bound
 * parameters: D1's SQLite reads decimal
 * literals inexactly (about one random double in eight came back one unit in
 * the last place off, measured on miniflare 4), bound numbers exactly.
 *
 * Reading pages by rowid (keyset) or, for WITHOUT ROWID tables, by primary
 * key (LIMIT/OFFSET), each page capped in rows and in bytes. D1 has no read
 * transaction across requests; the first request reads the first page of
 * every table and their row counts in one batch (one transaction), so tables
 * that fit in it are one consistent snapshot. Bigger ones take more requests.
 *
 * Restoring stages the rows in `_cairn_restore_<n>` tables over as many
 * batches as they need, then puts them in place in one final batch, which
 * D1 commits whole or not at all.
 */
export interface D1BatchRunner {
  batch(statements: readonly SqlCommand[]): Promise<Row[][]>;
  /** The migration lock's refresh, ridden along every batch while a long backup or restore runs (null: no lock held). */
  heartbeat(): SqlCommand | null;
}

/** D1 refuses a result with more than 100 columns. */
const MAX_COLUMNS = 100;
/** A page: at most this many rows, and stops after the row that passes this many bytes of values (measured: 10,000 plain rows, 1.6 MB of JSON, 0.1 s on a local D1). */
const PAGE_ROWS = 10_000;
const PAGE_BYTES = 4 << 20;
/** What one restore batch may carry: statements and characters of SQL and parameters. */
const BATCH_STATEMENTS = 200;
const BATCH_CHARS = 4 << 20;
const STAGING_PREFIX = '_cairn_restore_';
/** A big value (codec.ts: over D1's 2 MB string limit as JSON or hex) is read in pieces of this many bytes. */
const BIG_PIECE = 450_000;

const q = quoteIdentifier;

export function d1Backup(runner: D1BatchRunner): BackupSupport {
  const run = async (statements: readonly SqlCommand[]): Promise<Row[][]> => {
    const heartbeat = runner.heartbeat();
    const results = await runner.batch(heartbeat ? [...statements, heartbeat] : statements);
    return results.slice(0, statements.length);
  };
  const query = async (sql: string, params: readonly unknown[] = []) => (await runner.batch([{ sql, params }]))[0] ?? [];

  return {
    format: SQLITE_BACKUP_FORMAT,

    async describe(table) {
      return (await exists(query, table)) ? shapeOf(query, table) : null;
    },

    async count(table) {
      return (await exists(query, table)) ? Number((await query(`SELECT count(*) AS n FROM main.${q(table)}`))[0]?.n) : null;
    },

    async save(tables, dir) {
      const plans = await Promise.all(tables.map((table) => planRead(query, table)));
      const file = await createBackupFile(dir);
      try {
        const sinks = plans.map((plan) => file.table(plan.table, plan.shape.columns.map((c) => c.name)));
        // One batch, one D1 transaction: every table's row count and first page.
        const budget = Math.max(PAGE_BYTES / plans.length, 1 << 16);
        const first = await run(plans.flatMap((plan) => [{ sql: `SELECT count(*) AS n FROM main.${q(plan.table)}` }, pageQuery(plan, null, budget)]));
        const saved: SavedTable[] = [];
        for (const [i, plan] of plans.entries()) {
          const counted = Number(first[2 * i]?.[0]?.n);
          let page = first[2 * i + 1] ?? [];
          let rows = await take(run, plan, page, 0, sinks[i]!);
          // All rows in the first page: they were read with the others, in one transaction. Otherwise page on.
          let cursor = rows === counted ? null : next(plan, page, rows);
          while (cursor !== null) {
            page = (await run([pageQuery(plan, cursor, PAGE_BYTES)]))[0] ?? [];
            if (page.length === 0) break;
            rows += await take(run, plan, page, rows, sinks[i]!);
            cursor = next(plan, page, rows);
          }
          saved.push({ table: plan.table, rows, ...plan.shape, definition: plan.definition, file: BACKUP_DATA_FILE });
        }
        return saved;
      } finally {
        file.close();
      }
    },

    async restore(dir, requests) {
      if (requests.length === 0) return [];
      const staging = requests.map((_, i) => `${STAGING_PREFIX}${i + 1}`);
      const dropStaging = () => staging.map((name) => ({ sql: `DROP TABLE IF EXISTS main.${q(name)}` }));
      try {
        // Left over from a restore that was killed half-way: ours by name, never the user's data.
        await run([...dropStaging(), ...requests.map(({ saved }, i) => ({ sql: `CREATE TABLE main.${q(staging[i]!)} (${saved.columns.map((c) => q(c.name)).join(', ')})` }))]);
        const batcher = new Batcher(run);
        for (const [i, { saved }] of requests.entries()) {
          const names = saved.columns.map((c) => c.name);
          for await (const rows of readBackupFile(dir, saved.table, names, 1000)) await batcher.add(insertStatements(staging[i]!, names, rows));
        }
        await batcher.flush();
        // The one atomic step: create or fill every table from its staging copy, count, drop the copies.
        const final: SqlCommand[] = [];
        const counts = requests.map(({ saved, action }, i) => {
          const { rows, after } = placeRows(saved, action, staging[i]!);
          const at = final.push(...rows, { sql: 'SELECT changes() AS n' }) - 1;
          const fills = (action.kind === 'missing-rows' ? fillStatements(`main.${q(saved.table)}`, `main.${q(staging[i]!)}`, action, q) : []).map(({ column, sql }) => ({ column, at: final.push({ sql }, { sql: 'SELECT changes() AS n' }) - 1 }));
          final.push(...after);
          return { at, fills };
        });
        const results = await run([...final, ...dropStaging()]);
        const count = (at: number) => Number(results[at]?.[0]?.n ?? 0);
        return counts.map(({ at, fills }) => ({ inserted: count(at), filled: Object.fromEntries(fills.map((fill) => [fill.column, count(fill.at)])) }));
      } catch (error) {
        await run(dropStaging()).catch(() => undefined);
        throw error;
      }
    },
  };
}

type Query = (sql: string, params?: readonly unknown[]) => Promise<Row[]>;
type Run = (statements: readonly SqlCommand[]) => Promise<Row[][]>;

/** How one table is read: its shape and definition, and how its pages are ordered. */
interface ReadPlan {
  readonly table: string;
  readonly shape: TableShape;
  readonly definition: string[];
  /** Keyset paging over this rowid alias; null: LIMIT/OFFSET in `order`. */
  readonly rowid: string | null;
  readonly order: string;
  /** Identifies one row for reading a big value in pieces: its rowid, else its primary key (WITHOUT ROWID), else its position. */
  readonly alias: string | null;
  readonly primary: readonly string[];
  /** Room in D1's 100 result columns for the running byte count. */
  readonly byteWindow: boolean;
}

async function planRead(query: Query, table: string): Promise<ReadPlan> {
  const shape = await shapeOf(query, table);
  const all = (await query('SELECT name, pk FROM pragma_table_xinfo(?)', [table])) as { name: string; pk: number }[];
  const withoutRowid = Number((await query("SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?", [table]))[0]?.wr ?? 0) === 1;
  const names = new Set(all.map((c) => c.name.toLowerCase()));
  // A column may take rowid's name; SQLite then offers the next alias. WITHOUT ROWID tables have none.
  const alias = withoutRowid ? null : (['rowid', '_rowid_', 'oid'].find((name) => !names.has(name)) ?? null);
  const rowid = alias !== null && shape.columns.length + 2 <= MAX_COLUMNS ? alias : null;
  const primary = all.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => q(c.name));
  const order = rowid ?? alias ?? (primary.length > 0 ? primary.join(', ') : shape.columns.map((c) => q(c.name)).join(', '));
  const byteWindow = shape.columns.length + (rowid ? 2 : 1) <= MAX_COLUMNS;
  return { table, shape, definition: await definitionOf(query, table), rowid, order, alias, primary: withoutRowid ? all.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name) : [], byteWindow };
}

/**
 * One page: each value encoded (see `encode`), with the rowid for keyset
 * paging and the bytes of the rows before each row, so the page ends after
 * the row that passes `bytes` (always at least one row).
 */
function pageQuery(plan: ReadPlan, cursor: Cursor | null, bytes: number): SqlCommand {
  const columns = plan.shape.columns.map((c, i) => `${encode(q(c.name))} AS v${i}`);
  if (plan.rowid) columns.unshift(`CAST(${plan.rowid} AS TEXT) AS _k`); // as text: JSON would round a rowid beyond 2^53
  if (plan.byteWindow) {
    const size = balancedSum(plan.shape.columns.map((c) => `ifnull(length(CAST(${q(c.name)} AS BLOB)), 0)`));
    columns.push(`sum(${size}) OVER (ORDER BY ${plan.order} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS _b`);
  }
  const where = plan.rowid && cursor?.kind === 'key' ? ` WHERE ${plan.rowid} > ${cursor.after}` : '';
  const offset = cursor?.kind === 'offset' ? ` OFFSET ${cursor.offset}` : '';
  const inner = `SELECT ${columns.join(', ')} FROM main.${q(plan.table)}${where} ORDER BY ${plan.order} LIMIT ${PAGE_ROWS}${offset}`;
  return { sql: plan.byteWindow ? `SELECT * FROM (${inner}) WHERE ifnull(_b, 0) < ${Math.floor(bytes)}` : inner };
}

type Cursor = { readonly kind: 'key'; readonly after: bigint } | { readonly kind: 'offset'; readonly offset: number };

/** Where the page after `page` starts; null when `page` was the last. */
function next(plan: ReadPlan, page: readonly Row[], taken: number): Cursor | null {
  if (page.length === 0) return null;
  if (!plan.rowid) return { kind: 'offset', offset: taken };
  const keys = page.map((row) => BigInt(String(row._k)));
  return { kind: 'key', after: keys.reduce((max, key) => (key > max ? key : max)) };
}

/** Decodes a page (`start`: rows before it), fetches its big values, appends it to the backup file; returns its row count. */
async function take(run: Run, plan: ReadPlan, page: readonly Row[], start: number, sink: BackupRowsSink): Promise<number> {
  const rows = page.map((row) => plan.shape.columns.map((_, i) => decode(row[`v${i}`])));
  for (const [r, row] of rows.entries()) {
    for (const [c, value] of row.entries()) if (value instanceof BigValue) row[c] = await readBig(run, plan, page[r]!, row, start + r, c, value.kind);
  }
  sink(rows);
  return page.length;
}

/** A big value in pieces of BIG_PIECE bytes, each as hex, until a short piece says it is complete. */
async function readBig(run: Run, plan: ReadPlan, raw: Row, row: readonly unknown[], position: number, column: number, kind: 'text' | 'blob'): Promise<string | Buffer> {
  const params: unknown[] = [];
  let where: string;
  if (plan.rowid) where = `WHERE ${plan.rowid} = ${BigInt(String(raw._k))}`;
  else if (plan.primary.length > 0) where = `WHERE ${plan.primary.map((name) => `${q(name)} = ${literal(row[plan.shape.columns.findIndex((c) => c.name === name)], params)}`).join(' AND ')}`;
  else where = `ORDER BY ${plan.order} LIMIT 1 OFFSET ${position}`;
  const value = `CAST(${q(plan.shape.columns[column]!.name)} AS BLOB)`;
  const pieces: Buffer[] = [];
  for (let at = 1; ; at += 4 * BIG_PIECE) {
    const statements = [0, 1, 2, 3].map((n) => ({ sql: `SELECT hex(substr(${value}, ${at + n * BIG_PIECE}, ${BIG_PIECE})) AS h FROM main.${q(plan.table)} ${where}`, params }));
    const parts = (await run(statements)).map((result) => Buffer.from(String(result[0]?.h ?? ''), 'hex'));
    pieces.push(...parts);
    if (parts.some((part) => part.length < BIG_PIECE)) break;
  }
  const bytes = Buffer.concat(pieces);
  return kind === 'blob' ? bytes : bytes.toString('utf8');
}

/** a + b + c as a balanced tree: D1 refuses expressions nested more than 100 deep, and a table may have 100 columns. */
function balancedSum(terms: readonly string[]): string {
  if (terms.length <= 1) return terms[0] ?? '0';
  const middle = Math.ceil(terms.length / 2);
  return `(${balancedSum(terms.slice(0, middle))} + ${balancedSum(terms.slice(middle))})`;
}

/** Sends statements in batches of bounded size, in order. */
class Batcher {
  private pending: SqlCommand[] = [];
  private chars = 0;
  constructor(private readonly run: (statements: readonly SqlCommand[]) => Promise<Row[][]>) {}

  async add(statements: readonly SqlCommand[]): Promise<void> {
    for (const statement of statements) {
      const size = statement.sql.length + JSON.stringify(statement.params ?? []).length;
      if (this.pending.length >= BATCH_STATEMENTS || (this.pending.length > 0 && this.chars + size > BATCH_CHARS)) await this.flush();
      this.pending.push(statement);
      this.chars += size;
    }
  }

  async flush(): Promise<void> {
    if (this.pending.length > 0) await this.run(this.pending);
    this.pending = [];
    this.chars = 0;
  }
}

/**
 * The statements that put the staged rows of one table in place (as the SQLite
 * driver does from its attached file), ending with the INSERT; `after`: a
 * recreated table's triggers, created once its rows are back.
 */
function placeRows(saved: SavedTable, action: RestoreAction, staging: string): { rows: SqlCommand[]; after: SqlCommand[] } {
  const columns = saved.columns.map((c) => q(c.name)).join(', ');
  const from = `SELECT ${columns} FROM main.${q(staging)}`;
  switch (action.kind) {
    case 'recreate': {
      const { schema, triggers } = splitTriggers(saved.definition);
      return { rows: [...schema.map((sql) => ({ sql })), { sql: `INSERT INTO main.${q(saved.table)} (${columns}) ${from}` }], after: triggers.map((sql) => ({ sql })) };
    }
    case 'side-table':
      return {
        rows: [
          { sql: `CREATE TABLE main.${q(action.into)} (${saved.columns.map((c) => `${q(c.name)}${c.type ? ` ${c.type}` : ''}`).join(', ')})` },
          { sql: `INSERT INTO main.${q(action.into)} (${columns}) ${from}` },
        ],
        after: [],
      };
    case 'missing-rows':
      // (WHERE true: SQLite's parser needs it before ON CONFLICT after a SELECT)
      return { rows: [{ sql: `INSERT INTO main.${q(saved.table)} (${columns}) ${from} WHERE true ON CONFLICT DO NOTHING` }], after: [] };
  }
}

// The same catalog reads as the SQLite driver's (sqlite/catalog.ts), over D1's API.
async function exists(query: Query, table: string): Promise<boolean> {
  return (await query(BACKUP_CATALOG.exists, [table])).length > 0;
}

async function shapeOf(query: Query, table: string): Promise<TableShape> {
  const { columns, primary } = columnsOf((await query(BACKUP_CATALOG.columns, [table])) as unknown as ColumnInfo[]);
  return { columns, key: primary.length > 0 ? primary : await uniqueKey(query, table) };
}

/** The columns of the first unique index on plain columns (no expressions, not partial). */
async function uniqueKey(query: Query, table: string): Promise<string[]> {
  for (const { name } of (await query(BACKUP_CATALOG.uniqueIndexes, [table])) as { name: string }[]) {
    const key = plainKey((await query(BACKUP_CATALOG.indexColumns, [name])) as { cid: number; name: string | null }[]);
    if (key) return key;
  }
  return [];
}

async function definitionOf(query: Query, table: string): Promise<string[]> {
  return (await query(BACKUP_CATALOG.definition, [table])).map((r) => String(r.sql));
}
