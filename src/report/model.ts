import { compareStrings, type Snapshot } from '../drivers/snapshot.js';

/**
 * The schema as a diagram needs it: tables with their columns and keys,
 * views, and foreign keys as edges. Read from a driver's Snapshot
 * (drivers/snapshot.ts), so it is the same for every engine: the keys and
 * descriptions the drivers write are documented in drivers/<db>/introspect.ts.
 */
export interface SchemaModel {
  /** Tables and views, sorted by name. */
  readonly relations: readonly DiagramRelation[];
  readonly edges: readonly DiagramEdge[];
}

export interface DiagramRelation {
  /** As Cairn names it: schema-qualified outside the default schema (`audit.events`). */
  readonly name: string;
  /** The PostgreSQL schema it lives in; null for the default one (public, SQLite's main). */
  readonly schema: string | null;
  readonly kind: 'table' | 'view' | 'materialized view';
  /** A view's columns are what its query returns: name and type (keys and NOT NULL are the tables'). */
  readonly columns: readonly DiagramColumn[];
}

export interface DiagramColumn {
  readonly name: string;
  /** The engine's spelling of its type; empty when it has none (SQLite allows that). */
  readonly type: string;
  readonly primaryKey: boolean;
  /** Part of a foreign key of its table. */
  readonly foreignKey: boolean;
  /** Part of a unique key of its table. */
  readonly unique: boolean;
  readonly nullable: boolean;
}

export interface DiagramEdge {
  /** The referencing table (the child). */
  readonly from: string;
  readonly fromColumns: readonly string[];
  /** The referenced table (the parent); for a view, a table it reads. */
  readonly to: string;
  readonly toColumns: readonly string[];
  /** `foreign key`, or `reads` from a view to a table its definition names. */
  readonly kind: 'foreign key' | 'reads';
  /** `cascade`, `set null`, `restrict`, `no action`, `set default`; null for `reads`. */
  readonly onDelete: string | null;
  /** Every referencing column is NOT NULL: each child row has a parent. */
  readonly required: boolean;
}

const TYPE_END = [' collate ', ' not null', ' default ', ' generated ', ' hidden'];

/** Each view's columns as the database reports them (a snapshot keeps only a view's definition). */
export type ViewColumns = ReadonlyMap<string, readonly { readonly name: string; readonly type: string; readonly nullable: boolean }[]>;

export function schemaModel(snapshot: Snapshot, views: ViewColumns = new Map()): SchemaModel {
  const objects = snapshot.objects;
  const keys = Object.keys(objects);
  const relations: DiagramRelation[] = [];
  const tableNames = keys.filter((key) => key.startsWith('table ')).map((key) => key.slice('table '.length));
  const known = new Set(tableNames);

  // Keys of the form `<kind> <table> (<columns>)`: the table is the longest known name before ` (`.
  const keyed = (prefix: string) => {
    const found: { table: string; columns: string[]; description: string }[] = [];
    for (const key of keys) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      const open = rest.lastIndexOf(' (');
      const table = rest.slice(0, open);
      if (open < 0 || !known.has(table)) continue;
      found.push({ table, columns: splitList(rest.slice(open + 2, -1)), description: objects[key]! });
    }
    return found;
  };

  const uniques = keyed('unique ');
  const foreignKeys = keyed('foreign key ').flatMap((fk) => fk.description.split(/; (?=\(|constraint )/).map((description) => ({ ...fk, reference: parseReference(description) })));

  for (const table of tableNames) {
    const primary = new Set(parsePrimaryKey(objects[`primary key ${table}`]));
    const unique = new Set(uniques.filter((u) => u.table === table).flatMap((u) => u.columns));
    const referencing = new Set(foreignKeys.filter((fk) => fk.table === table).flatMap((fk) => fk.columns));
    const names = splitList(objects[`columns ${table}`] ?? '');
    const columns = names.map((name): DiagramColumn => {
      const description = objects[`column ${table}.${name}`] ?? '';
      const end = Math.min(...TYPE_END.map((marker) => description.indexOf(marker)).filter((at) => at >= 0), description.length);
      const type = description.slice(0, end);
      const beforeDefault = description.split(/ default | generated /)[0]!;
      return {
        name,
        type: type === '(no type)' ? '' : type,
        primaryKey: primary.has(name),
        foreignKey: referencing.has(name),
        unique: unique.has(name),
        nullable: !beforeDefault.includes(' not null') && !primary.has(name),
      };
    });
    relations.push({ name: table, schema: schemaOf(table, objects), kind: 'table', columns });
  }

  const edges: DiagramEdge[] = [];
  for (const fk of foreignKeys) {
    const { reference } = fk;
    if (!reference) continue;
    const columns = relations.find((r) => r.name === fk.table)?.columns ?? [];
    const required = fk.columns.every((name) => columns.find((c) => c.name === name)?.nullable === false);
    edges.push({ from: fk.table, fromColumns: fk.columns, to: reference.target, toColumns: reference.columns, kind: 'foreign key', onDelete: reference.onDelete, required });
  }

  for (const key of keys) {
    const kind = key.startsWith('view ') ? 'view' : key.startsWith('materialized view ') ? 'materialized view' : null;
    if (!kind) continue;
    const name = key.slice(kind.length + 1);
    const columns = (views.get(name) ?? []).map((c): DiagramColumn => ({ name: c.name, type: c.type, primaryKey: false, foreignKey: false, unique: false, nullable: c.nullable }));
    relations.push({ name, schema: schemaOf(name, objects), kind, columns });
    for (const table of namesRead(objects[key]!, tableNames)) {
      edges.push({ from: name, fromColumns: [], to: table, toColumns: [], kind: 'reads', onDelete: null, required: false });
    }
  }

  relations.sort((a, b) => compareStrings(a.name, b.name));
  return { relations, edges };
}

/** `audit` for `audit.events` when the snapshot lists schema `audit` (PostgreSQL); else null. */
function schemaOf(name: string, objects: Readonly<Record<string, string>>): string | null {
  const dot = name.indexOf('.');
  if (dot < 0) return null;
  const schema = name.slice(0, dot);
  return Object.hasOwn(objects, `schema ${schema}`) ? schema : null;
}

function splitList(text: string): string[] {
  return text === '' ? [] : text.split(', ').map(unquote);
}

function unquote(name: string): string {
  return /^".*"$/.test(name) ? name.slice(1, -1).replace(/""/g, '"') : name;
}

/** `primary key (id)` (SQLite) or `constraint users_pkey PRIMARY KEY (id)` (PostgreSQL). */
function parsePrimaryKey(description: string | undefined): string[] {
  const match = description ? /primary key \(([^)]*)\)/i.exec(description) : null;
  return match ? splitList(match[1]!) : [];
}

/** `[constraint name ](user_id) → users (id) on delete cascade on update no action[ …]`. */
function parseReference(description: string): { target: string; columns: string[]; onDelete: string } | null {
  const arrow = description.indexOf(') → ');
  const onDelete = description.indexOf(' on delete ');
  const onUpdate = description.indexOf(' on update ', onDelete);
  if (arrow < 0 || onDelete < arrow || onUpdate < 0) return null;
  const target = description.slice(arrow + 4, onDelete);
  const open = target.lastIndexOf(' (');
  return {
    target: open >= 0 && target.endsWith(')') ? target.slice(0, open) : target,
    columns: open >= 0 && target.endsWith(')') ? splitList(target.slice(open + 2, -1)) : [],
    onDelete: description.slice(onDelete + ' on delete '.length, onUpdate),
  };
}

/** The tables a view's definition names, by whole identifier (qualified or not). */
function namesRead(definition: string, tables: readonly string[]): string[] {
  const words = new Set(definition.toLowerCase().match(/[\w$.]+/g) ?? []);
  const qualifiers = new Set([...words].map((word) => word.split('.')[0]!)); // `users` of `users.id`
  return tables.filter((table) => {
    const lower = table.toLowerCase();
    return words.has(lower) || (!lower.includes('.') && qualifiers.has(lower)) || words.has(`public.${lower}`);
  });
}
