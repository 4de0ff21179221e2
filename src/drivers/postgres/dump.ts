import { compareStrings } from '../snapshot.js';
import { readingAsPublic, schemaScope, type PgQueryable } from './introspect.js';
import { mergeSorted } from '../merge-sorted.js';

/**
 * The schema of a PostgreSQL database as SQL that recreates it on an empty
 * one, built from the catalogs with the server's own printers
 * (pg_get_constraintdef, pg_get_indexdef, pg_get_viewdef, pg_get_triggerdef,
 * pg_get_functiondef, format_type), so it works on any server and in PGlite,
 * where there is no pg_dump.
 *
 * Covers what the snapshot compares (drivers/postgres/introspect.ts), in an
 * order that loads: schemas, extensions, enums, domains, composite types,
 * functions (bodies unchecked, as pg_dump does, so they may name tables made
 * later), sequences, tables (parents first; columns with types, collations,
 * defaults, generated expressions and identity), primary/unique/check/
 * exclusion constraints, views and materialized views (dependencies first),
 * indexes, foreign keys, triggers, and sequences' OWNED BY. Within a group,
 * objects are sorted by name: same schema ⇒ same text. No data, no owners or
 * grants, no oids, no server version.
 *
 * Objects that belong to an extension are left to the extension; the tables
 * in `exclude` (Cairn's history and lock tables) are left out with everything
 * that hangs off them. What this cannot recreate (foreign tables) is named in
 * a comment, so a comparison shows it rather than passing silently.
 *
 * Definitions are printed with search_path = public (public names bare), and
 * the dump starts by setting the same search_path for whoever loads it.
 *
 * `home` (schema-per-tenant, `?schema=tenant_7`): only the tenant's schema,
 * written as if it were `public` (introspect.ts, schemaScope): every tenant's
 * dump is the same text, the one its migrations give in an ordinary database.
 */
export function dumpPostgres(client: PgQueryable, options: { readonly exclude: readonly string[]; readonly home?: string | undefined }): Promise<string> {
  const scope = schemaScope(options.home);
  return readingAsPublic(
    client,
    options.exclude,
    async (excluded) => {
      const run: Run = async (statements) => {
        const results: Row[][] = [];
        for (const sql of statements) results.push((await client.query<Row>(sql)).rows);
        return results;
      };
      const version = await serverVersion(run);
      const [schemaRows, ...otherRows] = await run(othersSql(scope.inScope));
      // The home schema is written as public, which every database has: not created.
      const schemas = schemaRows!.filter((row) => scope.schemaName(String(row.name)) !== 'public');
      const [others, relations] = [othersFrom([schemas, ...otherRows], excluded), await readRelations(run, excluded, null, version, scope.inScope)];
      return scope.asPublic(assemble(others, relations));
    },
    options.home,
  );
}

const memberOfExtension = (catalog: string, oid: string) =>
  `EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '${catalog}'::regclass AND e.objid = ${oid} AND e.deptype = 'e')`;
const userSchema = (column: string) => `(${column} <> 'information_schema' AND ${column} !~ '^pg_')`;
const userSchemaOf = userSchema;

/** Statements in groups, in load order; each group's items are sorted by their key. */
type Group = { key: string; sql: string }[];
export type Row = Record<string, unknown>;
/** Runs statements (no parameters: oids are written into the SQL) and returns each one's rows. */
type Run = (statements: readonly string[]) => Promise<Row[][]>;

/** An oid[] literal; oids are digits the server gave us, so nothing here needs quoting. */
const oidArray = (oids: Iterable<string>) => `'{${[...oids].join(',')}}'::oid[]`;

function render(groups: readonly Group[]): string {
  return renderSorted(groups.map((group) => [...group].sort(byKey)));
}

/** `render` for groups already in order. */
function renderSorted(groups: readonly Group[]): string {
  return `${groups.flatMap((group) => group.map((item) => item.sql)).join('\n\n')}\n`;
}

const semicolon = (sql: string) => `${sql.trim().replace(/;$/, '').trimEnd()};`;

async function serverVersion(run: Run): Promise<number> {
  const [rows] = await run(["SELECT current_setting('server_version_num') AS v"]);
  return Number((rows?.[0] as { v?: string } | undefined)?.v ?? 0);
}

/** Everything but relations: schemas, extensions, types, functions, sequences. */
export interface Others {
  readonly before: readonly Group[];
  readonly ownedBy: Group;
}

/** A table, view or foreign table, with everything that hangs off it, as read from the catalogs. */
export interface RelationPart {
  readonly relation: RelationRow;
  readonly parents: readonly string[];
  readonly columns: readonly ColumnRow[];
  readonly keys: Group;
  readonly foreignKeys: Group;
  readonly indexes: Group;
  readonly triggers: Group;
  /** Relations a view reads. */
  readonly uses: readonly string[];
}

export interface RelationRow {
  oid: string;
  key: string;
  name: string;
  kind: string;
  persistence: string;
  partition: boolean;
  partkey: string | null;
  bound: string | null;
  options: string | null;
  rls: boolean;
  forcedRls: boolean;
  viewdef: string | null;
}

interface ColumnRow {
  table: string;
  name: string;
  type: string;
  collation: string | null;
  notNull: boolean;
  identity: string;
  generated: string;
  def: string | null;
  local: boolean;
  sequence: string | null;
  seqOptions: string | null;
}

/** `inScope`: the schemas to read (every user schema, or a tenant's alone). */
export function othersSql(inScope: (column: string) => string = userSchema): string[] {
  const userSchema = inScope;
  const typeFilter = `${userSchema('n.nspname')} AND NOT ${memberOfExtension('pg_type', 't.oid')}`;
  return [
    `SELECT n.nspname AS name, quote_ident(n.nspname) AS q FROM pg_namespace n
      WHERE ${userSchema('n.nspname')} AND n.nspname <> 'public' AND NOT ${memberOfExtension('pg_namespace', 'n.oid')}`,
    // plpgsql is in every database already.
    `SELECT e.extname AS name, quote_ident(e.extname) AS q, quote_ident(n.nspname) AS schema
       FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql'`,
    `SELECT n.nspname || '.' || t.typname AS key, format('%I.%I', n.nspname, t.typname) AS name,
            (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) AS labels
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'e' AND ${typeFilter}`,
    `SELECT n.nspname || '.' || t.typname AS key, format('%I.%I', n.nspname, t.typname) AS name, format_type(t.typbasetype, t.typtypmod) AS base,
            CASE WHEN t.typcollation <> 0 AND t.typcollation <> (SELECT b.typcollation FROM pg_type b WHERE b.oid = t.typbasetype) THEN
              (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = t.typcollation)
            END AS collation,
            t.typnotnull AS "notNull", t.typdefault AS def,
            ARRAY(SELECT 'CONSTRAINT ' || quote_ident(k.conname) || ' ' || pg_get_constraintdef(k.oid) FROM pg_constraint k WHERE k.contypid = t.oid ORDER BY k.conname)::text[] AS constraints,
            EXISTS (SELECT 1 FROM pg_constraint k WHERE k.contypid = t.oid AND k.contype = 'n') AS "hasNotNullConstraint"
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'd' AND ${typeFilter}`,
    `SELECT n.nspname || '.' || t.typname AS key, format('%I.%I', n.nspname, t.typname) AS name,
            (SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) FROM pg_attribute a
              WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) AS attributes
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_class c ON c.oid = t.typrelid
      WHERE t.typtype = 'c' AND c.relkind = 'c' AND ${typeFilter}`,
    `SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS key, pg_get_functiondef(p.oid) AS def
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE p.prokind IN ('f', 'p') AND ${userSchema('n.nspname')} AND NOT ${memberOfExtension('pg_proc', 'p.oid')}`,
    // Sequences: made before the tables whose defaults call nextval() on them; identity
    // sequences come with their column. OWNED BY (serial) once the tables exist.
    `SELECT c.oid::text AS oid, n.nspname || '.' || c.relname AS key, format('%I.%I', n.nspname, c.relname) AS name, format_type(s.seqtypid, NULL) AS type,
            format('START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s%s', s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
                   CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END) AS options,
            d.refobjid::text AS owner, d.deptype::text AS dependency,
            CASE WHEN d.refobjid IS NOT NULL THEN format('%I.%I.%I', rn.nspname, rc.relname, a.attname) END AS "ownedBy"
       FROM pg_sequence s
       JOIN pg_class c ON c.oid = s.seqrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
       LEFT JOIN pg_class rc ON rc.oid = d.refobjid
       LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
       LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
      WHERE ${userSchema('n.nspname')} AND NOT ${memberOfExtension('pg_class', 'c.oid')}`,
  ];
}

export function othersFrom(rows: readonly Row[][], excluded: ReadonlySet<string>): Others {
  const [schemaRows, extensionRows, enumRows, domainRows, compositeRows, functionRows, sequenceRows] = rows as [
    { name: string; q: string }[],
    { name: string; q: string; schema: string }[],
    { key: string; name: string; labels: string }[],
    { key: string; name: string; base: string; collation: string | null; notNull: boolean; def: string | null; constraints: string[]; hasNotNullConstraint: boolean }[],
    { key: string; name: string; attributes: string }[],
    { key: string; def: string }[],
    { key: string; name: string; type: string; options: string; owner: string | null; ownedBy: string | null; dependency: string | null }[],
  ];
  const preamble: Group = [
    { key: '1', sql: 'SET check_function_bodies = false;' },
    { key: '2', sql: 'SET search_path = public;' },
  ];
  const schemas: Group = schemaRows.map((row) => ({ key: row.name, sql: `CREATE SCHEMA ${row.q};` }));
  const extensions: Group = extensionRows.map((row) => ({ key: row.name, sql: `CREATE EXTENSION IF NOT EXISTS ${row.q} WITH SCHEMA ${row.schema};` }));
  const enums: Group = enumRows.map((row) => ({ key: row.key, sql: `CREATE TYPE ${row.name} AS ENUM (${row.labels ?? ''});` }));
  const domains: Group = domainRows.map((row) => {
    const parts = [`CREATE DOMAIN ${row.name} AS ${row.base}`];
    if (row.collation) parts.push(`COLLATE ${row.collation}`);
    if (row.def !== null) parts.push(`DEFAULT ${row.def}`);
    if (row.notNull && !row.hasNotNullConstraint) parts.push('NOT NULL');
    parts.push(...row.constraints);
    return { key: row.key, sql: `${parts.join(' ')};` };
  });
  const composites: Group = compositeRows.map((row) => ({ key: row.key, sql: `CREATE TYPE ${row.name} AS (${row.attributes ?? ''});` }));
  const functions: Group = functionRows.map((row) => ({ key: row.key, sql: semicolon(row.def) }));
  const standalone = sequenceRows.filter((row) => row.dependency !== 'i' && !(row.owner !== null && excluded.has(row.owner)));
  const sequences: Group = standalone.map((row) => ({ key: row.key, sql: `CREATE SEQUENCE ${row.name} AS ${row.type} ${row.options};` }));
  const ownedBy: Group = standalone
    .filter((row) => row.ownedBy !== null)
    .map((row) => ({ key: row.key, sql: `ALTER SEQUENCE ${row.name} OWNED BY ${row.ownedBy};` }));
  return { before: [preamble, schemas, extensions, enums, domains, composites, functions, sequences], ownedBy };
}


/** An oid[] literal for a list of oids, or an expression that gives one (as is). */
export const oidList = (oids: readonly string[] | string) => (typeof oids === 'string' ? oids : oidArray(oids));

/** The relations query, for all relations or only those in `only` (oids, or an oid[] expression). */
export function relationsSql(only: readonly string[] | string | null, userSchema: (column: string) => string = userSchemaOf): string {
  return `SELECT c.oid::text AS oid, n.nspname || '.' || c.relname AS key, format('%I.%I', n.nspname, c.relname) AS name, c.relkind AS kind,
                 c.relpersistence AS persistence, c.relispartition AS partition,
                 CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey,
                 CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound,
                 array_to_string(c.reloptions, ', ') AS options, c.relrowsecurity AS rls, c.relforcerowsecurity AS "forcedRls",
                 CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS viewdef
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND ${userSchema('n.nspname')} AND NOT ${memberOfExtension('pg_class', 'c.oid')}${only !== null ? ` AND c.oid = ANY(${oidList(only)})` : ''}`;
}

/** What hangs off the relations `oids` (or an oid[] expression; any kind: a query finds nothing where a kind has nothing). */
export function partsSql(oids: readonly string[] | string, version: number): string[] {
  const list = oidList(oids);
  return [
    `SELECT i.inhrelid::text AS child, i.inhparent::text AS parent FROM pg_inherits i WHERE i.inhrelid = ANY(${list}) ORDER BY i.inhrelid, i.inhseqno`,
    `SELECT a.attrelid::text AS "table", quote_ident(a.attname) AS name, format_type(a.atttypid, a.atttypmod) AS type,
            CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN
              (SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname) ELSE format('%I.%I', cn.nspname, co.collname) END
                 FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation)
            END AS collation,
            a.attnotnull AS "notNull", a.attidentity AS identity, a.attgenerated AS generated, pg_get_expr(d.adbin, d.adrelid) AS def,
            a.attislocal AS local,
            CASE WHEN a.attidentity <> '' THEN (SELECT format('%I.%I', sn.nspname, sc.relname) FROM pg_class sc JOIN pg_namespace sn ON sn.oid = sc.relnamespace
                                                 WHERE sc.oid = pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname)::regclass) END AS sequence,
            CASE WHEN a.attidentity <> '' THEN (SELECT format('START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s%s', s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
                                                              CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END)
                                                 FROM pg_sequence s WHERE s.seqrelid = pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname)::regclass) END AS "seqOptions"
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = ANY(${list}) AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    // Constraints, except those a table inherits (its parent's statement makes them).
    `SELECT k.conrelid::text AS owner, n.nspname || '.' || c.relname || ' ' || k.conname AS key, format('%I.%I', n.nspname, c.relname) AS "table", quote_ident(k.conname) AS name,
            k.contype AS type, pg_get_constraintdef(k.oid) AS def
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE k.conrelid = ANY(${list}) AND c.relkind IN ('r', 'p') AND k.contype IN ('p', 'u', 'f', 'c', 'x') AND k.conislocal AND k.conparentid = 0`,
    // What each view reads, to create views after the views they read from.
    `SELECT DISTINCT r.ev_class::text AS view, d.refobjid::text AS uses
       FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
      WHERE r.ev_class = ANY(${list}) AND d.refobjid <> r.ev_class`,
    `SELECT i.indrelid::text AS owner, n.nspname || '.' || c.relname AS key, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE i.indrelid = ANY(${list}) AND NOT c.relispartition
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))`,
    `SELECT t.tgrelid::text AS owner, n.nspname || '.' || c.relname || ' ' || t.tgname AS key, format('%I.%I', n.nspname, c.relname) AS "table", quote_ident(t.tgname) AS name,
            pg_get_triggerdef(t.oid) AS def, t.tgenabled AS enabled
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE t.tgrelid = ANY(${list}) AND NOT t.tgisinternal${version >= 130000 ? ' AND t.tgparentid = 0' : ''}`,
  ];
}

/** Groups the rows of `partsSql` by relation. */
export function partsFrom(relations: readonly RelationRow[], rows: readonly Row[][]): RelationPart[] {
  const [parentRows, columnRows, constraintRows, viewRows, indexRows, triggerRows] = rows as [
    { child: string; parent: string }[],
    ColumnRow[],
    { owner: string; key: string; table: string; name: string; type: string; def: string }[],
    { view: string; uses: string }[],
    { owner: string; key: string; def: string }[],
    { owner: string; key: string; table: string; name: string; def: string; enabled: string }[],
  ];
  const byOwner = <T>(list: readonly T[], owner: (item: T) => string) => {
    const map = new Map<string, T[]>();
    for (const item of list) {
      const key = owner(item);
      const group = map.get(key);
      if (group) group.push(item);
      else map.set(key, [item]);
    }
    return (oid: string): T[] => map.get(oid) ?? [];
  };
  const parents = byOwner(parentRows, (row) => row.child);
  const columns = byOwner(columnRows, (row) => row.table);
  const constraints = byOwner(constraintRows, (row) => row.owner);
  const views = byOwner(viewRows, (row) => row.view);
  const indexes = byOwner(indexRows, (row) => row.owner);
  const triggers = byOwner(triggerRows, (row) => row.owner);
  const addConstraint = (row: (typeof constraintRows)[number]) => ({ key: row.key, sql: `ALTER TABLE ${row.table} ADD CONSTRAINT ${row.name} ${row.def};` });
  return relations.map((relation) => ({
    relation,
    parents: parents(relation.oid).map((row) => row.parent),
    columns: columns(relation.oid),
    keys: constraints(relation.oid).filter((row) => row.type !== 'f').map(addConstraint),
    foreignKeys: constraints(relation.oid).filter((row) => row.type === 'f').map(addConstraint),
    uses: views(relation.oid).map((row) => row.uses),
    indexes: indexes(relation.oid).map((row) => ({ key: row.key, sql: `${row.def};` })),
    triggers: triggers(relation.oid).map((row) => {
      const state = { D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' }[row.enabled];
      return { key: row.key, sql: `${row.def};${state ? `\nALTER TABLE ${row.table} ${state} TRIGGER ${row.name};` : ''}` };
    }),
  }));
}

/** Reads the relations (all of them, or those in `only`) and what hangs off them. */
export async function readRelations(run: Run, excluded: ReadonlySet<string>, only: readonly string[] | null, version: number, inScope?: (column: string) => string): Promise<RelationPart[]> {
  const [relationRows] = await run([relationsSql(only, inScope)]);
  const relations = (relationRows as unknown as RelationRow[]).filter((relation) => !excluded.has(relation.oid));
  if (relations.length === 0) return [];
  return partsFrom(relations, await run(partsSql(relations.map((relation) => relation.oid), version)));
}

const printedTables = new WeakMap<RelationPart, string>();

/** The dump text: the other objects, then the relations in load order. */
export function assemble(others: Others, parts: Iterable<RelationPart>): string {
  const all = [...parts];
  const byOid = new Map(all.map((part) => [part.relation.oid, part]));
  const parentsOf = (oid: string) => byOid.get(oid)?.parents ?? [];

  const tables: Group = [];
  const unsupported: Group = [];
  for (const relation of sortParentsFirst(relationsOf(all, 'rpf'), parentsOf)) {
    if (relation.kind === 'f') {
      unsupported.push({ key: relation.key, sql: `-- cairn: foreign table ${relation.name} is not dumped (create its server and table by hand)` });
      continue;
    }
    tables.push({ key: `${String(tables.length).padStart(6, '0')}`, sql: tableStatements(byOid.get(relation.oid)!, byOid) });
  }
  const keys: Group = all.flatMap((part) => part.keys);
  const indexes: Group = all.flatMap((part) => part.indexes);
  const foreignKeys: Group = all.flatMap((part) => part.foreignKeys);
  const triggers: Group = all.flatMap((part) => part.triggers);
  return render([...others.before, tables, unsupported, keys, viewGroup(all), indexes, foreignKeys, triggers, others.ownedBy]);
}

const relationsOf = (parts: readonly RelationPart[], kinds: string) => parts.filter((part) => kinds.includes(part.relation.kind)).map((part) => part.relation);

/** A table's CREATE TABLE and what goes with it (defaults set on inherited columns, row level security). */
function tableStatements(part: RelationPart, byOid: ReadonlyMap<string, RelationPart>): string {
  // A table that inherits nothing prints from its own part alone: printed once per part (an incremental dump keeps most parts).
  const printed = part.parents.length === 0 ? printedTables.get(part) : undefined;
  if (printed !== undefined) return printed;
  const relation = part.relation;
  const inherited = part.parents.map((oid) => byOid.get(oid)?.relation.name ?? '?');
  let sql = `CREATE ${relation.persistence === 'u' ? 'UNLOGGED ' : ''}TABLE ${relation.name}`;
  if (relation.partition) {
    sql += ` PARTITION OF ${inherited[0] ?? '?'} ${relation.bound ?? ''}`.trimEnd();
  } else {
    const lines = part.columns.filter((column) => column.local).map((column) => `  ${columnDefinition(column)}`);
    sql += lines.length > 0 ? ` (\n${lines.join(',\n')}\n)` : ' ()';
    if (inherited.length > 0) sql += ` INHERITS (${inherited.join(', ')})`;
  }
  if (relation.partkey) sql += ` PARTITION BY ${relation.partkey}`;
  if (relation.options) sql += ` WITH (${relation.options})`;
  const statements = [`${sql};`];
  // A default set on a child (or partition) for a column it inherits.
  for (const column of part.columns.filter((c) => !c.local)) {
    if (column.def !== null && column.generated === '') statements.push(`ALTER TABLE ONLY ${relation.name} ALTER COLUMN ${column.name} SET DEFAULT ${column.def};`);
  }
  if (relation.rls) statements.push(`ALTER TABLE ${relation.name} ENABLE ROW LEVEL SECURITY;`);
  if (relation.forcedRls) statements.push(`ALTER TABLE ${relation.name} FORCE ROW LEVEL SECURITY;`);
  if (part.parents.length === 0) printedTables.set(part, statements.join('\n'));
  return statements.join('\n');
}

/** Views, each after the views it reads from. */
function viewGroup(parts: readonly RelationPart[]): Group {
  const byOid = new Map(parts.map((part) => [part.relation.oid, part]));
  const views: Group = [];
  for (const view of sortParentsFirst(relationsOf(parts, 'vm'), (oid) => byOid.get(oid)?.uses ?? [])) {
    const options = view.options ? ` WITH (${view.options})` : '';
    const body = (view.viewdef ?? '').trim().replace(/;$/, '');
    views.push({
      key: `${String(views.length).padStart(6, '0')}`,
      sql: view.kind === 'v' ? `CREATE VIEW ${view.name}${options} AS\n${body};` : `CREATE MATERIALIZED VIEW ${view.name}${options} AS\n${body}\nWITH NO DATA;`,
    });
  }
  return views;
}

type Item = Group[number];
const byKey = (a: Item, b: Item) => compareStrings(a.key, b.key);

/** The groups that hang off relations, each sorted by key, as an assembler keeps them between dumps. */
interface SortedGroups {
  readonly parts: ReadonlySet<RelationPart>;
  /** Tables by name (only while no table inherits from another: then names alone order them). */
  readonly tables: Item[];
  readonly keys: Item[];
  readonly indexes: Item[];
  readonly foreignKeys: Item[];
  readonly triggers: Item[];
}

/**
 * `assemble` for dumps taken one after another (the incremental dump): the
 * same text, but most of the work is kept from the dump before. The groups
 * of statements that hang off relations (tables, keys, indexes, foreign keys,
 * triggers) stay sorted between dumps and only the parts that were read again
 * are taken out and merged back in; re-sorting them all took about 2 ms a dump
 * at 1000 tables, the part of a replay that grew with the schema. Views, few,
 * are ordered anew each time. A schema where a table inherits (partitions,
 * INHERITS) or with foreign tables is assembled in full, as is any dump whose
 * other objects (`othersKey`, compared by identity) changed.
 *
 * A dump whose parts and others are those of one of the last few dumps (the
 * same objects: a down that undid its up left everything else as it was) gets
 * that dump's text, the very same string, so comparing the two is immediate.
 */
export function incrementalAssembler(): (others: Others, othersKey: unknown, parts: Iterable<RelationPart>) => string {
  let last: (SortedGroups & { readonly othersKey: unknown }) | null = null;
  const recent: { readonly othersKey: unknown; readonly parts: ReadonlySet<RelationPart>; readonly text: string }[] = [];
  return (others, othersKey, partsIn) => {
    const parts = [...partsIn];
    const simple = parts.every((part) => part.parents.length === 0 && part.relation.kind !== 'f');
    const same = recent.find((dump) => dump.othersKey === othersKey && samePrint(dump.parts, parts, simple));
    if (same !== undefined) return same.text;
    let text: string;
    if (!simple) {
      last = null;
      text = assemble(others, parts);
    } else {
      const groups: SortedGroups = last === null ? sortedGroups(parts) : mergedGroups(last, parts);
      last = { ...groups, othersKey };
      const sortedOthers = (group: Group) => [...group].sort(byKey);
      text = renderSorted([
        ...others.before.map(sortedOthers),
        groups.tables,
        groups.keys,
        viewGroup(parts),
        groups.indexes,
        groups.foreignKeys,
        groups.triggers,
        sortedOthers(others.ownedBy),
      ]);
    }
    recent.unshift({ othersKey, parts: new Set(parts), text });
    recent.length = Math.min(recent.length, 4);
    return text;
  };
}

/**
 * Whether `parts` print what `was` printed: the same parts, or (`simple`: no
 * inheritance, no foreign tables) the same but for a few tables read again
 * that print the same statements under the same names: a table dropped by a
 * down and created again by the next up has a new oid, and a new part, but
 * the same text.
 */
function samePrint(was: ReadonlySet<RelationPart>, parts: readonly RelationPart[], simple: boolean): boolean {
  if (was.size !== parts.length) return false;
  const extra = parts.filter((part) => !was.has(part));
  if (extra.length === 0) return true;
  if (!simple || extra.length > 16) return false;
  const now = new Set(parts);
  const missing = new Map([...was].filter((part) => !now.has(part)).map((part) => [part.relation.key, part]));
  return extra.every((part) => {
    const other = missing.get(part.relation.key);
    return other !== undefined && isTable(part) && isTable(other) && other.parents.length === 0 && printsSame(part, other);
  });
}

function printsSame(a: RelationPart, b: RelationPart): boolean {
  const items = (part: RelationPart) => [part.keys, part.indexes, part.foreignKeys, part.triggers].map((group) => [...group].sort(byKey));
  const sameItems = (x: readonly Item[], y: readonly Item[]) => x.length === y.length && x.every((item, i) => item.key === y[i]!.key && item.sql === y[i]!.sql);
  const [x, y] = [items(a), items(b)];
  return tableItemOf(a).sql === tableItemOf(b).sql && x.every((group, i) => sameItems(group, y[i]!));
}

const tableItem = (part: RelationPart): Item => ({ key: part.relation.key, sql: tableStatements(part, new Map()) });
const tableItems = new WeakMap<RelationPart, Item>();
const tableItemOf = (part: RelationPart): Item => {
  let item = tableItems.get(part);
  if (item === undefined) tableItems.set(part, (item = tableItem(part)));
  return item;
};
const isTable = (part: RelationPart) => 'rp'.includes(part.relation.kind);

function sortedGroups(parts: readonly RelationPart[]): SortedGroups {
  return {
    parts: new Set(parts),
    tables: parts.filter(isTable).map(tableItemOf).sort(byKey),
    keys: parts.flatMap((part) => part.keys).sort(byKey),
    indexes: parts.flatMap((part) => part.indexes).sort(byKey),
    foreignKeys: parts.flatMap((part) => part.foreignKeys).sort(byKey),
    triggers: parts.flatMap((part) => part.triggers).sort(byKey),
  };
}

/** `last`'s groups without the parts that are gone, with the new ones merged in. */
function mergedGroups(last: SortedGroups, parts: readonly RelationPart[]): SortedGroups {
  const now = new Set(parts);
  const removed = [...last.parts].filter((part) => !now.has(part));
  const added = parts.filter((part) => !last.parts.has(part));
  const merged = (group: readonly Item[], items: (part: RelationPart) => readonly Item[]): Item[] => {
    const gone = new Set(removed.flatMap(items));
    const kept = gone.size > 0 ? group.filter((item) => !gone.has(item)) : group;
    return mergeSorted(kept, added.flatMap(items).sort(byKey), byKey);
  };
  return {
    parts: now,
    tables: merged(last.tables, (part) => (isTable(part) ? [tableItemOf(part)] : [])),
    keys: merged(last.keys, (part) => part.keys),
    indexes: merged(last.indexes, (part) => part.indexes),
    foreignKeys: merged(last.foreignKeys, (part) => part.foreignKeys),
    triggers: merged(last.triggers, (part) => part.triggers),
  };
}


function columnDefinition(column: Omit<ColumnRow, 'table' | 'local'>): string {
  const parts = [column.name, column.type];
  if (column.collation) parts.push(`COLLATE ${column.collation}`);
  if (column.generated === 's') parts.push(`GENERATED ALWAYS AS (${column.def ?? ''}) STORED`);
  else if (column.def !== null) parts.push(`DEFAULT ${column.def}`);
  if (column.notNull) parts.push('NOT NULL');
  if (column.identity === 'a' || column.identity === 'd') {
    const options = [column.sequence ? `SEQUENCE NAME ${column.sequence}` : '', column.seqOptions ?? ''].filter(Boolean).join(' ');
    parts.push(`GENERATED ${column.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY${options ? ` (${options})` : ''}`);
  }
  return parts.join(' ');
}

/**
 * `items` sorted by key, except that each comes after the items it depends on
 * (a partition after its parent, a view after the views it reads). Depth-first
 * over the sorted list, so the order is the same every time.
 */
function sortParentsFirst<T extends { oid: string; key: string }>(items: readonly T[], dependsOn: (oid: string) => readonly string[]): T[] {
  const inSet = new Map(items.map((item) => [item.oid, item]));
  const sorted = [...items].sort((a, b) => compareStrings(a.key, b.key));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const out: T[] = [];
  const visit = (item: T) => {
    if (done.has(item.oid) || visiting.has(item.oid)) return;
    visiting.add(item.oid);
    const dependencies = dependsOn(item.oid)
      .map((oid) => inSet.get(oid))
      .filter((dependency): dependency is T => dependency !== undefined)
      .sort((a, b) => compareStrings(a.key, b.key));
    for (const dependency of dependencies) visit(dependency);
    visiting.delete(item.oid);
    done.add(item.oid);
    out.push(item);
  };
  for (const item of sorted) visit(item);
  return out;
}
