import Database from 'better-sqlite3';
import { CairnError } from '../../errors.js';
import { introspectSqlite, normalizeSql, queryOf, render, tokenize, type Token } from '../../drivers/sqlite/introspect.js';
import { keysByTable, mentions, quote, same, sameEntries, SqliteSchema, type ColumnInfo, type SqliteObject } from './schema.js';
import { quoteLiteral } from '../../sql/quote.js';

/**
 * From one SQLite schema to another: the statements, in an order SQLite
 * accepts, and what each change is. Changes `ALTER TABLE` can make in place
 * (rename, add or drop a column) are tried on a one-table copy first and kept
 * only when SQLite's own description of the result equals the desired one;
 * everything else is the 12-step rebuild (rebuild.ts).
 */
export interface Rename {
  /** The table of a column rename; null for a table rename. */
  readonly table: string | null;
  readonly from: string;
  readonly to: string;
}

export interface SqlitePlanOptions {
  readonly renames: readonly Rename[];
  readonly allowDrop: boolean;
  /** `table.column` or `column` (lower-cased) → the SQL expression that fills it in a rebuild. */
  readonly fill: ReadonlyMap<string, string>;
  /**
   * True where foreign keys cannot be switched off (D1: batch-only
   * atomicity): children are copied aside and put back inside one batch.
   * False: a no-transaction migration with `PRAGMA foreign_keys = off`.
   */
  readonly copyAside: boolean;
}

export type ChangeKind =
  | 'rename-table' | 'rename-column' | 'create-table' | 'drop-table' | 'add-column' | 'drop-column' | 'rebuild-table'
  | 'create-index' | 'drop-index' | 'create-view' | 'drop-view' | 'create-trigger' | 'drop-trigger';

export interface Change {
  readonly kind: ChangeKind;
  /** `users`, `users.phone`, `users_email_idx`. */
  readonly object: string;
  /** Why, for a rebuild: the differences SQLite reports between the two definitions. */
  readonly why?: readonly string[];
}

export interface SqlitePlan {
  readonly changes: readonly Change[];
  readonly statements: readonly string[];
  /** True when the statements are written for a `-- cairn:no-transaction` file (their own BEGIN/COMMIT). */
  readonly noTransaction: boolean;
  /**
   * `-- cairn:assert` header lines (source/assertions.ts): one per rebuilt
   * table, "every row of t fits its new definition", counted before anything
   * runs, so a copy that would lose or refuse rows applies nothing and says why.
   */
  readonly assertions: readonly string[];
}

const GUARD = 'cairn_rebuild_guard';

export async function planSqlite(currentSql: string, desiredSql: string, desiredFile: string, options: SqlitePlanOptions): Promise<SqlitePlan> {
  const current = SqliteSchema.load(currentSql, 'the schema the migrations produce');
  const desired = SqliteSchema.load(desiredSql, desiredFile);
  try {
    return await plan(current, desired, options);
  } finally {
    current.close();
    desired.close();
  }
}

async function plan(current: SqliteSchema, desired: SqliteSchema, options: SqlitePlanOptions): Promise<SqlitePlan> {
  const changes: Change[] = [];
  const head: string[] = [];

  // Renames run first, on the in-memory copy too: SQLite rewrites what refers to the old names.
  for (const rename of [...options.renames].sort((a, b) => Number(a.table === null) - Number(b.table === null))) {
    const sql = renameStatement(current, rename);
    current.db.exec(sql);
    head.push(sql);
    changes.push({ kind: rename.table === null ? 'rename-table' : 'rename-column', object: rename.table === null ? `${rename.from} → ${rename.to}` : `${rename.table}.${rename.from} → ${rename.to}` });
  }

  const currentObjects = current.objects();
  const desiredObjects = desired.objects();
  for (const object of [...currentObjects, ...desiredObjects]) {
    if (object.type === 'table' && /^create\s+virtual/i.test(object.sql)) {
      const other = (object === currentObjects.find((o) => o === object) ? desiredObjects : currentObjects).find((o) => o.type === 'table' && same(o.name, object.name));
      if (!other || normalizeSql(other.sql) !== normalizeSql(object.sql)) {
        throw new CairnError('USAGE', `virtual table ${object.name} differs: cairn diff does not write changes to virtual tables`, { hint: `write that part by hand in a migration of its own (DROP TABLE ${object.name}; CREATE VIRTUAL TABLE …; refill it), then diff again` });
      }
    }
  }
  const currentTables = currentObjects.filter((o) => o.type === 'table');
  const desiredTables = desiredObjects.filter((o) => o.type === 'table');
  const [currentSnapshot, desiredSnapshot] = [await current.snapshot(), await desired.snapshot()];
  const currentKeys = keysByTable(currentSnapshot, currentTables.map((t) => t.name));
  const desiredKeys = keysByTable(desiredSnapshot, desiredTables.map((t) => t.name));

  const added = desiredTables.filter((t) => !currentTables.some((c) => same(c.name, t.name)));
  const removed = currentTables.filter((t) => !desiredTables.some((d) => same(d.name, t.name)));
  const inPlace: { table: string; statements: string[]; changes: Change[] }[] = [];
  const rebuilt: { table: SqliteObject; why: string[] }[] = [];
  const refused: string[] = removed.map((t) => `table ${t.name}`);

  for (const wanted of desiredTables) {
    const was = currentTables.find((c) => same(c.name, wanted.name));
    if (!was) continue;
    const before = currentKeys.get(was.name.toLowerCase());
    const after = desiredKeys.get(wanted.name.toLowerCase());
    if (sameEntries(before, after)) continue;
    const alter = await alterInPlace(current, desired, was, wanted);
    if (alter) {
      refused.push(...alter.changes.filter((c) => c.kind === 'drop-column').map((c) => `column ${c.object}`));
      inPlace.push({ table: wanted.name, ...alter });
    } else {
      const gone = current.columns(was.name).filter((c) => !desired.columns(wanted.name).some((d) => same(d.name, c.name)));
      refused.push(...gone.map((c) => `column ${wanted.name}.${c.name}`));
      rebuilt.push({ table: wanted, why: describe(before ?? {}, after ?? {}) });
    }
  }
  if (refused.length > 0 && !options.allowDrop) {
    throw new CairnError('USAGE', `the desired schema drops ${refused.join(', ')}, and cairn diff does not drop data unless told to`, {
      hint: 'if a name changed, say so: --rename table.old=new (or --rename old_table=new_table); to drop, pass --allow-drop --reason "<why the data can go>"',
      details: { drops: refused },
    });
  }

  // Where children are copied aside and put back, their triggers must not fire on the way: dropped first, recreated after.
  const rebuild = new Rebuilder(current, desired, options, inPlace.map((t) => t.table));
  const families = new Set(options.copyAside ? rebuilt.flatMap((t) => rebuild.family(t.table.name).map((f) => f.table.toLowerCase())) : []);
  // Tables whose shape changes: views and other tables' triggers that name them are dropped first and recreated after.
  const altered = new Set([...inPlace.map((t) => t.table.toLowerCase()), ...rebuilt.map((t) => t.table.name.toLowerCase()), ...removed.map((t) => t.name.toLowerCase())]);
  const rebuiltNames = new Set(rebuilt.map((t) => t.table.name.toLowerCase()));
  const goneWithTable = (o: SqliteObject) => o.type !== 'view' && (rebuiltNames.has(o.table.toLowerCase()) || removed.some((t) => same(t.name, o.table)));
  const index = (list: readonly SqliteObject[]) => new Map(list.map((o) => [`${o.type} ${o.name.toLowerCase()}`, o]));
  const [currentIndex, desiredIndex] = [index(currentObjects), index(desiredObjects)];
  const counterpart = (o: SqliteObject, list: readonly SqliteObject[]) => (list === currentObjects ? currentIndex : desiredIndex).get(`${o.type} ${o.name.toLowerCase()}`);
  const dependents = [...currentObjects, ...desiredObjects].filter((o) => o.type === 'view' || o.type === 'trigger');
  const affected = new Set<string>(); // `type name`, lower-cased
  const key = (o: SqliteObject) => `${o.type} ${o.name.toLowerCase()}`;
  for (const o of [...currentObjects, ...desiredObjects]) {
    if (o.type === 'table') continue;
    const other = counterpart(o, currentObjects.includes(o) ? desiredObjects : currentObjects);
    const changed = !other || normalizeSql(other.sql) !== normalizeSql(o.sql) || (o.type !== 'view' && !same(other.table, o.table));
    if (changed || goneWithTable(o) || (o.type === 'trigger' && families.has(o.table.toLowerCase())) || (o.type !== 'index' && [...altered].some((t) => mentions(o.sql, t)))) affected.add(key(o));
  }
  // Views and triggers that name an affected view are affected too.
  for (let grew = true; grew; ) {
    grew = false;
    for (const o of dependents) {
      if (affected.has(key(o))) continue;
      if ([...affected].some((k) => k.startsWith('view ') && mentions(o.sql, k.slice(5)))) {
        affected.add(key(o));
        grew = true;
      }
    }
  }

  const statements: string[] = [...head];
  // Triggers go explicitly even when their table is rebuilt: until then, one that names another rebuilt table blocks its rename.
  const drops = currentObjects.filter((o) => o.type !== 'table' && affected.has(key(o)) && (o.type === 'trigger' || !goneWithTable(o))).reverse();
  for (const o of [...drops.filter((o) => o.type === 'trigger'), ...drops.filter((o) => o.type === 'view'), ...drops.filter((o) => o.type === 'index')]) {
    statements.push(`DROP ${o.type.toUpperCase()} ${quote(o.name)}`);
    if (!counterpart(o, desiredObjects)) changes.push({ kind: `drop-${o.type}` as ChangeKind, object: o.name });
  }
  for (const table of added) {
    statements.push(table.sql);
    changes.push({ kind: 'create-table', object: table.name });
  }
  for (const alter of inPlace) {
    statements.push(...alter.statements);
    changes.push(...alter.changes);
  }
  const assertions: string[] = [];
  for (const { table, why } of rebuilt) {
    // Asserted against the database as it is before the file runs: renames earlier in the file would change the names it reads.
    const fits = options.renames.length === 0 ? rebuild.fits(table) : null;
    if (fits) assertions.push(fits);
    statements.push(...rebuild.statements(table));
    changes.push({ kind: 'rebuild-table', object: table.name, why });
  }
  for (const table of removed) {
    statements.push(`DROP TABLE ${quote(table.name)}`);
    changes.push({ kind: 'drop-table', object: table.name });
  }
  const creates = desiredObjects.filter((o) => o.type !== 'table' && affected.has(key(o)));
  for (const o of [...creates.filter((o) => o.type === 'index'), ...creates.filter((o) => o.type !== 'index')]) {
    statements.push(o.sql);
    const was = counterpart(o, currentObjects);
    if (!was || normalizeSql(was.sql) !== normalizeSql(o.sql)) changes.push({ kind: `create-${o.type}` as ChangeKind, object: o.name });
  }

  if (rebuilt.length === 0) return { changes, statements, noTransaction: false, assertions };
  if (options.copyAside) {
    return { changes, statements: ['PRAGMA defer_foreign_keys = on', GUARD_TABLE, ...statements, `DROP TABLE ${GUARD}`], noTransaction: false, assertions };
  }
  return {
    changes,
    statements: [
      'PRAGMA foreign_keys = off',
      'BEGIN',
      GUARD_TABLE,
      ...statements,
      `INSERT INTO ${GUARD} (what, expected, actual) SELECT 'rows reported by PRAGMA foreign_key_check', 0, count(*) FROM pragma_foreign_key_check`,
      `DROP TABLE ${GUARD}`,
      'COMMIT',
      'PRAGMA foreign_keys = on',
    ],
    noTransaction: true,
    assertions,
  };
}

const GUARD_TABLE = `CREATE TABLE ${GUARD} (what TEXT NOT NULL, expected INTEGER NOT NULL, actual INTEGER NOT NULL, CONSTRAINT "cairn: row counts differ, nothing applied" CHECK (expected = actual))`;

function renameStatement(current: SqliteSchema, rename: Rename): string {
  if (rename.table === null) {
    if (!current.find('table', rename.from)) throw new CairnError('USAGE', `--rename ${rename.from}=${rename.to}: there is no table ${rename.from}`, { hint: 'name a table of the schema the migrations produce: --rename old_table=new_table' });
    return `ALTER TABLE ${quote(rename.from)} RENAME TO ${quote(rename.to)}`;
  }
  const table = current.find('table', rename.table);
  if (!table || !current.columns(table.name).some((c) => same(c.name, rename.from))) {
    throw new CairnError('USAGE', `--rename ${rename.table}.${rename.from}=${rename.to}: there is no column ${rename.table}.${rename.from}`, { hint: 'name a column of the schema the migrations produce: --rename table.old=new' });
  }
  return `ALTER TABLE ${quote(table.name)} RENAME COLUMN ${quote(rename.from)} TO ${quote(rename.to)}`;
}

/** Keys of `before` and `after` that differ, one line each. */
function describe(before: Record<string, string>, after: Record<string, string>): string[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keys.filter((k) => before[k] !== after[k]).map((k) => `${k}: ${before[k] ?? '(none)'} → ${after[k] ?? '(none)'}`);
}

/**
 * Drop and add columns with ALTER TABLE when that gives exactly the desired
 * table: tried on a one-table copy, judged by SQLite's own description of the
 * result. Null when it does not (then the table is rebuilt).
 */
async function alterInPlace(current: SqliteSchema, desired: SqliteSchema, was: SqliteObject, wanted: SqliteObject): Promise<{ statements: string[]; changes: Change[] } | null> {
  const before = current.columns(was.name).map((c) => c.name);
  const after = desired.columns(wanted.name).map((c) => c.name);
  const kept = after.filter((name) => before.some((b) => same(b, name)));
  const dropped = before.filter((name) => !after.some((a) => same(a, name)));
  const keptInOrder = before.filter((name) => !dropped.includes(name));
  if (kept.length !== keptInOrder.length || kept.some((name, i) => !same(name, keptInOrder[i]!))) return null;
  if (after.slice(0, kept.length).some((name, i) => !same(name, kept[i]!))) return null; // new columns only at the end
  // SQLite accepts these on an empty table only, and the real one has rows: a rebuild fills them.
  const fresh = desired.columns(wanted.name).slice(kept.length);
  if (fresh.some((c) => (c.notNull && c.defaultValue === null) || (c.defaultValue !== null && /^\(|^current_/i.test(c.defaultValue)) || c.hidden === 3)) return null;
  const definitions = columnDefinitions(wanted.sql);
  const statements = [
    ...dropped.map((name) => `ALTER TABLE ${quote(was.name)} DROP COLUMN ${quote(name)}`),
    ...after.slice(kept.length).map((name) => `ALTER TABLE ${quote(was.name)} ADD COLUMN ${definitions.get(name.toLowerCase()) ?? '?'}`),
  ];
  if (statements.length === 0) return null;
  const trial = new Database(':memory:');
  const target = new Database(':memory:');
  try {
    trial.exec(was.sql);
    target.exec(wanted.sql);
    for (const statement of statements) trial.exec(statement);
    const [tried, goal] = [await introspectSqlite(queryOf(trial), { exclude: [] }), await introspectSqlite(queryOf(target), { exclude: [] })];
    if (!sameEntries(tried.objects, goal.objects)) return null;
  } catch {
    return null;
  } finally {
    trial.close();
    target.close();
  }
  return {
    statements,
    changes: [...dropped.map((name) => ({ kind: 'drop-column' as const, object: `${wanted.name}.${name}` })), ...after.slice(kept.length).map((name) => ({ kind: 'add-column' as const, object: `${wanted.name}.${name}` }))],
  };
}

/** The text of each column definition in a CREATE TABLE statement, by lower-cased column name. */
export function columnDefinitions(sql: string): Map<string, string> {
  const tokens = tokenize(sql);
  const open = tokens.findIndex((t) => t.kind === 'punct' && t.text === '(');
  const items: Token[][] = [[]];
  let depth = 0;
  for (let i = open + 1; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === 'punct' && token.text === '(') depth++;
    if (token.kind === 'punct' && token.text === ')') {
      if (depth === 0) break;
      depth--;
    }
    if (depth === 0 && token.kind === 'punct' && token.text === ',') items.push([]);
    else items.at(-1)!.push(token);
  }
  const result = new Map<string, string>();
  for (const item of items) {
    const first = item[0];
    if (!first || (first.kind === 'word' && ['constraint', 'primary', 'unique', 'check', 'foreign'].includes(first.text.toLowerCase()))) continue;
    const name = /^["`[]/.test(first.text) ? first.text.slice(1, -1) : first.text;
    result.set(name.toLowerCase(), render(item));
  }
  return result;
}

/**
 * The 12-step rebuild of one table. Children keep their rows: with foreign
 * keys off (plain SQLite, the file's own transaction) nothing cascades; where
 * they cannot be switched off (D1), every table that references the rebuilt
 * one, directly or through others, is copied aside and emptied first and put
 * back after. Row counts are checked in the same transaction or batch.
 */
class Rebuilder {
  /** Tables already rebuilt in this plan: their columns are the desired ones from then on. */
  private readonly done = new Set<string>();

  constructor(
    private readonly current: SqliteSchema,
    private readonly desired: SqliteSchema,
    private readonly options: SqlitePlanOptions,
    /** Tables altered in place before any rebuild runs: already in their desired shape by then. */
    altered: readonly string[],
  ) {
    for (const table of altered) this.done.add(table.toLowerCase());
  }

  private columnsNow(table: string): ColumnInfo[] {
    return this.done.has(table.toLowerCase()) || !this.current.find('table', table) ? this.desired.columns(table) : this.current.columns(table);
  }

  /** Each column the copy fills and the SQL over the old table's columns that fills it. */
  private copied(name: string): { column: string; from: string }[] {
    const old = this.current.columns(name);
    return this.desired.columns(name).filter((c) => c.hidden === 0).flatMap((column) => {
      const fill = this.options.fill.get(`${name}.${column.name}`.toLowerCase()) ?? this.options.fill.get(column.name.toLowerCase());
      if (fill !== undefined) return [{ column: column.name, from: fill }];
      const source = old.find((o) => same(o.name, column.name) && o.hidden === 0);
      if (source) return [{ column: column.name, from: quote(source.name) }];
      if (column.notNull && column.defaultValue === null && column.pk === 0) {
        throw new CairnError('USAGE', `column ${name}.${column.name} is new, NOT NULL and has no default: the rows already in ${name} need a value`, {
          hint: `pass --fill ${name}.${column.name}=<SQL expression over ${name}'s columns>, or give it a DEFAULT in the desired schema`,
          details: { table: name, column: column.name },
        });
      }
      return [];
    });
  }

  /**
   * The count assertion of a rebuild, as a `-- cairn:assert` line: the rows of
   * the table as it is now, each given the values the copy gives it, must all
   * pass the new definition's NOT NULLs and CHECKs. Tried on the schema first;
   * a CHECK that cannot be read over the copy is left to the copy itself, and
   * null when nothing can be asserted.
   */
  fits(table: SqliteObject): string | null {
    const name = table.name;
    const copied = this.copied(name);
    const columns = this.desired.columns(name).filter((c) => c.hidden === 0);
    const alias = rowidAlias(columns);
    const values = columns.map((c) => {
      const from = copied.find((x) => same(x.column, c.name))?.from ?? c.defaultValue ?? 'NULL';
      return `${from.replace(/\s+/g, ' ')} AS ${quote(c.name)}`;
    });
    const notNull = columns.filter((c) => c.notNull && !(alias !== null && same(c.name, alias))).map((c) => `${quote(c.name)} IS NOT NULL`);
    const checks = checkExpressions(table.sql).map((e) => `(${e}) IS NOT FALSE`);
    const assertion = (terms: string[]) => `SELECT (SELECT count(*) FROM ${quote(name)}) = (SELECT count(*) FROM (SELECT ${values.join(', ')} FROM ${quote(name)})${terms.length > 0 ? ` WHERE ${terms.join(' AND ')}` : ''})`;
    const works = (sql: string) => {
      try {
        this.current.db.prepare(sql).get();
        return true;
      } catch {
        return false;
      }
    };
    const sql = [assertion([...notNull, ...checks]), assertion(notNull)].find(works);
    if (!sql || (notNull.length === 0 && checks.length === 0)) return null;
    return `-- cairn:assert ${name.replace(/[^A-Za-z0-9_]+/g, '_')}_rows_all_fit: ${sql}`;
  }

  statements(table: SqliteObject): string[] {
    const name = table.name;
    const fresh = `${name}__new`;
    const old = this.current.columns(name);
    const copied = this.copied(name);
    const list = copied.map((c) => quote(c.column)).join(', ');
    const select = copied.map((c) => c.from).join(', ');
    const createNew = withTableName(table.sql, fresh);
    const count = (what: string, expected: string, actual: string) => `INSERT INTO ${GUARD} (what, expected, actual) SELECT ${sqlString(what)}, (SELECT count(*) FROM ${expected}), (SELECT count(*) FROM ${actual})`;
    this.done.add(name.toLowerCase());

    if (!this.options.copyAside) {
      return [
        createNew,
        `INSERT INTO ${quote(fresh)} (${list}) SELECT ${select} FROM ${quote(name)}`,
        count(`rows of ${name}`, quote(name), quote(fresh)),
        `DROP TABLE ${quote(name)}`,
        `ALTER TABLE ${quote(fresh)} RENAME TO ${quote(name)}`,
      ];
    }

    const family = this.family(name);
    const copy = `${name}__copy`;
    const keep = (t: string) => quote(`${t}__keep`);
    const plain = (t: string) => this.columnsNow(t).filter((c) => c.hidden === 0);
    const aside = family.map(({ table: t, action, columns }) => {
      const alias = rowidAlias(this.columnsNow(t));
      if (action === 'deleted') {
        const cols = plain(t).map((c) => quote(c.name)).join(', ');
        const restore = alias
          ? `INSERT INTO ${quote(t)} (${cols}) SELECT ${cols} FROM ${keep(t)} WHERE ${quote(alias)} NOT IN (SELECT ${quote(alias)} FROM ${quote(t)})`
          : `INSERT INTO ${quote(t)} (rowid, ${cols}) SELECT cairn_rowid, ${cols} FROM ${keep(t)} WHERE cairn_rowid NOT IN (SELECT rowid FROM ${quote(t)})`;
        return { table: t, save: `CREATE TABLE ${keep(t)} AS SELECT rowid AS cairn_rowid, ${cols} FROM ${quote(t)}`, restore };
      }
      const cols = columns.map(quote).join(', ');
      return {
        table: t,
        save: `CREATE TABLE ${keep(t)} AS SELECT rowid AS cairn_rowid, ${cols} FROM ${quote(t)}`,
        restore: `UPDATE ${quote(t)} SET (${cols}) = (SELECT ${cols} FROM ${keep(t)} k WHERE k.cairn_rowid = ${quote(t)}.rowid) WHERE rowid IN (SELECT cairn_rowid FROM ${keep(t)})`,
      };
    });
    // Deepest first: a RESTRICT grandchild is emptied before the child whose delete it would refuse.
    const emptied = family.filter((f) => f.emptied).reverse().map((f) => `-- cairn:allow unbatched-data-change its rows were copied aside just above and go back in this same batch\nDELETE FROM ${quote(f.table)}`);
    return [
      ...aside.map((a) => a.save),
      ...emptied,
      `CREATE TABLE ${quote(copy)} AS SELECT ${old.filter((c) => c.hidden === 0).map((c) => quote(c.name)).join(', ')} FROM ${quote(name)}`,
      createNew,
      `DROP TABLE ${quote(name)}`,
      `ALTER TABLE ${quote(fresh)} RENAME TO ${quote(name)}`,
      `INSERT INTO ${quote(name)} (${list}) SELECT ${select} FROM ${quote(copy)}`,
      count(`rows of ${name}`, quote(copy), quote(name)),
      ...aside.flatMap((a) => [a.restore, count(`rows of ${a.table}`, keep(a.table), quote(a.table))]),
      ...aside.map((a) => `DROP TABLE ${keep(a.table)}`),
      `DROP TABLE ${quote(copy)}`,
    ];
  }

  private foreignKeysNow(table: string) {
    return this.done.has(table.toLowerCase()) || !this.current.find('table', table) ? this.desired.foreignKeys(table) : this.current.foreignKeys(table);
  }

  /**
   * What dropping `table` does to other tables with foreign keys on, as
   * SQLite's DROP TABLE does it: CASCADE children lose their rows (and their
   * own CASCADE children in turn), SET NULL / SET DEFAULT children have their
   * keys overwritten. Parents before children. NO ACTION children only record
   * a deferred violation that the refill settles. RESTRICT children would
   * refuse the drop even deferred: they are copied aside and emptied first
   * (their own children follow as CASCADE children do), and put back after.
   */
  family(table: string): FamilyMember[] {
    const tables = this.current.tables().filter((t) => !same(t, table));
    const found: FamilyMember[] = [];
    const queue = [table];
    const deleted = new Set([table.toLowerCase()]);
    while (queue.length > 0) {
      const parent = queue.shift()!;
      for (const child of tables) {
        if (same(child, parent) || deleted.has(child.toLowerCase())) continue;
        for (const fk of this.foreignKeysNow(child).filter((k) => same(k.parent, parent))) {
          const action = fk.onDelete.toUpperCase();
          // RESTRICT refuses the drop's implicit delete at once, deferred or not: such a child is copied aside and emptied by the rebuild itself first.
          if (action === 'CASCADE' || action === 'RESTRICT') {
            deleted.add(child.toLowerCase());
            const updated = found.findIndex((f) => same(f.table, child));
            if (updated >= 0) found.splice(updated, 1);
            found.push({ table: child, action: 'deleted', columns: [], emptied: action === 'RESTRICT' });
            queue.push(child);
            break;
          }
          if (action === 'SET NULL' || action === 'SET DEFAULT') {
            const known = found.find((f) => same(f.table, child));
            if (known) known.columns.push(...fk.from.filter((c) => !known.columns.includes(c)));
            else found.push({ table: child, action: 'updated', columns: [...fk.from], emptied: false });
          }
        }
      }
    }
    for (const f of found) {
      if (/without\s+rowid/i.test(this.current.find('table', f.table)?.sql ?? this.desired.find('table', f.table)?.sql ?? '')) {
        throw new CairnError('USAGE', `${f.table} (WITHOUT ROWID) would lose rows when ${table} is dropped, and cairn diff keeps such rows aside by rowid`, { hint: `write the rebuild of ${table} by hand, copying ${f.table} aside by its primary key` });
      }
    }
    return found;
  }
}

/** The expressions of a CREATE TABLE's CHECK constraints (column and table ones), as SQL. */
export function checkExpressions(sql: string): string[] {
  const tokens = tokenize(sql);
  const found: string[] = [];
  for (let i = 0; i < tokens.length - 1; i++) {
    if (!(tokens[i]!.kind === 'word' && tokens[i]!.text.toLowerCase() === 'check' && tokens[i + 1]!.text === '(')) continue;
    let depth = 0;
    const inner: Token[] = [];
    for (let j = i + 1; j < tokens.length; j++) {
      const t = tokens[j]!;
      if (t.kind === 'punct' && t.text === '(') depth++;
      if (t.kind === 'punct' && t.text === ')') depth--;
      if (depth === 0) {
        i = j;
        break;
      }
      if (j > i + 1) inner.push(t);
    }
    if (inner.length > 0) found.push(render(inner));
  }
  return found;
}

/** A table the drop of a rebuilt table changes: its rows deleted (CASCADE; RESTRICT ones emptied explicitly first) or its keys overwritten (SET NULL / DEFAULT). */
interface FamilyMember {
  readonly table: string;
  readonly action: 'deleted' | 'updated';
  readonly columns: string[];
  /** True for a RESTRICT child: `DELETE FROM` it before the drop (the drop's own delete would be refused). */
  readonly emptied: boolean;
}

/** The INTEGER PRIMARY KEY column that is the rowid, if any. */
function rowidAlias(columns: readonly ColumnInfo[]): string | null {
  const key = columns.filter((c) => c.pk > 0);
  return key.length === 1 && key[0]!.type.toUpperCase() === 'INTEGER' ? key[0]!.name : null;
}

const sqlString = quoteLiteral;

/** The CREATE TABLE statement with another table name. */
export function withTableName(sql: string, name: string): string {
  const match = /^(\s*CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?)("(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|[^\s(]+)(\s*\.\s*("(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|[^\s(]+))?/i.exec(sql);
  if (!match) throw new CairnError('USAGE', `cannot read the table name of: ${sql.slice(0, 80)}`, { hint: 'write the table as CREATE TABLE name (…)' });
  return `${match[1]}${quote(name)}${sql.slice(match[0].length)}`;
}
