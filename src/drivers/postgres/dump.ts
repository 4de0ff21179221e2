import { compareStrings } from '../snapshot.js';
import { readingAsPublic, schemaScope, type PgQueryable } from './introspect.js';
import { quoteLiteral } from '../../sql/quote.js';

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
type Row = Record<string, unknown>;
/** Runs statements (no parameters: oids are written into the SQL) and returns each one's rows. */
type Run = (statements: readonly string[]) => Promise<Row[][]>;

/** An oid[] literal; oids are digits the server gave us, so nothing here needs quoting. */
const oidArray = (oids: Iterable<string>) => `'{${[...oids].join(',')}}'::oid[]`;

function render(groups: readonly Group[]): string {
  const statements = groups.flatMap((group) => [...group].sort((a, b) => compareStrings(a.key, b.key)).map((item) => item.sql));
  return `${statements.join('\n\n')}\n`;
}

const semicolon = (sql: string) => `${sql.trim().replace(/;$/, '').trimEnd()};`;

async function serverVersion(run: Run): Promise<number> {
  const [rows] = await run(["SELECT current_setting('server_version_num') AS v"]);
  return Number((rows?.[0] as { v?: string } | undefined)?.v ?? 0);
}

/** Everything but relations: schemas, extensions, types, functions, sequences. */
interface Others {
  readonly before: readonly Group[];
  readonly ownedBy: Group;
}

/** A table, view or foreign table, with everything that hangs off it, as read from the catalogs. */
interface RelationPart {
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

interface RelationRow {
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
function othersSql(inScope: (column: string) => string = userSchema): string[] {
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

function othersFrom(rows: readonly Row[][], excluded: ReadonlySet<string>): Others {
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
const oidList = (oids: readonly string[] | string) => (typeof oids === 'string' ? oids : oidArray(oids));

/** The relations query, for all relations or only those in `only` (oids, or an oid[] expression). */
function relationsSql(only: readonly string[] | string | null, userSchema: (column: string) => string = userSchemaOf): string {
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
function partsSql(oids: readonly string[] | string, version: number): string[] {
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
function partsFrom(relations: readonly RelationRow[], rows: readonly Row[][]): RelationPart[] {
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
async function readRelations(run: Run, excluded: ReadonlySet<string>, only: readonly string[] | null, version: number, inScope?: (column: string) => string): Promise<RelationPart[]> {
  const [relationRows] = await run([relationsSql(only, inScope)]);
  const relations = (relationRows as unknown as RelationRow[]).filter((relation) => !excluded.has(relation.oid));
  if (relations.length === 0) return [];
  return partsFrom(relations, await run(partsSql(relations.map((relation) => relation.oid), version)));
}

const printedTables = new WeakMap<RelationPart, string>();

/** The dump text: the other objects, then the relations in load order. */
function assemble(others: Others, parts: Iterable<RelationPart>): string {
  const all = [...parts];
  const byOid = new Map(all.map((part) => [part.relation.oid, part]));
  const parentsOf = (oid: string) => byOid.get(oid)?.parents ?? [];

  const tables: Group = [];
  const unsupported: Group = [];
  const relationsOf = (kinds: string) => all.filter((part) => kinds.includes(part.relation.kind)).map((part) => part.relation);
  for (const relation of sortParentsFirst(relationsOf('rpf'), parentsOf)) {
    if (relation.kind === 'f') {
      unsupported.push({ key: relation.key, sql: `-- cairn: foreign table ${relation.name} is not dumped (create its server and table by hand)` });
      continue;
    }
    const part = byOid.get(relation.oid)!;
    // A table that inherits nothing prints from its own part alone: printed once per part (an incremental dump keeps most parts).
    const printed = part.parents.length === 0 ? printedTables.get(part) : undefined;
    if (printed !== undefined) {
      tables.push({ key: `${String(tables.length).padStart(6, '0')}`, sql: printed });
      continue;
    }
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
    tables.push({ key: `${String(tables.length).padStart(6, '0')}`, sql: statements.join('\n') });
  }

  // Views, each after the views it reads from.
  const views: Group = [];
  for (const view of sortParentsFirst(relationsOf('vm'), (oid) => byOid.get(oid)?.uses ?? [])) {
    const options = view.options ? ` WITH (${view.options})` : '';
    const body = (view.viewdef ?? '').trim().replace(/;$/, '');
    views.push({
      key: `${String(views.length).padStart(6, '0')}`,
      sql: view.kind === 'v' ? `CREATE VIEW ${view.name}${options} AS\n${body};` : `CREATE MATERIALIZED VIEW ${view.name}${options} AS\n${body}\nWITH NO DATA;`,
    });
  }

  const keys: Group = all.flatMap((part) => part.keys);
  const indexes: Group = all.flatMap((part) => part.indexes);
  const foreignKeys: Group = all.flatMap((part) => part.foreignKeys);
  const triggers: Group = all.flatMap((part) => part.triggers);
  return render([...others.before, tables, unsupported, keys, views, indexes, foreignKeys, triggers, others.ownedBy]);
}

// --- Incremental: a scratch database dumped after every step of a replay ---

/** A connection that takes several statements in one round trip (pg's simple query protocol). */
export interface PgBatchQueryable {
  query(text: string): Promise<{ rows: Row[] } | { rows: Row[] }[]>;
}

/** Catalogs whose rows hang off a relation, with the column naming the row and the relation it belongs to. */
const OWNED = {
  class: { table: 'pg_class', row: 'oid', owner: 'oid' },
  constraint: { table: 'pg_constraint', row: 'oid', owner: 'conrelid' },
  index: { table: 'pg_index', row: 'indexrelid', owner: 'indrelid' },
  trigger: { table: 'pg_trigger', row: 'oid', owner: 'tgrelid' },
  rewrite: { table: 'pg_rewrite', row: 'oid', owner: 'ev_class' },
  attrdef: { table: 'pg_attrdef', row: 'oid', owner: 'adrelid' },
  inherits: { table: 'pg_inherits', row: "inhrelid::text || ':' || inhparent::text", owner: 'inhrelid' },
} as const;
type Owned = keyof typeof OWNED;

/** Oids below this are the system's own objects (FirstNormalObjectId). */
const USER_OID = 16384;

/**
 * The relation a pg_class row is printed with: an index with its table, a
 * sequence with the column that owns it (serial, identity), a toast table
 * with nothing (not dumped), anything else as itself.
 */
const relationOf = (c: string) => `CASE WHEN ${c}.relkind IN ('i', 'I') THEN (SELECT x.indrelid FROM pg_index x WHERE x.indexrelid = ${c}.oid)
       WHEN ${c}.relkind = 't' THEN NULL
       WHEN ${c}.relkind = 'S' THEN coalesce((SELECT x.refobjid FROM pg_depend x WHERE x.classid = 'pg_class'::regclass AND x.objid = ${c}.oid
                                                AND x.refclassid = 'pg_class'::regclass AND x.deptype IN ('a', 'i') LIMIT 1), ${c}.oid)
       ELSE ${c}.oid END`;

/** The relation a dependent catalog object (pg_depend's classid, objid) is printed with; for other objects, the object itself. */
const dependentOf = (classid: string, objid: string) => `CASE ${classid}
       WHEN 'pg_class'::regclass THEN (SELECT ${relationOf('y')} FROM pg_class y WHERE y.oid = ${objid})
       WHEN 'pg_constraint'::regclass THEN (SELECT nullif(y.conrelid, 0) FROM pg_constraint y WHERE y.oid = ${objid})
       WHEN 'pg_attrdef'::regclass THEN (SELECT y.adrelid FROM pg_attrdef y WHERE y.oid = ${objid})
       WHEN 'pg_trigger'::regclass THEN (SELECT y.tgrelid FROM pg_trigger y WHERE y.oid = ${objid})
       WHEN 'pg_rewrite'::regclass THEN (SELECT y.ev_class FROM pg_rewrite y WHERE y.oid = ${objid})
       ELSE ${objid} END`;

/**
 * Catalog rows written since `mark` (a transaction id), each named by the
 * relation it is printed with, or `other`: a schema, type, function,
 * collation, operator or extension, which may be printed anywhere (types in
 * columns, functions in defaults and triggers, schemas in every name).
 */
function changedSql(mark: string): string {
  const since = (alias: string) => `age(${alias}.xmin) <= age('${mark}'::xid)`;
  const relation = (alias: string, oid: string) => `(SELECT ${relationOf('r')} FROM pg_class r WHERE r.oid = ${oid})`;
  return [
    `SELECT 'class' AS cat, c.oid::text AS row, (${relationOf('c')})::text AS owner, c.relkind::text AS kind FROM pg_class c WHERE c.oid >= ${USER_OID} AND ${since('c')}`,
    `SELECT DISTINCT 'attribute', NULL, ${relation('r', 'a.attrelid')}::text, (SELECT r.relkind::text FROM pg_class r WHERE r.oid = a.attrelid) FROM pg_attribute a WHERE a.attrelid >= ${USER_OID} AND ${since('a')}`,
    ...(['constraint', 'index', 'trigger', 'rewrite', 'attrdef', 'inherits'] as const).map((cat) => {
      const { table, row, owner } = OWNED[cat];
      return `SELECT '${cat}', (${row})::text, ${owner}::text, NULL FROM ${table} x WHERE ${owner} >= ${USER_OID} AND ${since('x')}`;
    }),
    // How many rows the owned catalogs hold (kind is the count): rows that went missing show as fewer than expected.
    ...(Object.keys(OWNED) as Owned[]).map((cat) => {
      const { table, row, owner } = OWNED[cat];
      return `SELECT 'count', '${cat}', NULL, count(*)::text FROM ${table} WHERE ${cat === 'class' ? row : owner} >= ${USER_OID}`;
    }),
    `SELECT 'sequence', s.seqrelid::text, ${relation('r', 's.seqrelid')}::text, 'S' FROM pg_sequence s WHERE ${since('s')}`,
    // A table's row type and its array type come and go with the table (its pg_class row says so).
    `SELECT 'other', t.oid::text, NULL, NULL FROM pg_type t WHERE t.oid >= ${USER_OID} AND ${since('t')} AND t.typrelid = 0
        AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = t.typelem AND e.typrelid <> 0)`,
    ...['pg_proc', 'pg_namespace', 'pg_enum', 'pg_collation', 'pg_operator', 'pg_extension', 'pg_opclass', 'pg_ts_config'].map(
      (table) => `SELECT 'other', x.oid::text, NULL, NULL FROM ${table} x WHERE x.oid >= ${USER_OID} AND ${since('x')}`,
    ),
  ].join('\nUNION ALL\n');
}

/** How many other objects there are (one dropped shows as fewer), and the transaction id the next write will get. */
function countsSql(): string {
  const others = ['pg_proc', 'pg_namespace', 'pg_enum', 'pg_collation', 'pg_operator', 'pg_extension', 'pg_opclass', 'pg_ts_config']
    .map((table) => `(SELECT count(*) FROM ${table} WHERE oid >= ${USER_OID})`)
    .concat(`(SELECT count(*) FROM pg_type t WHERE t.oid >= ${USER_OID} AND t.typrelid = 0 AND t.typelem = 0)`);
  return `SELECT (${others.join(' + ')})::int AS other, (txid_snapshot_xmax(txid_current_snapshot()) % 4294967296)::text AS mark`;
}

/** Every row of an owned catalog, with its owner: read once, at the first dump. */
function listSql(cat: Owned): string {
  const { table, row, owner } = OWNED[cat];
  if (cat === 'class') return `SELECT c.oid::text AS row, (${relationOf('c')})::text AS owner FROM pg_class c WHERE c.oid >= ${USER_OID}`;
  return `SELECT (${row})::text AS row, ${owner}::text AS owner FROM ${table} WHERE ${owner} >= ${USER_OID}`;
}

/** The rows an owned catalog holds now, as one array: read when some went missing (their owners are known from before). */
function presentSql(cat: Owned): string {
  const { table, row, owner } = OWNED[cat];
  return `SELECT array_to_string(array_agg((${row})::text), ',') AS rows FROM ${table} WHERE ${cat === 'class' ? row : owner} >= ${USER_OID}`;
}

/** The relations printed with any of `seeds`, following dependencies (a view of a view, a foreign key to a renamed table). */
function dependentsSql(seeds: readonly string[] | string): string {
  return `WITH RECURSIVE reach(oid) AS (
            SELECT unnest(${oidList(seeds)})
            UNION
            SELECT (${dependentOf('d.classid', 'd.objid')})
              FROM reach JOIN pg_depend d ON d.refobjid = reach.oid
             WHERE d.refclassid IN ('pg_class'::regclass, 'pg_type'::regclass, 'pg_proc'::regclass, 'pg_namespace'::regclass, 'pg_collation'::regclass)
          )
          SELECT oid::text AS oid FROM reach WHERE oid IS NOT NULL`;
}

interface DumpState {
  readonly excludeKey: string;
  readonly excluded: ReadonlySet<string>;
  readonly version: number;
  /** Taken before the last read: rows written since have a newer xmin. */
  mark: string;
  /** Owned catalogs' rows (row → owning relation) as of the last read, and their count of other objects. */
  known: Map<Owned, Map<string, string | null>>;
  otherCount: number;
  /** The rows of `othersSql`, as of the last read. */
  others: Row[][];
  readonly parts: Map<string, RelationPart>;
}

/**
 * `dumpPostgres` for a connection that is the only writer of its database
 * (a scratch database): the same text, but after the first call each dump
 * re-reads only what changed since the one before. A full dump reads every
 * relation through the server's printers (about 70 ms at 1000 tables), which
 * made a replay that dumps after every step quadratic.
 *
 * What changed is found in the catalogs: every row a transaction writes
 * carries its id (xmin), so rows newer than the id taken at the last dump
 * are the new and altered objects; rows that went missing show as a count
 * lower than expected, and then that catalog's rows are listed and compared.
 * Each changed row names the relation it is printed with (an index its
 * table, a default its column's table, a serial sequence its column), and
 * relations whose printed text names a changed one (a foreign key, a view,
 * a default calling nextval) follow, through pg_depend. Any change to a
 * schema, type, function, collation, operator or extension, which any
 * definition may name, re-reads everything. Schemas, types, functions and
 * sequences themselves are few and are read every time.
 *
 * With `changeLog` (a scratch where Cairn may create event triggers,
 * scratch.ts: installChangeLog), what changed is read from the log the
 * triggers keep instead of scanned for: each command's objects, resolved to
 * the relation they are printed with, and each dropped object by its address
 * (a table's index, constraint, trigger or default by the table's name in
 * the previous dump). Relations that depended on a changed one at the
 * previous dump are re-read too (a partition detached from its parent), and
 * pg_depend is followed from there as above.
 *
 * Only for a database no one else writes to while it is in use: a
 * transaction that commits later with an older id would go unseen.
 */
export function incrementalPostgresDump(client: PgBatchQueryable, settings: { readonly changeLog?: boolean } = {}): (options: { readonly exclude: readonly string[] }) => Promise<string> {
  /** `before`: statements run first, with the session's own search_path (resolving names as dumpPostgres does); their rows come first. */
  const run = async (statements: readonly string[], before: readonly string[] = []): Promise<Row[][]> => {
    // One round trip, one implicit transaction: set_config(…, true) ends with it, as does a failure.
    // No JIT: these queries are small, but their estimates can pass jit_above_cost, and compiling costs more than running them.
    const result = await client.query([...before, `SELECT set_config('search_path', 'public', true), set_config('jit', 'off', true)`, ...statements].join(';\n'));
    const rows = (Array.isArray(result) ? result : [result]).map((r) => r.rows);
    return [...rows.slice(0, before.length), ...rows.slice(before.length + 1)];
  };
  /**
   * `run` for statements whose text is the same at every dump: each is
   * prepared once (PREPARE, in the session) and then only executed, in one
   * round trip. Parsing and planning these catalog queries took more of a
   * dump than running them (about 2 ms of 3 at 1000 tables). Prepared with
   * the search_path `run` sets, so their plans stay valid. A migration that
   * drops them (DEALLOCATE ALL, DISCARD ALL) only makes the next dump
   * prepare them again, under new names.
   */
  let prepared = new Map<string, string>();
  let generation = 0;
  const runPrepared = async (statements: readonly string[], before: readonly string[] = []): Promise<Row[][]> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const missing = [...new Set(statements.filter((sql) => !prepared.has(sql)))];
        if (missing.length > 0) {
          const named = missing.map((sql, i) => [sql, `cairn_scratch_dump_${generation}_${prepared.size + i}`] as const);
          await run(named.map(([sql, name]) => `PREPARE ${name} AS ${sql}`));
          for (const [sql, name] of named) prepared.set(sql, name);
        }
        return await run(statements.map((sql) => `EXECUTE ${prepared.get(sql)!}`), before);
      } catch (error) {
        // 26000: no such prepared statement; 42P05: one of that name exists already.
        const code = (error as { code?: string }).code;
        if (attempt > 0 || (code !== '26000' && code !== '42P05')) throw error;
        prepared = new Map();
        generation++;
      }
    }
  };
  let state: DumpState | null = null;
  /** Whether changes are read from the scratch's change log (scratch.ts) rather than found in the catalogs. */
  let changeLog = settings.changeLog ?? false;

  // Names resolved as the session sees them, as dumpPostgres does.
  const resolve = async (exclude: readonly string[]) => {
    const [result] = [await client.query(resolveSql(exclude))].flat();
    return resolvedOids(result?.rows ?? []);
  };

  const fresh = async (exclude: readonly string[]): Promise<DumpState> => {
    const excluded = await resolve(exclude);
    // The change log starts empty here: what comes after this read is in it.
    const [versionRows] = await run(["SELECT current_setting('server_version_num') AS v", ...(changeLog ? [changeLogStateSql()] : [])]);
    const [countRows, ...lists] = await run([countsSql(), ...(Object.keys(OWNED) as Owned[]).map(listSql)]);
    const counts = countRows![0] as Record<string, number | string>;
    const known = new Map((Object.keys(OWNED) as Owned[]).map((cat, i) => [cat, new Map((lists[i] as { row: string; owner: string | null }[]).map((r) => [r.row, r.owner]))]));
    const version = Number((versionRows![0] as { v: string }).v);
    const parts = new Map((await readRelations(run, excluded, null, version)).map((part) => [part.relation.oid, part]));
    const others = await run(othersSql());
    return { excludeKey: exclude.join('\0'), excluded, version, mark: String(counts.mark), known, otherCount: Number(counts.other), others, parts };
  };

  /** What a step changed: the relations to re-read from (`seeds`), relations that are gone, and whether to re-read everything or the sequences. */
  interface Changes {
    everything: boolean;
    readonly seeds: Set<string>;
    readonly gone: Set<string>;
    sequence: boolean;
    /** Called once the dump is read: what to remember for the next one. */
    readonly done: () => void;
  }

  /** From the catalogs: rows newer than the mark, and catalogs holding fewer rows than expected. */
  const fromCatalogs = async (current: DumpState): Promise<Changes> => {
    const [changedRows, countRows] = await run([changedSql(current.mark), countsSql()]);
    const counts = countRows![0] as Record<string, number | string>;
    const rows = changedRows as { cat: string; row: string | null; owner: string | null; kind: string | null }[];
    const changed = rows.filter((row) => row.cat !== 'count');
    const owned = new Map(rows.filter((row) => row.cat === 'count').map((row) => [row.row, Number(row.kind)]));
    let everything = changed.some((row) => row.cat === 'other' || row.kind === 'c') || Number(counts.other) !== current.otherCount;
    const seeds = new Set<string>();
    for (const row of changed) if (row.owner !== null) seeds.add(row.owner);
    for (const row of changed) if (row.cat === 'class' && row.row !== null) seeds.add(row.row);

    // Rows that went missing: a catalog holds fewer rows than before plus the new ones.
    const short = (Object.keys(OWNED) as Owned[]).filter((cat) => {
      const known = current.known.get(cat)!;
      const added = new Set(changed.filter((row) => row.cat === cat && row.row !== null && !known.has(row.row)).map((row) => row.row));
      return owned.get(cat) !== known.size + added.size;
    });
    const lists = short.length > 0 ? await run(short.map(presentSql)) : [];
    const gone = new Set<string>();
    short.forEach((cat, i) => {
      const present = new Set(String((lists[i]![0] as { rows: string | null }).rows ?? '').split(',').filter(Boolean));
      const known = current.known.get(cat)!;
      for (const [row, owner] of known) {
        if (present.has(row)) continue;
        if (owner !== null) seeds.add(owner);
        if (cat === 'class') gone.add(row);
        known.delete(row);
      }
    });
    for (const oid of gone) seeds.add(oid);
    for (const row of changed) if (row.row !== null) current.known.get(row.cat as Owned)?.set(row.row, row.owner);
    if (changed.some((row) => row.cat === 'class' && row.kind === 'c')) everything = true;
    return {
      everything,
      seeds,
      gone,
      sequence: changed.some((row) => row.cat === 'sequence' || row.kind === 'S'),
      done: () => {
        current.mark = String(counts.mark);
        current.otherCount = Number(counts.other);
      },
    };
  };

  /**
   * From the change log the scratch's event triggers keep (scratch.ts): each
   * object a command created or altered, named by the relation it is printed
   * with, and each one dropped, named by its address. Null when the log
   * cannot be trusted (a trigger was dropped or disabled, or event triggers
   * were switched off): then it is not used again.
   */
  const fromLog = async (current: DumpState, exclude: readonly string[] | null): Promise<{ changes: Changes; early: EarlyRead; excluded: ReadonlySet<string> | null } | null> => {
    const results = await runPrepared([changeLogSql(), ...earlyReadSql(current.version)], exclude === null ? [] : [resolveSql(exclude)]);
    const excluded = exclude === null ? null : resolvedOids(results.shift()!);
    const [entryRows, seedRows, stateRows, , reachRows, relationRows, ...partRows] = results;
    const logState = stateRows![0] as { triggers: number; enabled: string };
    if (Number(logState.triggers) !== CHANGE_LOG_TRIGGERS.length || logState.enabled === 'off') return null;
    const oidsOf = (text: unknown) => new Set(String(text ?? '').replace(/^\{|\}$/g, '').split(',').filter(Boolean));
    const early: EarlyRead = {
      seeds: oidsOf((seedRows![0] as { seeds?: string } | undefined)?.seeds),
      reached: oidsOf((reachRows![0] as { reach?: string } | undefined)?.reach),
      relations: (relationRows as unknown as RelationRow[]).filter((relation) => !current.excluded.has(relation.oid)),
      partRows,
    };
    const entries = entryRows as { op: string; cls: string | null; objid: string | null; rest: string; owner: string | null; kind: string | null }[];
    const changes: Changes = { everything: false, seeds: new Set(), gone: new Set(), sequence: false, done: () => undefined };
    const sequences = current.others[6] as { oid: string; owner: string | null }[];
    const parts = [...current.parts.values()];
    const byKey = (key: string) => parts.filter((part) => part.relation.key === key);
    const droppedRelations = new Set(entries.filter((e) => e.op === 'd' && e.cls === 'pg_class').map((e) => (JSON.parse(e.rest) as [string, string | null])[1]));
    for (const entry of entries) {
      const cls = entry.cls ?? '';
      if (entry.op === 'c') {
        const [tag] = JSON.parse(entry.rest) as [string];
        if (cls === '' || entry.objid === null) {
          if (!NO_OBJECT_TAGS.has(tag)) changes.everything = true;
        } else if (cls === 'pg_class') {
          // Gone again within the step when kind is null: its drop is in the log too.
          if (entry.kind === 'c') changes.everything = true;
          if (entry.kind === 'S') changes.sequence = true;
          if (entry.owner !== null) changes.seeds.add(entry.owner);
        } else if (cls === 'pg_constraint' && entry.kind === 'domain') {
          changes.everything = true;
        } else if (PRINTED_WITH_RELATION.has(cls)) {
          if (entry.owner !== null) changes.seeds.add(entry.owner);
        } else if (cls === 'pg_type') {
          // A table's row type (or its array) is printed with the table; any other type anywhere.
          if (entry.owner !== null) changes.seeds.add(entry.owner);
          else if (entry.kind !== null) changes.everything = true;
        } else if (!NOT_PRINTED.has(cls)) {
          changes.everything = true;
        }
        continue;
      }
      // Dropped: the catalog row is gone, its address says where it was printed.
      const [type, identity, names] = JSON.parse(entry.rest) as [string, string | null, string[] | null];
      const schema = names?.[0] ?? '';
      if (schema === 'pg_toast' || /^pg_temp_\d+$/.test(schema)) continue;
      if (cls === 'pg_class') {
        if (entry.objid !== null && current.parts.has(entry.objid)) {
          changes.gone.add(entry.objid);
          changes.seeds.add(entry.objid);
        }
        for (const sequence of sequences.filter((row) => row.oid === entry.objid)) {
          changes.sequence = true;
          if (sequence.owner !== null) changes.seeds.add(sequence.owner);
        }
        // An index is printed with its table.
        const key = `${schema}.${names?.[1] ?? ''}`;
        for (const part of parts) if (part.indexes.some((index) => index.key === key)) changes.seeds.add(part.relation.oid);
        if (type === 'composite type') changes.everything = true;
      } else if (PRINTED_WITH_RELATION.has(cls)) {
        if (type === 'domain constraint') changes.everything = true;
        for (const part of byKey(`${schema}.${names?.[1] ?? ''}`)) changes.seeds.add(part.relation.oid);
      } else if (cls === 'pg_type') {
        // A dropped table's row type and array type go with it.
        if (identity === null || !droppedRelations.has(identity.replace(/\[\]$/, ''))) changes.everything = true;
      } else if (!NOT_PRINTED.has(cls)) {
        changes.everything = true;
      }
    }
    // A relation that stops depending on a seed no longer shows in pg_depend (a partition detached from its parent, a view no longer reading a table): the previous dump says which.
    if (changes.seeds.size > 0) {
      for (const part of parts) if (part.parents.some((oid) => changes.seeds.has(oid)) || part.uses.some((oid) => changes.seeds.has(oid))) changes.seeds.add(part.relation.oid);
    }
    return { changes, early, excluded };
  };

  return async (options) => {
    const key = options.exclude.join('\0');
    if (state !== null && state.excludeKey !== key) state = null;
    // A table to exclude that did not exist yet may exist now (verify's history table exists before its first dump): looked up again (with the log, in its round trip).
    const recheck = state !== null && state.excluded.size < options.exclude.length;
    const appeared = (now: ReadonlySet<string> | null) => now !== null && [...now].some((oid) => !state?.excluded.has(oid));
    if (recheck && !changeLog && appeared(await resolve(options.exclude))) state = null;
    if (state === null) {
      state = await fresh(options.exclude);
      return assemble(othersFrom(state.others, state.excluded), state.parts.values());
    }
    const current = state;
    const logged = changeLog ? await fromLog(current, recheck ? options.exclude : null) : null;
    if (logged && appeared(logged.excluded)) {
      // The log is read and emptied: read everything again, as at the first dump.
      state = await fresh(options.exclude);
      return assemble(othersFrom(state.others, state.excluded), state.parts.values());
    }
    let changes = logged?.changes ?? null;
    if (changeLog && changes === null) {
      // The log missed something, or may have: read everything once, and find changes in the catalogs from now on.
      changeLog = false;
      state = await fresh(options.exclude);
      return assemble(othersFrom(state.others, state.excluded), state.parts.values());
    }
    changes ??= await fromCatalogs(current);
    const { everything, seeds, gone } = changes;

    // What the log's round trip already read: the relations reached from the seeds the server found in the log.
    const early = everything ? null : (logged?.early ?? null);
    let dirty: Set<string>;
    if (everything) {
      dirty = new Set(current.parts.keys());
    } else {
      // Seeds only the previous dump could name (a dropped index's table, a partition no longer attached) need a walk of their own.
      const walk = early === null ? [...seeds] : [...seeds].filter((oid) => !early.seeds.has(oid));
      // The walk follows a few index entries per step; a hash join would read all of pg_depend at each.
      const [, reached] = walk.length > 0 ? await run([WALK_SETTINGS, dependentsSql(walk)]) : [[], []];
      dirty = new Set([...(early?.reached ?? []), ...(reached as { oid: string }[]).map((row) => row.oid)]);
    }
    // Schemas, types and functions change only with an `everything` change; sequences also with a sequence or a table that owns one.
    const sequences = current.others[6] as { oid: string; owner: string | null }[];
    const sequenceTouched = changes.sequence || sequences.some((row) => gone.has(row.oid) || dirty.has(row.oid) || (row.owner !== null && dirty.has(row.owner)));
    if (!everything && dirty.size === 0 && gone.size === 0 && !sequenceTouched) {
      changes.done();
      return assemble(othersFrom(current.others, current.excluded), current.parts.values());
    }
    const othersPart = everything ? othersSql() : sequenceTouched ? [othersSql()[6]!] : [];
    const pending = everything ? null : [...dirty].filter((oid) => !early?.reached.has(oid));
    const statements = [...othersPart, ...(pending === null || pending.length > 0 ? [relationsSql(pending)] : [])];
    const results = statements.length > 0 ? await run(statements) : [];
    if (everything) current.others = results.slice(0, othersPart.length);
    else if (sequenceTouched) current.others = [...current.others.slice(0, 6), results[0]!];
    const othersRows = current.others;
    const relations = ((results[othersPart.length] ?? []) as unknown as RelationRow[]).filter((relation) => !current.excluded.has(relation.oid));
    const read = relations.length === 0 ? [] : partsFrom(relations, await run(partsSql(relations.map((r) => r.oid), current.version)));
    if (early !== null && early.relations.length > 0) read.push(...partsFrom(early.relations, early.partRows));
    if (everything) current.parts.clear();
    for (const oid of dirty) current.parts.delete(oid);
    for (const oid of gone) current.parts.delete(oid);
    for (const part of read) current.parts.set(part.relation.oid, part);
    changes.done();
    return assemble(othersFrom(othersRows, current.excluded), current.parts.values());
  };
}

/** The session setting a scratch's change log is kept in, and the event triggers that write it (scratch.ts installs them). */
export const CHANGE_LOG = { setting: 'cairn.scratch_log', triggers: ['cairn_scratch_ddl', 'cairn_scratch_drop'] } as const;

/** Planner settings for the pg_depend walk (transaction-local). */
const WALK_SETTINGS = "SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)";

/** What the change log's round trip read besides the log: the seeds the server found in it, the relations reached from them, and those relations read. */
interface EarlyRead {
  readonly seeds: ReadonlySet<string>;
  readonly reached: ReadonlySet<string>;
  /** Rows of relationsSql for `reached` (excluded tables left out), and of partsSql. */
  readonly relations: readonly RelationRow[];
  readonly partRows: readonly Row[][];
}

/**
 * After changeLogSql, in the same round trip: the relations the log's
 * entries are printed with, as far as the server can tell (a created or
 * altered object's relation; a dropped relation; the table named in a
 * dropped constraint's, default's, trigger's or rule's address), followed
 * through pg_depend and read, as the dump would read them in later round
 * trips. The oids go from one statement to the next in transaction-local
 * settings (the simple query protocol takes no parameters). The log is
 * emptied in between (changeLogStateSql, whose row is the third). Hash and merge
 * joins stay off for the reads too: each looks up a handful of oids by index.
 */
function earlyReadSql(version: number): string[] {
  const entries = changeLogSql();
  const names = (n: number) => `((e.rest::json) -> 2 ->> ${n})`;
  const seeds = `SELECT CASE WHEN e.op = 'c' THEN e.owner::oid
                              WHEN e.cls = 'pg_class' THEN e.objid::oid
                              WHEN e.cls IN (${[...PRINTED_WITH_RELATION].map((cls) => `'${cls}'`).join(', ')}) THEN to_regclass(quote_ident(${names(0)}) || '.' || quote_ident(${names(1)}))::oid
                         END AS oid
                   FROM (${entries}) e`;
  const reached = "current_setting('cairn.early_reach')::oid[]";
  return [
    `SELECT set_config('cairn.early_seeds', coalesce((SELECT array_agg(DISTINCT s.oid)::text FROM (${seeds}) s WHERE s.oid IS NOT NULL), '{}'), true) AS seeds`,
    changeLogStateSql(),
    WALK_SETTINGS,
    `SELECT set_config('cairn.early_reach', coalesce((SELECT array_agg(DISTINCT w.oid)::text FROM (${dependentsSql("current_setting('cairn.early_seeds')::oid[]")}) w), '{}'), true) AS reach`,
    relationsSql(reached),
    ...partsSql(reached, version),
  ];
}

/** Catalogs whose objects are printed with a relation (dependentOf names it). */
const PRINTED_WITH_RELATION = new Set(['pg_constraint', 'pg_attrdef', 'pg_trigger', 'pg_rewrite']);
/** Catalogs whose objects no dump prints, nor any definition that is printed names. */
const NOT_PRINTED = new Set([
  'pg_policy',
  'pg_statistic_ext',
  'pg_publication',
  'pg_publication_rel',
  'pg_publication_namespace',
  'pg_subscription',
  'pg_default_acl',
  'pg_event_trigger',
  'pg_largeobject_metadata',
  'pg_user_mapping',
  'pg_foreign_data_wrapper',
  'pg_foreign_server',
]);
/** Commands that name no object and change nothing a dump prints. */
const NO_OBJECT_TAGS = new Set(['GRANT', 'REVOKE', 'ALTER DEFAULT PRIVILEGES', 'REFRESH MATERIALIZED VIEW', 'COMMENT', 'SECURITY LABEL']);
const CHANGE_LOG_TRIGGERS = CHANGE_LOG.triggers;

/** The change log's entries since it was last read (scratch.ts writes them), each created or altered object resolved to the relation it is printed with. */
function changeLogSql(): string {
  const field = (n: number) => `split_part(l, ' ', ${n})`;
  return `SELECT e.op, e.classid::regclass::text AS cls, e.objid::text AS objid, e.rest,
                 CASE WHEN e.op <> 'c' THEN NULL
                      WHEN e.classid = 'pg_type'::regclass THEN (SELECT r.oid FROM pg_type y JOIN pg_class r ON r.oid = CASE WHEN y.typrelid <> 0 THEN y.typrelid ELSE (SELECT z.typrelid FROM pg_type z WHERE z.oid = y.typelem) END
                                                                  WHERE y.oid = e.objid AND r.relkind <> 'c')::text
                      ELSE (${dependentOf('e.classid', 'e.objid')})::text END AS owner,
                 CASE WHEN e.op <> 'c' THEN NULL
                      WHEN e.classid = 'pg_class'::regclass THEN (SELECT y.relkind::text FROM pg_class y WHERE y.oid = e.objid)
                      WHEN e.classid = 'pg_type'::regclass THEN (SELECT 'type' FROM pg_type y WHERE y.oid = e.objid)
                      WHEN e.classid = 'pg_constraint'::regclass THEN (SELECT CASE WHEN y.conrelid = 0 THEN 'domain' ELSE 'table' END FROM pg_constraint y WHERE y.oid = e.objid)
                 END AS kind
            FROM (SELECT ${field(1)} AS op, nullif(${field(2)}, '')::oid AS classid, nullif(${field(3)}, '')::oid AS objid,
                         substr(l, length(${field(1)}) + length(${field(2)}) + length(${field(3)}) + 4) AS rest
                    FROM regexp_split_to_table(coalesce(current_setting('${CHANGE_LOG.setting}', true), ''), E'\\n') l WHERE l <> '') e`;
}

/** Empties the change log, and says whether it can be trusted: both triggers there and enabled, event triggers not switched off. */
function changeLogStateSql(): string {
  return `SELECT set_config('${CHANGE_LOG.setting}', '', false) AS cleared,
                 (SELECT count(*) FROM pg_event_trigger WHERE evtname IN (${CHANGE_LOG.triggers.map((name) => `'${name}'`).join(', ')}) AND evtenabled = 'A')::int AS triggers,
                 coalesce(current_setting('event_triggers', true), 'on') AS enabled`;
}


/** The oids of the tables `names` name (to_regclass, so with the session's search_path), null where there is none. */
function resolveSql(names: readonly string[]): string {
  return `SELECT ARRAY[${names.map((name) => `to_regclass(${quoteLiteral(name)})::oid::text`).join(', ')}]::text[] AS oids`;
}

function resolvedOids(rows: readonly Row[]): Set<string> {
  const oids = (rows[0] as { oids?: (string | null)[] | null } | undefined)?.oids ?? [];
  return new Set(oids.filter((oid): oid is string => typeof oid === 'string' && oid !== ''));
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
