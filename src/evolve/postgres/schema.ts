import { readingAsPublic, type PgQueryable } from '../../drivers/postgres/introspect.js';
import type { Driver } from '../../drivers/types.js';

/**
 * A PostgreSQL schema as `cairn diff` plans from it, read from a real
 * database (a scratch one: the migrations replayed, or schema.sql loaded) by
 * catalog queries, one per kind of object whatever the number of tables.
 * Definitions are the server's own (pg_get_constraintdef, pg_get_indexdef,
 * pg_get_viewdef, pg_get_triggerdef, pg_get_functiondef) read with
 * search_path = public, so two databases print the same object the same way.
 *
 * Keys (`name`) are as Cairn prints them: bare in `public`, `schema.name`
 * elsewhere; `sql` is the same name quoted for SQL.
 */
export interface PgColumn {
  readonly name: string;
  /** quote_ident(name). */
  readonly sql: string;
  /** format_type: `character varying(20)`, `integer[]`, `public.mood` → `mood`. */
  readonly type: string;
  /** `"C"`, or null for the type's default collation. */
  readonly collation: string | null;
  readonly notNull: boolean;
  readonly default: string | null;
  /** '' none, 'a' always, 'd' by default. */
  readonly identity: string;
  /** 's' stored generated (`default` is then the expression), '' not generated. */
  readonly generated: string;
  /** A serial column: its default reads a sequence the column owns (not a standalone one). */
  readonly ownsSequence?: boolean;
}

export interface PgConstraint {
  readonly name: string;
  /** p primary key, u unique, f foreign key, c check, x exclusion. */
  readonly type: 'p' | 'u' | 'f' | 'c' | 'x';
  /** pg_get_constraintdef without a trailing NOT VALID. */
  readonly def: string;
  readonly validated: boolean;
  readonly columns: readonly string[];
  /** Foreign keys: the table they reference (as a key). */
  readonly references: string | null;
  /** Primary and unique keys: pg_get_indexdef of the index behind them. */
  readonly index: string | null;
}

export interface PgTable {
  readonly name: string;
  readonly sql: string;
  readonly columns: readonly PgColumn[];
  readonly constraints: readonly PgConstraint[];
  /** Anything about the table this planner does not write (partitioning, inheritance, storage options, RLS): compared as a whole. */
  readonly extra: string;
  /** The table's file node: a change that rewrites the table changes it. */
  readonly filenode: string;
}

export interface PgIndex {
  readonly name: string;
  readonly sql: string;
  readonly table: string;
  /** pg_get_indexdef. */
  readonly def: string;
  /** Columns the index reads (key and expression columns, from pg_depend). */
  readonly columns: readonly string[];
}

export interface PgView {
  readonly name: string;
  readonly sql: string;
  readonly materialized: boolean;
  readonly def: string;
  /** Tables and views it reads, as keys. */
  readonly reads: readonly string[];
}

export interface PgTrigger {
  readonly name: string;
  readonly table: string;
  readonly def: string;
}

export interface PgFunction {
  /** `touch()`, `app.score(integer)`. */
  readonly name: string;
  /** The identity to DROP: `public.touch()`. */
  readonly sql: string;
  readonly def: string;
}

export interface PgEnum {
  readonly name: string;
  readonly sql: string;
  readonly labels: readonly string[];
}

/** A domain: a base type with a default, NOT NULL and CHECK constraints of its own. */
export interface PgDomain {
  readonly name: string;
  readonly sql: string;
  /** format_type of the base type: `text`, `numeric(10,2)`, `mood` (another user type). */
  readonly base: string;
  /** `"C"`, or null for the base type's collation. */
  readonly collation: string | null;
  readonly notNull: boolean;
  /** The default as PostgreSQL prints it, or null. */
  readonly default: string | null;
  /** CHECK constraints: `def` is pg_get_constraintdef without a trailing NOT VALID. */
  readonly constraints: readonly { readonly name: string; readonly def: string; readonly validated: boolean }[];
}

/** An extension: `CREATE EXTENSION IF NOT EXISTS name SCHEMA schema`. */
export interface PgExtension {
  readonly name: string;
  /** quote_ident of the schema it lives in. */
  readonly schema: string;
}

/** A sequence no column owns (serial and identity sequences come with their columns). */
export interface PgSequence {
  readonly name: string;
  readonly sql: string;
  /** Its options as CREATE / ALTER SEQUENCE take them: `AS bigint INCREMENT BY 1 MINVALUE 1 MAXVALUE … START WITH 1 CACHE 1 NO CYCLE`. */
  readonly def: string;
}

/** Changes whenever PgSchema or its reading does: part of the key of the readings `cairn diff` keeps (desired-cache.ts), as Cairn's version is. */
export const PG_SCHEMA_FORMAT = 2;

export interface PgSchema {
  /** User schemas other than public. */
  readonly schemas: readonly string[];
  readonly extensions: ReadonlyMap<string, PgExtension>;
  readonly sequences: ReadonlyMap<string, PgSequence>;
  readonly enums: ReadonlyMap<string, PgEnum>;
  readonly domains: ReadonlyMap<string, PgDomain>;
  readonly tables: ReadonlyMap<string, PgTable>;
  readonly indexes: ReadonlyMap<string, PgIndex>;
  readonly views: ReadonlyMap<string, PgView>;
  /** Keyed `table trigger`. */
  readonly triggers: ReadonlyMap<string, PgTrigger>;
  readonly functions: ReadonlyMap<string, PgFunction>;
}

const USER = (column: string) => `(${column} <> 'information_schema' AND ${column} !~ '^pg_')`;
const NOT_EXTENSION = (catalog: string, oid: string) => `NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '${catalog}'::regclass AND e.objid = ${oid} AND e.deptype = 'e')`;
const KEY = (schema: string, name: string) => `CASE WHEN ${schema} = 'public' THEN ${name} ELSE ${schema} || '.' || ${name} END`;
const SQL = (schema: string, name: string) => `CASE WHEN ${schema} = 'public' THEN quote_ident(${name}) ELSE quote_ident(${schema}) || '.' || quote_ident(${name}) END`;

/** The schema of the database `driver` is connected to; `exclude` are Cairn's own tables. */
export async function readPgSchema(driver: Driver, exclude: readonly string[]): Promise<PgSchema> {
  const client: PgQueryable = { query: async <Row>(text: string, params?: unknown[]) => ({ rows: await driver.query<Row>({ sql: text, params: params ?? [] }) }) };
  return readingAsPublic(client, exclude, async (excluded) => read(client, [...excluded]));
}

async function read(client: PgQueryable, excluded: readonly string[]): Promise<PgSchema> {
  const rows = async <Row>(sql: string) => (await client.query<Row>(sql, [excluded])).rows;
  const tableFilter = `c.relkind IN ('r', 'p') AND NOT c.relispartition AND ${USER('n.nspname')} AND ${NOT_EXTENSION('pg_class', 'c.oid')} AND NOT (c.oid::text = ANY($1::text[]))`;

  const schemas = await rows<{ name: string }>(`SELECT nspname AS name FROM pg_namespace n WHERE ${USER('n.nspname')} AND nspname <> 'public' AND ${NOT_EXTENSION('pg_namespace', 'n.oid')} AND $1::text[] IS NOT NULL ORDER BY 1`);

  const tables = await rows<{ oid: string; name: string; sql: string; extra: string; filenode: string; columns: PgColumn[] }>(
    `SELECT c.oid::text AS oid, ${KEY('n.nspname', 'c.relname')} AS name, ${SQL('n.nspname', 'c.relname')} AS sql, pg_relation_filenode(c.oid)::text AS filenode,
            concat_ws(' ', c.relkind, c.relpersistence, pg_get_partkeydef(c.oid), c.reloptions::text, c.relrowsecurity, c.relforcerowsecurity,
                      (SELECT string_agg(i.inhparent::regclass::text, ',' ORDER BY i.inhseqno) FROM pg_inherits i WHERE i.inhrelid = c.oid)) AS extra,
            coalesce((SELECT json_agg(json_build_object(
                'name', a.attname, 'sql', quote_ident(a.attname), 'type', format_type(a.atttypid, a.atttypmod),
                'collation', CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN
                  (SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname) ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
                     FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END,
                'notNull', a.attnotnull, 'default', pg_get_expr(d.adbin, d.adrelid), 'identity', a.attidentity, 'generated', a.attgenerated,
                'ownsSequence', EXISTS (SELECT 1 FROM pg_depend o WHERE o.classid = 'pg_class'::regclass AND o.refclassid = 'pg_class'::regclass AND o.refobjid = c.oid AND o.refobjsubid = a.attnum AND o.deptype = 'a')) ORDER BY a.attnum)
               FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${tableFilter}`,
  );
  const constraints = await rows<{ table: string; name: string; type: PgConstraint['type']; def: string; validated: boolean; columns: string[]; references: string | null; index: string | null }>(
    `SELECT k.conrelid::text AS "table", k.conname AS name, k.contype AS type, pg_get_constraintdef(k.oid) AS def, k.convalidated AS validated,
            ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS u(num, pos) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num ORDER BY u.pos)::text[] AS columns,
            CASE WHEN k.contype = 'f' THEN (SELECT ${KEY('rn.nspname', 'rc.relname')} FROM pg_class rc JOIN pg_namespace rn ON rn.oid = rc.relnamespace WHERE rc.oid = k.confrelid) END AS "references",
            CASE WHEN k.contype IN ('p', 'u') THEN pg_get_indexdef(k.conindid) END AS index
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${tableFilter} AND k.contype IN ('p', 'u', 'f', 'c', 'x') AND k.conparentid = 0
      ORDER BY k.conrelid, k.conname`,
  );
  const indexes = await rows<{ name: string; sql: string; table: string; def: string; columns: string[] }>(
    `SELECT ${KEY('xn.nspname', 'x.relname')} AS name, ${SQL('xn.nspname', 'x.relname')} AS sql, ${KEY('n.nspname', 'c.relname')} AS "table", pg_get_indexdef(i.indexrelid) AS def,
            ARRAY(SELECT DISTINCT a.attname FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                   WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid AND d.refobjid = c.oid AND d.refobjsubid > 0
                  UNION SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = ANY(i.indkey))::text[] AS columns
       FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_namespace xn ON xn.oid = x.relnamespace
       JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${tableFilter} AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))`,
  );
  const views = await rows<{ name: string; sql: string; materialized: boolean; def: string; reads: string[] }>(
    `SELECT ${KEY('n.nspname', 'c.relname')} AS name, ${SQL('n.nspname', 'c.relname')} AS sql, c.relkind = 'm' AS materialized, pg_get_viewdef(c.oid, true) AS def,
            ARRAY(SELECT DISTINCT ${KEY('rn.nspname', 'rc.relname')} FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
                    JOIN pg_class rc ON rc.oid = d.refobjid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                   WHERE r.ev_class = c.oid AND d.refobjid <> c.oid)::text[] AS reads
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('v', 'm') AND ${USER('n.nspname')} AND ${NOT_EXTENSION('pg_class', 'c.oid')} AND $1::text[] IS NOT NULL`,
  );
  const triggers = await rows<{ name: string; table: string; def: string }>(
    `SELECT t.tgname AS name, ${KEY('n.nspname', 'c.relname')} AS "table", pg_get_triggerdef(t.oid) AS def
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT t.tgisinternal AND ${USER('n.nspname')} AND NOT (c.oid::text = ANY($1::text[]))`,
  );
  const functions = await rows<{ name: string; sql: string; def: string }>(
    `SELECT ${KEY('n.nspname', 'p.proname')} || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS name,
            quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS sql, pg_get_functiondef(p.oid) AS def
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE p.prokind IN ('f', 'p') AND ${USER('n.nspname')} AND ${NOT_EXTENSION('pg_proc', 'p.oid')} AND $1::text[] IS NOT NULL`,
  );
  const enums = await rows<{ name: string; sql: string; labels: string[] }>(
    `SELECT ${KEY('n.nspname', 't.typname')} AS name, ${SQL('n.nspname', 't.typname')} AS sql,
            ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)::text[] AS labels
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typtype = 'e' AND ${USER('n.nspname')} AND ${NOT_EXTENSION('pg_type', 't.oid')} AND $1::text[] IS NOT NULL`,
  );
  const domains = await rows<PgDomain>(
    `SELECT ${KEY('n.nspname', 't.typname')} AS name, ${SQL('n.nspname', 't.typname')} AS sql, format_type(t.typbasetype, t.typtypmod) AS base, t.typnotnull AS "notNull", t.typdefault AS "default",
            CASE WHEN t.typcollation <> b.typcollation AND t.typcollation <> 0 THEN
              (SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname) ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
                 FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = t.typcollation) END AS collation,
            coalesce((SELECT json_agg(json_build_object('name', k.conname, 'def', regexp_replace(pg_get_constraintdef(k.oid), ' NOT VALID$', ''), 'validated', k.convalidated) ORDER BY k.conname)
                        FROM pg_constraint k WHERE k.contypid = t.oid AND k.contype = 'c'), '[]') AS constraints
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_type b ON b.oid = t.typbasetype
      WHERE t.typtype = 'd' AND ${USER('n.nspname')} AND ${NOT_EXTENSION('pg_type', 't.oid')} AND $1::text[] IS NOT NULL`,
  );

  const extensions = await rows<{ name: string; schema: string }>(
    `SELECT e.extname AS name, quote_ident(n.nspname) AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' AND $1::text[] IS NOT NULL`,
  );
  const sequences = await rows<{ name: string; sql: string; def: string }>(
    `SELECT ${KEY('n.nspname', 'c.relname')} AS name, ${SQL('n.nspname', 'c.relname')} AS sql,
            concat_ws(' ', 'AS', format_type(s.seqtypid, NULL), 'INCREMENT BY', s.seqincrement, 'MINVALUE', s.seqmin, 'MAXVALUE', s.seqmax, 'START WITH', s.seqstart, 'CACHE', s.seqcache, CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END) AS def
       FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE ${USER('n.nspname')} AND ${NOT_EXTENSION('pg_class', 'c.oid')} AND $1::text[] IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))`,
  );

  const tableName = new Map(tables.map((t) => [t.oid, t.name]));
  const byTable = new Map<string, PgConstraint[]>();
  for (const k of constraints) {
    const table = tableName.get(k.table);
    if (table === undefined) continue;
    const def = k.def.replace(/ NOT VALID$/, '');
    byTable.set(table, [...(byTable.get(table) ?? []), { name: k.name, type: k.type, def, validated: k.validated, columns: k.columns, references: k.references, index: k.index }]);
  }
  const map = <T extends { name: string }>(list: readonly T[], key: (t: T) => string = (t) => t.name) => new Map(list.map((item) => [key(item), item]));
  return {
    schemas: schemas.map((s) => s.name),
    extensions: map(extensions),
    sequences: map(sequences),
    enums: map(enums),
    domains: map(domains),
    tables: map(tables.map((t) => ({ name: t.name, sql: t.sql, columns: t.columns, constraints: byTable.get(t.name) ?? [], extra: t.extra, filenode: t.filenode }))),
    indexes: map(indexes),
    views: map(views),
    triggers: map(triggers, (t) => `${t.table} ${t.name}`),
    functions: map(functions),
  };
}
