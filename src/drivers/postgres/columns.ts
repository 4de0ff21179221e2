import type { TypedRelation } from '../columns.js';
import type { Driver } from '../types.js';

/**
 * PostgreSQL's columns, typed as `pg` returns them with its default parsers:
 * int2/int4/float/oid are numbers, but int8 and numeric are strings (they may
 * not fit a double); timestamps and dates are Dates; json/jsonb are parsed
 * (Json); bytea is a Buffer; arrays are arrays of their element; an enum is
 * the union of its labels; a domain is typed as its base type. A column with a
 * default or an identity BY DEFAULT may be left out of an insert; GENERATED
 * ALWAYS (identity or stored) columns refuse a value.
 */
export async function postgresRelations(driver: Driver, exclude: readonly string[]): Promise<TypedRelation[]> {
  const rows = await driver.query<{
    schema: string;
    relation: string;
    relkind: string;
    column: string;
    type: string;
    sql_type: string;
    category: string;
    element: string | null;
    labels: string[] | null;
    element_labels: string[] | null;
    nullable: boolean;
    has_default: boolean;
    identity: string;
    generated: string;
  }>({
    sql: `
      SELECT n.nspname AS schema, c.relname AS relation, c.relkind::text AS relkind, a.attname AS column,
             t.typname AS type, pg_catalog.format_type(a.atttypid, a.atttypmod) AS sql_type, t.typcategory::text AS category, e.typname AS element,
             (SELECT array_agg(l.enumlabel::text ORDER BY l.enumsortorder) FROM pg_catalog.pg_enum l WHERE l.enumtypid = t.oid) AS labels,
             (SELECT array_agg(l.enumlabel::text ORDER BY l.enumsortorder) FROM pg_catalog.pg_enum l WHERE l.enumtypid = e.oid) AS element_labels,
             NOT a.attnotnull AS nullable, a.atthasdef AS has_default, a.attidentity::text AS identity, a.attgenerated::text AS generated
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_catalog.pg_type t0 ON t0.oid = a.atttypid
        JOIN pg_catalog.pg_type t ON t.oid = CASE WHEN t0.typtype = 'd' THEN t0.typbasetype ELSE t0.oid END
        LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
       WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
         AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
       ORDER BY n.nspname, c.relname, a.attnum`,
  });
  const relations = new Map<string, { name: string; kind: 'table' | 'view'; columns: TypedRelation['columns'][number][] }>();
  for (const row of rows) {
    const name = row.schema === 'public' ? row.relation : `${row.schema}.${row.relation}`;
    if (exclude.includes(row.relation) && row.schema === 'public') continue;
    let relation = relations.get(name);
    if (!relation) relations.set(name, (relation = { name, kind: row.relkind === 'v' || row.relkind === 'm' ? 'view' : 'table', columns: [] }));
    const type = row.category === 'A' ? `${parenthesized(scalar(row.element ?? '', row.element_labels))}[]` : scalar(row.type, row.labels);
    const always = row.identity === 'a' || row.generated === 's';
    relation.columns.push({ name: row.column, type, sqlType: row.sql_type, nullable: row.nullable, generated: always ? 'always' : row.has_default || row.identity === 'd' ? 'default' : 'no' });
  }
  return [...relations.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function scalar(type: string, labels: readonly string[] | null): string {
  if (labels && labels.length > 0) return labels.map((label) => `'${label.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(' | ');
  switch (type) {
    case 'int2':
    case 'int4':
    case 'float4':
    case 'float8':
    case 'oid':
      return 'number';
    case 'int8':
    case 'numeric':
    case 'money':
      return 'string';
    case 'bool':
      return 'boolean';
    case 'date':
    case 'timestamp':
    case 'timestamptz':
      return 'Date';
    case 'json':
    case 'jsonb':
      return 'Json';
    case 'bytea':
      return 'Buffer';
    case 'interval':
      return 'Record<string, number>';
    case 'point':
      return '{ x: number; y: number }';
    case 'text':
    case 'varchar':
    case 'bpchar':
    case 'char':
    case 'name':
    case 'citext':
    case 'uuid':
    case 'inet':
    case 'cidr':
    case 'macaddr':
    case 'macaddr8':
    case 'time':
    case 'timetz':
    case 'xml':
    case 'bit':
    case 'varbit':
    case 'tsvector':
    case 'tsquery':
      return 'string';
    default:
      return 'unknown';
  }
}

function parenthesized(type: string): string {
  return /[|{]/.test(type) ? `(${type})` : type;
}
