import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { fillStatements, type BackupSupport, type RestoreCount, type SavedTable, type TableShape } from '../types.js';
import { quoteIdentifier } from '../../sql/quote.js';

/**
 * Backups as one file per table in COPY's text format, written by
 * `COPY … TO STDOUT` and read back by `COPY … FROM STDIN`. Text rather than
 * binary: every type's text form reads back to the same value, it does not
 * depend on the server version, and a human can look at it or load it with
 * psql's \copy. The session settings that shape the text (date style, float
 * digits, bytea output) are pinned for both directions, and all tables are
 * read in one REPEATABLE READ snapshot.
 */
export const POSTGRES_BACKUP_FORMAT = 'postgres-copy-text';

const SETTINGS = ["SET LOCAL DateStyle = 'ISO, MDY'", "SET LOCAL IntervalStyle = 'postgres'", 'SET LOCAL extra_float_digits = 3', "SET LOCAL bytea_output = 'hex'"];

const q = quoteIdentifier;

interface Resolved {
  readonly oid: number;
  /** "schema"."table", quoted. */
  readonly qualified: string;
  readonly schema: string;
}

export function postgresBackup(client: pg.Client): BackupSupport {
  // `billing.invoices` as the migration wrote it (see tablesAtRisk), or a bare name found through the search_path.
  const resolve = async (table: string): Promise<Resolved | null> => {
    const dot = table.indexOf('.');
    const [schema, name] = dot > 0 ? [table.slice(0, dot), table.slice(dot + 1)] : [null, table];
    const { rows } = await client.query<{ oid: number; schema: string; name: string }>(
      `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = to_regclass(CASE WHEN $1::text IS NULL THEN quote_ident($2) ELSE quote_ident($1) || '.' || quote_ident($2) END) AND c.relkind IN ('r', 'p')`,
      [schema, name],
    );
    const row = rows[0];
    return row ? { oid: row.oid, qualified: `${q(row.schema)}.${q(row.name)}`, schema: row.schema } : null;
  };

  const transaction = async <T>(begin: string, work: () => Promise<T>): Promise<T> => {
    await client.query(begin);
    try {
      for (const setting of SETTINGS) await client.query(setting);
      const result = await work();
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  };

  return {
    format: POSTGRES_BACKUP_FORMAT,

    async describe(table) {
      const resolved = await resolve(table);
      return resolved ? shapeOf(client, resolved.oid) : null;
    },

    async count(table) {
      const resolved = await resolve(table);
      if (!resolved) return null;
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${resolved.qualified}`);
      return Number(rows[0]!.n);
    },

    save: (tables, dir) =>
      transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async () => {
        const saved: SavedTable[] = [];
        for (const [index, table] of tables.entries()) {
          const resolved = await resolve(table);
          if (!resolved) throw new Error(`table ${table} does not exist`);
          const shape = await shapeOf(client, resolved.oid);
          const file = `${String(index + 1).padStart(2, '0')}_${table.replace(/[^A-Za-z0-9_-]/g, '_')}.copy`;
          const stream = client.query(copyTo(`COPY ${resolved.qualified} (${shape.columns.map((c) => q(c.name)).join(', ')}) TO STDOUT`));
          await pipeline(stream, createWriteStream(join(dir, file), { flags: 'wx' }));
          saved.push({ table, rows: stream.rowCount, ...shape, definition: await definitionOf(client, resolved), file });
        }
        return saved;
      }),

    restore: (dir, requests) =>
      transaction('BEGIN', async () => {
        const counts: RestoreCount[] = [];
        for (const { saved, action } of requests) {
          const columns = saved.columns.map((c) => q(c.name)).join(', ');
          const load = async (target: string): Promise<number> => {
            const stream = client.query(copyFrom(`COPY ${target} (${columns}) FROM STDIN`));
            await pipeline(createReadStream(join(dir, saved.file)), stream);
            return stream.rowCount;
          };
          if (action.kind === 'recreate') {
            for (const statement of saved.definition) await client.query(statement);
            const resolved = (await resolve(saved.table))!;
            counts.push({ inserted: await load(resolved.qualified), filled: {} });
            await resetIdentities(client, resolved);
          } else if (action.kind === 'side-table') {
            const schema = (await resolve(saved.table))?.schema ?? 'public';
            const target = `${q(schema)}.${q(action.into)}`;
            await client.query(`CREATE TABLE ${target} (${saved.columns.map((c) => `${q(c.name)} ${c.type}`).join(', ')})`);
            counts.push({ inserted: await load(target), filled: {} });
          } else {
            // COPY cannot skip conflicting rows: load into a scratch copy, then insert what is missing.
            const resolved = (await resolve(saved.table))!;
            await client.query(`CREATE TEMP TABLE cairn_restore ON COMMIT DROP AS SELECT ${columns} FROM ${resolved.qualified} WITH NO DATA`);
            await load('cairn_restore');
            const result = await client.query(`INSERT INTO ${resolved.qualified} (${columns}) OVERRIDING SYSTEM VALUE SELECT ${columns} FROM cairn_restore ON CONFLICT DO NOTHING`);
            const filled: Record<string, number> = {};
            for (const { column, sql } of fillStatements(resolved.qualified, 'cairn_restore', action, q)) filled[column] = (await client.query(sql)).rowCount ?? 0;
            await client.query('DROP TABLE cairn_restore');
            // Rows inserted with their saved ids: the sequences continue after the highest one.
            await resetIdentities(client, resolved);
            counts.push({ inserted: result.rowCount ?? 0, filled });
          }
        }
        return counts;
      }),
  };
}

/** Stored columns in order (generated ones are computed again), and the primary key or else a unique key. */
async function shapeOf(client: pg.Client, oid: number): Promise<TableShape> {
  const { rows: columns } = await client.query<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`,
    [oid],
  );
  const { rows: keys } = await client.query<{ key: string[] }>(
    `SELECT array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, n) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.n) AS key
       FROM pg_index i WHERE i.indrelid = $1 AND i.indisunique AND i.indexprs IS NULL AND i.indpred IS NULL
      ORDER BY i.indisprimary DESC, i.indexrelid LIMIT 1`,
    [oid],
  );
  return { columns, key: keys[0]?.key ?? [] };
}

interface ColumnDefinition {
  name: string;
  type: string;
  not_null: boolean;
  default: string | null;
  identity: string;
  generated: string;
}

/**
 * CREATE TABLE with columns (types, NOT NULL, defaults, identity, generated
 * expressions), its primary key, unique, check and exclusion constraints,
 * then its other indexes. Not foreign keys: the tables they point to may be
 * gone too (restore says so). A serial's sequence is dropped with its table,
 * so a nextval() default comes back as an identity column.
 */
async function definitionOf(client: pg.Client, table: Resolved): Promise<string[]> {
  const { rows: columns } = await client.query<ColumnDefinition>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default,
            a.attidentity AS identity, a.attgenerated AS generated
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [table.oid],
  );
  const { rows: constraints } = await client.query<{ name: string; definition: string }>(
    `SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conrelid = $1 AND contype IN ('p', 'u', 'c', 'x') ORDER BY contype = 'p' DESC, conname`,
    [table.oid],
  );
  const { rows: indexes } = await client.query<{ definition: string }>(
    `SELECT pg_get_indexdef(i.indexrelid) AS definition FROM pg_index i
      WHERE i.indrelid = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY i.indexrelid`,
    [table.oid],
  );
  const columnText = columns.map((c) => {
    const serial = c.default?.startsWith('nextval(') ?? false;
    const value =
      c.generated === 's' ? ` GENERATED ALWAYS AS (${c.default}) STORED` : c.identity || serial ? ` GENERATED ${c.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY` : c.default ? ` DEFAULT ${c.default}` : '';
    return `${q(c.name)} ${c.type}${value}${c.not_null ? ' NOT NULL' : ''}`;
  });
  const body = [...columnText, ...constraints.map((c) => `CONSTRAINT ${q(c.name)} ${c.definition}`)].join(',\n  ');
  return [`CREATE TABLE ${table.qualified} (\n  ${body}\n)`, ...indexes.map((i) => i.definition)];
}

/** After loading rows with their saved ids, identity and serial columns continue after the highest one (never backwards). */
async function resetIdentities(client: pg.Client, table: Resolved): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT attname AS name FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND pg_get_serial_sequence($2, attname) IS NOT NULL`,
    [table.oid, table.qualified],
  );
  for (const { name } of rows) {
    await client.query(
      `SELECT setval(pg_get_serial_sequence($1, $2), greatest(max(${q(name)}), pg_sequence_last_value(pg_get_serial_sequence($1, $2)::regclass))) FROM ${table.qualified} HAVING max(${q(name)}) IS NOT NULL`,
      [table.qualified, name],
    );
  }
}
