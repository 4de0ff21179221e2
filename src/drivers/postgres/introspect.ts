import { collapseWhitespace, compareStrings, SnapshotBuilder, type Snapshot } from '../snapshot.js';

/**
 * The schema of a PostgreSQL database (every schema but pg_catalog,
 * information_schema, pg_toast* and pg_temp*) as a Snapshot.
 *
 * Names of objects in `public` are bare, others carry their schema
 * (`table app.orders`, `column app.orders.state`). Keys and descriptions:
 *   schema app                   schema
 *   extension pgcrypto           schema public                     (no version)
 *   table users                  [unlogged ]table[, partition by …][, partition of … for values …][, inherits …][, with (…)][, row level security]
 *   columns users                id, email, name                   (order, kept apart)
 *   column users.email           text collate "C" not null default 'x'::text | bigint not null generated always as identity
 *   primary key users            constraint users_pkey PRIMARY KEY (id)
 *   unique users (email)         constraint users_email_key UNIQUE (email)
 *   foreign key posts (user_id)  constraint posts_user_id_fkey (user_id) → users (id) on delete cascade on update no action
 *   check users users_age_check  CHECK ((age >= 0))
 *   exclude rooms rooms_no_overlap  EXCLUDE USING gist (…)
 *   index users_lower_idx        CREATE INDEX users_lower_idx ON public.users USING btree (lower(email))
 *   view active_users            SELECT users.id, … (pg_get_viewdef)[ with (…)]
 *   materialized view totals     SELECT … (pg_get_viewdef)
 *   trigger posts_touch on posts CREATE TRIGGER posts_touch BEFORE UPDATE ON public.posts FOR EACH ROW EXECUTE FUNCTION touch()
 *   sequence users_id_seq        integer start 1 increment 1 min 1 max 2147483647 cache 1[ cycle][ owned by users.id[ (identity)]]
 *   enum order_state             'pending', 'paid'
 *   domain email                 text not null CHECK (…)
 *   type point3                  (x double precision, y double precision)
 *   function touch()             CREATE OR REPLACE FUNCTION public.touch() RETURNS trigger … (whitespace collapsed)
 *
 * Unique and foreign keys are keyed by their columns, checks and exclusion
 * constraints by name (trigger names are per table, so triggers name theirs).
 * Indexes that back a primary key, unique or exclusion constraint are left to
 * the constraint. Objects that belong to an extension are left to the
 * extension. `exclude` names tables as Cairn does (resolved with the session's
 * search_path, or schema-qualified): they are left out with their columns,
 * constraints, indexes, triggers and owned sequences.
 *
 * Definitions printed by the server depend on search_path (what needs
 * qualifying), so it is set to `public` while reading and restored after.
 *
 * `home` (schema-per-tenant, `?schema=tenant_7`): the tenant's schema is the
 * database. Only its objects are read (the other tenants' schemas and
 * `public` are not this tenant's), search_path is set to it while reading,
 * and it is written as `public` would be: names bare, and where the server
 * always qualifies (pg_get_indexdef's `ON tenant_7.users`, a function's
 * `CREATE FUNCTION tenant_7.touch()`) as `public.`. So a tenant's schema
 * reads exactly as the same migrations give in an ordinary database, which
 * is where drift and verify replay them.
 */
/** What introspection needs of a connection: `pg`'s Client and PGlite both fit. */
export interface PgQueryable {
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: Row[] }>;
}

export function introspectPostgres(client: PgQueryable, options: { readonly exclude: readonly string[]; readonly home?: string | undefined }): Promise<Snapshot> {
  return readingAsPublic(client, options.exclude, (excluded) => read(client, excluded, options.home), options.home);
}

/**
 * Runs `work` with search_path = public, or the tenant's `home` schema
 * (definitions the server prints then qualify every other schema), and the
 * oids of the `exclude` tables, restoring the session's search_path after.
 * Shared by introspection and dump.
 */
export async function readingAsPublic<T>(client: PgQueryable, exclude: readonly string[], work: (excluded: ReadonlySet<string>) => Promise<T>, home?: string): Promise<T> {
  const excluded = new Set<string>();
  for (const name of exclude) {
    const { rows } = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::oid::text AS oid', [name]);
    if (rows[0]?.oid) excluded.add(rows[0].oid);
  }
  const { rows: saved } = await client.query<{ path: string }>("SELECT current_setting('search_path') AS path");
  await client.query("SELECT set_config('search_path', quote_ident($1), false)", [home ?? 'public']);
  try {
    return await work(excluded);
  } finally {
    await client.query("SELECT set_config('search_path', $1, false)", [saved[0]?.path ?? '"$user", public']).catch(() => undefined);
  }
}

/** Ordinary and partitioned tables in user schemas, not an extension's (PostGIS's spatial_ref_sys) nor the `exclude`d ones. */
/** Tables of the user's schemas; with `schema` (a tenant's schema), of that schema only: the other tenants' tables are not this database's. */
export async function postgresUserTables(client: PgQueryable, exclude: readonly string[], schema?: string): Promise<string[]> {
  const { rows: excluded } = await client.query<{ oid: string | null }>('SELECT to_regclass(name)::oid::text AS oid FROM unnest($1::text[]) AS name', [[...exclude]]);
  const { rows } = await client.query<{ oid: string; schema: string; name: string }>(
    `SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND ${userSchema('n.nspname')} AND NOT ${memberOfExtension('pg_class', 'c.oid')}
        AND ($1::text IS NULL OR n.nspname = $1)`,
    [schema ?? null],
  );
  const skip = new Set(excluded.map((row) => row.oid));
  return rows.filter((row) => !skip.has(row.oid)).map((row) => qualify(row.schema, row.name)).sort();
}

/** A catalog object that belongs to an extension (pg_depend deptype 'e'). `$catalog` is the object's catalog. */
const memberOfExtension = (catalog: string, oid: string) =>
  `EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '${catalog}'::regclass AND e.objid = ${oid} AND e.deptype = 'e')`;

const userSchema = (column: string) => `(${column} <> 'information_schema' AND ${column} !~ '^pg_')`;

function qualify(schema: string, name: string): string {
  return schema === 'public' ? name : `${schema}.${name}`;
}

/**
 * How a read treats schemas: which it reads (`inScope`, an SQL condition on a
 * schema-name column), how it names objects, and how it rewrites what the
 * server printed. Without a home: every user schema, `public` bare.
 */
export interface SchemaScope {
  inScope(column: string): string;
  /** `name` in the home schema, else `schema.name`. */
  qualify(schema: string, name: string): string;
  /** What the server printed, with the home schema's qualifier written as `public.`. */
  asPublic(text: string): string;
  /** A schema's name as the snapshot and dump show it (the home schema is `public`). */
  schemaName(schema: string): string;
}

export function schemaScope(home: string | undefined): SchemaScope {
  if (home === undefined || home === 'public') return { inScope: userSchema, qualify, asPublic: (text) => text, schemaName: (schema) => schema };
  const literal = `'${home.replace(/'/g, "''")}'`;
  // As quote_ident prints it; both spellings where it need not be quoted (a keyword is quoted by the server).
  const spellings = [`"${home.replace(/"/g, '""')}"`, ...(/^[a-z_][a-z0-9_$]*$/.test(home) ? [home] : [])];
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const qualifier = new RegExp(`(?<![\\w$".])(?:${spellings.map(escape).join('|')})\\.`, 'g');
  return {
    inScope: (column) => `(${column} = ${literal})`,
    qualify: (schema, name) => (schema === home ? name : `${schema}.${name}`),
    asPublic: (text) => text.replace(qualifier, 'public.'),
    schemaName: (schema) => (schema === home ? 'public' : schema),
  };
}

const ACTIONS: Record<string, string> = { a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default' };
const MATCH: Record<string, string> = { f: 'full', p: 'partial', s: 'simple' };
const TRIGGER_STATE: Record<string, string> = { D: ' (disabled)', R: ' (enabled replica)', A: ' (enabled always)' };

async function read(client: PgQueryable, excluded: ReadonlySet<string>, home: string | undefined): Promise<Snapshot> {
  const snapshot = new SnapshotBuilder();
  const scope = schemaScope(home);
  const builder = { add: (key: string, description: string) => snapshot.add(key, scope.asPublic(description)) };
  const { qualify } = scope;
  const userSchema = scope.inScope;
  const query = async <Row extends object>(sql: string, params: unknown[] = []) => (await client.query<Row>(sql, params)).rows as Row[];

  // Schemas and extensions.
  for (const row of await query<{ name: string }>(
    `SELECT n.nspname AS name FROM pg_namespace n WHERE ${userSchema('n.nspname')} AND NOT ${memberOfExtension('pg_namespace', 'n.oid')}`,
  )) {
    builder.add(`schema ${scope.schemaName(row.name)}`, 'schema');
  }
  for (const row of await query<{ name: string; schema: string }>(
    `SELECT e.extname AS name, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace${home === undefined ? '' : ` WHERE ${userSchema('n.nspname')} OR n.nspname = 'pg_catalog'`}`,
  )) {
    builder.add(`extension ${row.name}`, `schema ${scope.schemaName(row.schema)}`);
  }

  // Relations: tables, views, materialized views, foreign tables.
  const relations = (
    await query<{
      oid: string;
      schema: string;
      name: string;
      kind: string;
      persistence: string;
      partition: boolean;
      partkey: string | null;
      bound: string | null;
      options: string[] | null;
      rls: boolean;
      forcedRls: boolean;
      viewdef: string | null;
    }>(
      `SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.relpersistence AS persistence,
              c.relispartition AS partition,
              CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey,
              CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound,
              c.reloptions::text[] AS options, c.relrowsecurity AS rls, c.relforcerowsecurity AS "forcedRls",
              CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS viewdef
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND ${userSchema('n.nspname')}
          AND NOT ${memberOfExtension('pg_class', 'c.oid')}`,
    )
  ).filter((relation) => !excluded.has(relation.oid));
  const byOid = new Map(relations.map((relation) => [relation.oid, relation]));
  const nameOf = (oid: string) => {
    const relation = byOid.get(oid);
    return relation ? qualify(relation.schema, relation.name) : null;
  };
  const oids = relations.map((relation) => relation.oid);

  const parents = await query<{ child: string; parent: string; parentSchema: string; parentName: string }>(
    `SELECT i.inhrelid::text AS child, i.inhparent::text AS parent, n.nspname AS "parentSchema", c.relname AS "parentName"
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE i.inhrelid = ANY($1::oid[]) ORDER BY i.inhrelid, i.inhseqno`,
    [oids],
  );

  for (const relation of relations) {
    const name = qualify(relation.schema, relation.name);
    const options = relation.options ? ` with (${[...relation.options].sort(compareStrings).join(', ')})` : '';
    if (relation.kind === 'v' || relation.kind === 'm') {
      const kind = relation.kind === 'v' ? 'view' : 'materialized view';
      builder.add(`${kind} ${name}`, `${collapseWhitespace(relation.viewdef ?? '')}${options}`);
      continue;
    }
    const kind = relation.kind === 'p' ? 'partitioned table' : relation.kind === 'f' ? 'foreign table' : 'table';
    const parts = [`${relation.persistence === 'u' ? 'unlogged ' : ''}${kind}`];
    if (relation.partkey) parts.push(`partition by ${relation.partkey}`);
    const inherited = parents.filter((row) => row.child === relation.oid).map((row) => qualify(row.parentSchema, row.parentName));
    if (relation.partition) parts.push(`partition of ${inherited[0] ?? '?'} ${relation.bound ?? ''}`.trim());
    else if (inherited.length > 0) parts.push(`inherits ${inherited.join(', ')}`);
    if (options) parts.push(options.trim());
    if (relation.rls) parts.push(relation.forcedRls ? 'forced row level security' : 'row level security');
    builder.add(`table ${name}`, parts.join(', '));
  }

  // Columns of tables (views' columns follow from their definitions).
  const tableOids = relations.filter((relation) => ['r', 'p', 'f'].includes(relation.kind)).map((relation) => relation.oid);
  const columns = await query<{
    table: string;
    name: string;
    type: string;
    collation: string | null;
    notNull: boolean;
    identity: string;
    generated: string;
    def: string | null;
  }>(
    `SELECT a.attrelid::text AS "table", a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN
              (SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname) ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
                 FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation)
            END AS collation,
            a.attnotnull AS "notNull", a.attidentity AS identity, a.attgenerated AS generated,
            pg_get_expr(d.adbin, d.adrelid) AS def
       FROM pg_attribute a
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [tableOids],
  );
  const order = new Map<string, string[]>();
  for (const column of columns) {
    const table = nameOf(column.table)!;
    order.set(table, [...(order.get(table) ?? []), column.name]);
    const parts = [column.type];
    if (column.collation) parts.push(`collate ${column.collation}`);
    if (column.notNull) parts.push('not null');
    if (column.generated === 's') parts.push(`generated always as (${column.def ?? '?'}) stored`);
    else if (column.def !== null) parts.push(`default ${column.def}`);
    if (column.identity === 'a') parts.push('generated always as identity');
    if (column.identity === 'd') parts.push('generated by default as identity');
    builder.add(`column ${table}.${column.name}`, parts.join(' '));
  }
  for (const [table, names] of order) builder.add(`columns ${table}`, names.join(', '));

  // Constraints: primary, unique and foreign keys by columns; checks and exclusions by name.
  const constraints = await query<{
    table: string;
    name: string;
    type: string;
    def: string;
    columns: string[];
    refSchema: string | null;
    refTable: string | null;
    refColumns: string[] | null;
    onUpdate: string;
    onDelete: string;
    matching: string;
    deferrable: boolean;
    deferred: boolean;
    validated: boolean;
  }>(
    `SELECT k.conrelid::text AS "table", k.conname AS name, k.contype AS type, pg_get_constraintdef(k.oid) AS def,
            ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS u(num, pos)
                    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num ORDER BY u.pos)::text[] AS columns,
            rn.nspname AS "refSchema", rc.relname AS "refTable",
            ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY AS u(num, pos)
                    JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num ORDER BY u.pos)::text[] AS "refColumns",
            k.confupdtype AS "onUpdate", k.confdeltype AS "onDelete", k.confmatchtype AS matching,
            k.condeferrable AS deferrable, k.condeferred AS deferred, k.convalidated AS validated
       FROM pg_constraint k
       LEFT JOIN pg_class rc ON rc.oid = k.confrelid
       LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
      WHERE k.conrelid = ANY($1::oid[]) AND k.contype IN ('p', 'u', 'f', 'c', 'x')
        -- A foreign key to a partitioned table has a clone per partition on the same table: the parent stands for them.
        AND NOT EXISTS (SELECT 1 FROM pg_constraint parent WHERE parent.oid = k.conparentid AND parent.conrelid = k.conrelid)`,
    [tableOids],
  );
  for (const constraint of constraints) {
    const table = nameOf(constraint.table)!;
    const columnList = `(${constraint.columns.join(', ')})`;
    switch (constraint.type) {
      case 'p':
        builder.add(`primary key ${table}`, `constraint ${constraint.name} ${constraint.def}`);
        break;
      case 'u':
        builder.add(`unique ${table} ${columnList}`, `constraint ${constraint.name} ${constraint.def}`);
        break;
      case 'f': {
        const target = qualify(constraint.refSchema ?? '?', constraint.refTable ?? '?');
        let text = `constraint ${constraint.name} ${columnList} → ${target} (${(constraint.refColumns ?? []).join(', ')})`;
        text += ` on delete ${ACTIONS[constraint.onDelete] ?? constraint.onDelete} on update ${ACTIONS[constraint.onUpdate] ?? constraint.onUpdate}`;
        if (constraint.matching !== 's') text += ` match ${MATCH[constraint.matching] ?? constraint.matching}`;
        if (constraint.deferrable) text += constraint.deferred ? ' deferrable initially deferred' : ' deferrable';
        if (!constraint.validated) text += ' not valid';
        builder.add(`foreign key ${table} ${columnList}`, text);
        break;
      }
      case 'c':
        builder.add(`check ${table} ${constraint.name}`, constraint.def);
        break;
      case 'x':
        builder.add(`exclude ${table} ${constraint.name}`, constraint.def);
        break;
    }
  }

  // Indexes, except those a constraint owns (its key says it all).
  const indexes = await query<{ schema: string; name: string; def: string; valid: boolean }>(
    `SELECT n.nspname AS schema, c.relname AS name, pg_get_indexdef(i.indexrelid) AS def, i.indisvalid AS valid
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE i.indrelid = ANY($1::oid[])
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))`,
    [oids],
  );
  for (const index of indexes) builder.add(`index ${qualify(index.schema, index.name)}`, `${index.def}${index.valid ? '' : ' (invalid)'}`);

  // Triggers the user created (not the internal ones behind foreign keys).
  const triggers = await query<{ table: string; name: string; def: string; enabled: string }>(
    `SELECT t.tgrelid::text AS "table", t.tgname AS name, pg_get_triggerdef(t.oid) AS def, t.tgenabled AS enabled
       FROM pg_trigger t WHERE t.tgrelid = ANY($1::oid[]) AND NOT t.tgisinternal`,
    [oids],
  );
  for (const trigger of triggers) builder.add(`trigger ${trigger.name} on ${nameOf(trigger.table)!}`, `${trigger.def}${TRIGGER_STATE[trigger.enabled] ?? ''}`);

  // Sequences, with the column that owns them (serial, identity, OWNED BY).
  const sequences = await query<{
    schema: string;
    name: string;
    type: string;
    start: string;
    increment: string;
    min: string;
    max: string;
    cache: string;
    cycle: boolean;
    owner: string | null;
    ownerColumn: string | null;
    dependency: string | null;
  }>(
    `SELECT n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type,
            s.seqstart::text AS start, s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max,
            s.seqcache::text AS cache, s.seqcycle AS cycle,
            d.refobjid::text AS owner, a.attname AS "ownerColumn", d.deptype::text AS dependency
       FROM pg_sequence s
       JOIN pg_class c ON c.oid = s.seqrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
                            AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
       LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
      WHERE ${userSchema('n.nspname')} AND NOT ${memberOfExtension('pg_class', 'c.oid')}`,
  );
  for (const sequence of sequences) {
    if (sequence.owner !== null && excluded.has(sequence.owner)) continue;
    let text = `${sequence.type} start ${sequence.start} increment ${sequence.increment} min ${sequence.min} max ${sequence.max} cache ${sequence.cache}`;
    if (sequence.cycle) text += ' cycle';
    if (sequence.owner !== null) {
      text += ` owned by ${nameOf(sequence.owner) ?? '?'}.${sequence.ownerColumn ?? '?'}`;
      if (sequence.dependency === 'i') text += ' (identity)';
    }
    builder.add(`sequence ${qualify(sequence.schema, sequence.name)}`, text);
  }

  // Types: enums, domains, composite types.
  const typeFilter = `${userSchema('n.nspname')} AND NOT ${memberOfExtension('pg_type', 't.oid')}`;
  for (const row of await query<{ schema: string; name: string; labels: string[] }>(
    `SELECT n.nspname AS schema, t.typname AS name, ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)::text[] AS labels
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'e' AND ${typeFilter}`,
  )) {
    builder.add(`enum ${qualify(row.schema, row.name)}`, row.labels.map((label) => `'${label.replace(/'/g, "''")}'`).join(', '));
  }
  for (const row of await query<{ schema: string; name: string; base: string; notNull: boolean; def: string | null; checks: string[] }>(
    `SELECT n.nspname AS schema, t.typname AS name, format_type(t.typbasetype, t.typtypmod) AS base, t.typnotnull AS "notNull", t.typdefault AS def,
            ARRAY(SELECT 'constraint ' || quote_ident(k.conname) || ' ' || pg_get_constraintdef(k.oid) FROM pg_constraint k WHERE k.contypid = t.oid ORDER BY k.conname)::text[] AS checks
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'd' AND ${typeFilter}`,
  )) {
    const parts = [row.base];
    if (row.notNull) parts.push('not null');
    if (row.def !== null) parts.push(`default ${row.def}`);
    parts.push(...row.checks);
    builder.add(`domain ${qualify(row.schema, row.name)}`, parts.join(' '));
  }
  for (const row of await query<{ schema: string; name: string; attributes: string[] }>(
    `SELECT n.nspname AS schema, t.typname AS name,
            ARRAY(SELECT quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                   WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)::text[] AS attributes
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_class c ON c.oid = t.typrelid
      WHERE t.typtype = 'c' AND c.relkind = 'c' AND ${typeFilter}`,
  )) {
    builder.add(`type ${qualify(row.schema, row.name)}`, `(${row.attributes.join(', ')})`);
  }

  // Functions and procedures (not aggregates), whitespace collapsed.
  for (const row of await query<{ schema: string; name: string; args: string; def: string }>(
    `SELECT n.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args, pg_get_functiondef(p.oid) AS def
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE p.prokind IN ('f', 'p') AND ${userSchema('n.nspname')} AND NOT ${memberOfExtension('pg_proc', 'p.oid')}`,
  )) {
    builder.add(`function ${qualify(row.schema, row.name)}(${row.args})`, collapseWhitespace(row.def));
  }

  return snapshot.build();
}
