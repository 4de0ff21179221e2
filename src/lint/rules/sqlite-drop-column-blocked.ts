import type Database from 'better-sqlite3';
import { sqliteGrammar, type Loose } from '../parse/sqlite.js';
import { olderThan, quote, same, tryOnCopy } from '../sqlite-helpers.js';
import type { Report, Rule } from '../types.js';

/**
 * SQLite's DROP COLUMN (3.35.0+) refuses a column that anything else in the
 * schema still uses: the PRIMARY KEY, a UNIQUE constraint, an index (also one
 * that mentions it only in an expression or a partial index's WHERE), a
 * table-level FOREIGN KEY or CHECK, a generated column, a view or a trigger.
 * The migration then stops half-way. SQLite is the judge: the drop is tried on
 * throw-away copies of the schema, so what we report is what SQLite does, and
 * the copies tell us every object in the way, not just the first one.
 */
export const sqliteDropColumnBlocked: Rule = {
  id: 'sqlite-drop-column-blocked',
  dialects: ['sqlite'],
  severity: 'error',
  summary: 'ALTER TABLE … DROP COLUMN that SQLite refuses (key, unique, indexed, used by a constraint, view or trigger; SQLite < 3.35)',
  statement(statement, context) {
    const { fact } = statement;
    if (fact.kind !== 'alter_table') return [];
    const reports: Report[] = [];
    for (const action of fact.actions) {
      if (action.type !== 'drop_column') continue;
      if (olderThan(context.target.sqliteVersion, [3, 35, 0])) {
        reports.push({
          message: `SQLite ${context.target.sqliteVersion} has no ALTER TABLE … DROP COLUMN (added in 3.35.0): dropping "${action.column}" of "${fact.table}" fails`,
          help: `rebuild the table without the column: CREATE TABLE ${fact.table}_new (…without ${action.column}…); INSERT INTO ${fact.table}_new (…) SELECT … FROM ${fact.table}; DROP TABLE ${fact.table}; ALTER TABLE ${fact.table}_new RENAME TO ${fact.table}; then recreate its indexes, triggers and views`,
          offset: action.offset,
        });
        continue;
      }
      if (!context.sqlite) continue;
      const found = blockers(context.sqlite, fact.table, action.column);
      if (found) reports.push({ ...describe(fact.table, action.column, found), offset: action.offset });
    }
    return reports;
  },
};

/** Something in the way of the drop: part of the table's own definition (kind table), or another object. */
interface Blocker {
  /** What it is, for the message: `index users_email`, `CHECK (age > 0)`. */
  readonly what: string;
  readonly kind: 'table' | 'index' | 'view' | 'trigger' | 'foreign-key';
  /** For index/view/trigger: its name, to write the DROP for it. */
  readonly name?: string;
  /** SQLite refuses the drop because of it (otherwise SQLite lets it through and it breaks later). */
  readonly refuses: boolean;
}

/** Null when the table or column is unknown (another problem, reported elsewhere). */
function blockers(db: Database.Database, table: string, column: string): Blocker[] | null {
  const columns = db.prepare('SELECT name, pk, hidden FROM pragma_table_xinfo(?)').all(table) as { name: string; pk: number; hidden: number }[];
  const target = columns.find((c) => same(c.name, column));
  if (!target) return null;
  const create = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE").pluck().get(table) as string | undefined;
  if (!create || /^\s*CREATE\s+VIRTUAL\b/i.test(create)) return null;

  // 1. The table's own definition: tried with every index, view and trigger out of the way.
  const own: Blocker[] = [];
  const pk = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
  if (target.pk > 0) own.push({ kind: 'table', refuses: true, what: pk.length > 1 ? `it is part of the PRIMARY KEY (${pk.map((c) => c.name).join(', ')})` : 'it is the PRIMARY KEY' });
  for (const index of db.prepare("SELECT name FROM pragma_index_list(?) WHERE origin = 'u'").pluck().all(table) as string[]) {
    const keys = db.prepare('SELECT name FROM pragma_index_info(?)').pluck().all(index) as string[];
    if (keys.some((k) => same(k, column))) own.push({ kind: 'table', refuses: true, what: keys.length > 1 ? `it is part of UNIQUE (${keys.join(', ')})` : 'it has a UNIQUE constraint' });
  }
  own.push(...definitionUses(create, column));
  const ownError = tryOnCopy(db, (copy) => {
    const others = copy.prepare("SELECT type, name FROM sqlite_master WHERE type IN ('view', 'trigger') OR (type = 'index' AND sql IS NOT NULL)").all() as { type: string; name: string }[];
    for (const other of others) copy.exec(`DROP ${other.type.toUpperCase()} IF EXISTS ${quote(other.name)}`);
    copy.exec(`ALTER TABLE ${quote(table)} DROP COLUMN ${quote(column)}`);
  });
  const found: Blocker[] = [];
  if (ownError) found.push(...(own.length > 0 ? own : [{ kind: 'table' as const, refuses: true, what: `SQLite says: ${ownError}` }]));

  // 2. Indexes, views and triggers: tried on a copy where the table is plain columns, one blocker at a time.
  tryOnCopy(db, (copy) => {
    const kept = copy.prepare("SELECT sql FROM sqlite_master WHERE tbl_name = ? COLLATE NOCASE AND sql IS NOT NULL AND (type = 'trigger' OR type = 'index')").pluck().all(table) as string[];
    copy.pragma('foreign_keys = off');
    copy.exec(`DROP TABLE ${quote(table)}`);
    copy.exec(`CREATE TABLE ${quote(table)} (${columns.filter((c) => c.hidden !== 1).map((c) => quote(c.name)).join(', ')})`);
    for (const sql of kept) {
      try {
        copy.exec(sql);
      } catch {
        // An index or trigger that does not fit the plain copy cannot block the drop either.
      }
    }
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        copy.exec(`ALTER TABLE ${quote(table)} DROP COLUMN ${quote(column)}`);
        found.push(...brokenTriggers(copy, table, column));
        return;
      } catch (error) {
        const match = /^error in (index|view|trigger) (.+?) after drop column: (.*)$/.exec((error as Error).message);
        if (!match) return;
        const [, kind, name, detail] = match as unknown as [string, 'index' | 'view' | 'trigger', string, string];
        const uses = kind === 'view' ? 'reads it' : 'uses it';
        found.push({ kind, name, refuses: true, what: detail.toLowerCase().includes(column.toLowerCase()) ? `${kind} ${name} ${uses}` : `${kind} ${name} (${detail})` });
        copy.exec(`DROP ${kind.toUpperCase()} IF EXISTS ${quote(name)}`);
      }
    }
  });
  // 3. Foreign keys of other tables that point at the column: SQLite lets the drop through and leaves them broken.
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
  for (const child of tables) {
    const keys = db.prepare('SELECT "from", "to", "table" FROM pragma_foreign_key_list(?)').all(child) as { from: string; to: string | null; table: string }[];
    for (const key of keys) {
      if (!same(key.table, table)) continue;
      const pointsHere = key.to === null ? target.pk > 0 && pk.length === 1 : same(key.to, column);
      if (pointsHere) found.push({ kind: 'foreign-key', refuses: false, what: `the foreign key ${child}(${key.from}) → ${table}(${column}) refers to it (writes to ${child} would fail with "foreign key mismatch")` });
    }
  }
  return found.length > 0 ? found : null;
}

function describe(table: string, column: string, found: readonly Blocker[]): Omit<Report, 'offset'> {
  const refusing = found.filter((b) => b.refuses);
  const breaking = found.filter((b) => !b.refuses);
  const drops = found.filter((b) => b.name).map((b) => `DROP ${b.kind.toUpperCase()} ${b.name};`);
  const steps: string[] = [];
  if (drops.length > 0) steps.push(`drop what uses the column first (${drops.join(' ')}) and recreate it without the column afterwards`);
  if (found.some((b) => b.kind === 'table')) {
    steps.push(`rebuild the table without the column (SQLite's 12-step procedure): CREATE TABLE ${table}_new (…without ${column}…); INSERT INTO ${table}_new (…) SELECT … FROM ${table}; DROP TABLE ${table}; ALTER TABLE ${table}_new RENAME TO ${table}; then recreate its indexes, triggers and views`);
  }
  if (found.some((b) => b.kind === 'foreign-key')) steps.push('rebuild the referencing tables so that no foreign key points at the column');
  const list = (blockers: readonly Blocker[]) => blockers.map((b) => b.what).join('; ');
  if (refusing.length === 0) {
    return { message: `SQLite lets the drop of "${column}" of "${table}" through, but it breaks what still uses the column: ${list(breaking)}`, help: steps.join('; ') };
  }
  return {
    message: `SQLite refuses to drop "${column}" of "${table}": ${list(refusing)}; the migration fails here${breaking.length > 0 ? `. It also breaks: ${list(breaking)}` : ''}`,
    help: steps.join('; '),
  };
}

/**
 * SQLite checks views and trigger expressions when it drops a column, but not
 * the columns a trigger body writes (UPDATE … SET col, INSERT INTO t (col)) nor
 * UPDATE OF col: those triggers break only when they next fire. On the copy
 * where the drop went through, compile (prepare, never run) the statement that
 * fires each trigger, with the other triggers of that table out of the way.
 */
function brokenTriggers(copy: Database.Database, table: string, column: string): Blocker[] {
  const triggers = copy.prepare("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'").all() as { name: string; tbl_name: string; sql: string }[];
  const broken: Blocker[] = [];
  for (const trigger of triggers) {
    const event = triggerEvent(trigger.sql);
    if (!event) continue;
    if (event.kind === 'UPDATE' && same(trigger.tbl_name, table) && event.of.some((c) => same(c, column))) {
      broken.push({ kind: 'trigger', name: trigger.name, refuses: false, what: `trigger ${trigger.name} fires on UPDATE OF ${column}: it would never fire again` });
      continue;
    }
    const others = triggers.filter((t) => t !== trigger && same(t.tbl_name, trigger.tbl_name));
    const firstColumn = copy.prepare('SELECT name FROM pragma_table_info(?)').pluck().get(trigger.tbl_name) as string | undefined;
    const target = quote(trigger.tbl_name);
    const fire =
      event.kind === 'INSERT'
        ? `INSERT INTO ${target} DEFAULT VALUES`
        : event.kind === 'DELETE'
          ? `DELETE FROM ${target}`
          : `UPDATE ${target} SET ${quote(event.of[0] ?? firstColumn ?? 'rowid')} = ${quote(event.of[0] ?? firstColumn ?? 'rowid')}`;
    try {
      for (const other of others) copy.exec(`DROP TRIGGER ${quote(other.name)}`);
      copy.prepare(fire);
    } catch (error) {
      const message = (error as Error).message;
      if (message.toLowerCase().includes(column.toLowerCase())) {
        broken.push({ kind: 'trigger', name: trigger.name, refuses: false, what: `trigger ${trigger.name} still writes it: every ${event.kind} on ${trigger.tbl_name} would then fail with "${message}"` });
      }
    } finally {
      for (const other of others) {
        try {
          copy.exec(other.sql);
        } catch {
          // It was there before; if it no longer compiles it is reported on its own turn.
        }
      }
    }
  }
  return broken;
}

function triggerEvent(sql: string): { kind: 'INSERT' | 'UPDATE' | 'DELETE'; of: string[] } | null {
  try {
    const node = sqliteGrammar().parse(sql, { dialect: 'sqlite' }).statements[0] as unknown as Loose;
    const event = node.event as Loose | undefined;
    const kind = String((event?.eventKw as Loose | undefined)?.name ?? '').toUpperCase();
    if (kind !== 'INSERT' && kind !== 'UPDATE' && kind !== 'DELETE') return null;
    const of = (((event?.columns as Loose | undefined)?.items as Loose[] | undefined) ?? []).map((c) => String(c.name ?? ''));
    return { kind, of };
  } catch {
    return null;
  }
}

/**
 * The parts of the table's own CREATE TABLE that name the column: CHECKs and
 * generated columns of the other columns, table-level CHECK and FOREIGN KEY.
 * (Its own column-level CHECK and REFERENCES go away with it; PRIMARY KEY and
 * UNIQUE come from the PRAGMAs.)
 */
function definitionUses(create: string, column: string): Blocker[] {
  let node: Loose | undefined;
  try {
    node = sqliteGrammar().parse(create, { dialect: 'sqlite', includeRange: true }).statements[0] as unknown as Loose;
  } catch {
    return [];
  }
  const items = ((node?.columns as Loose | undefined)?.expr as Loose | undefined)?.items as Loose[] | undefined;
  const text = (n: Loose) => (n.range ? create.slice(n.range[0], n.range[1]) : n.type);
  const uses: Blocker[] = [];
  for (const item of items ?? []) {
    if (item.type === 'column_definition') {
      const name = String((item.name as Loose).name ?? '');
      if (same(name, column)) continue;
      for (const c of (item.constraints as Loose[] | undefined) ?? []) {
        const constraint = c.type === 'constraint' ? (c.constraint as Loose) : c;
        if (constraint.type === 'constraint_check' && mentions(constraint.expr, column)) uses.push({ kind: 'table', refuses: true, what: `the CHECK of column ${name} uses it: ${text(constraint)}` });
        if (constraint.type === 'constraint_generated' && mentions(constraint.expr, column)) uses.push({ kind: 'table', refuses: true, what: `generated column ${name} uses it` });
      }
      continue;
    }
    const constraint = item.type === 'constraint' ? (item.constraint as Loose) : item;
    if (constraint.type === 'constraint_check' && mentions(constraint.expr, column)) uses.push({ kind: 'table', refuses: true, what: `a CHECK uses it: ${text(constraint)}` });
    if (constraint.type === 'constraint_foreign_key' && mentions(constraint.columns, column)) uses.push({ kind: 'table', refuses: true, what: `it is in ${text(constraint)}` });
  }
  return uses;
}

function mentions(node: unknown, column: string): boolean {
  if (Array.isArray(node)) return node.some((n) => mentions(n, column));
  if (!node || typeof node !== 'object') return false;
  const n = node as Loose;
  if (n.type === 'identifier' && same(String(n.name ?? ''), column)) return true;
  return Object.entries(n).some(([key, value]) => key !== 'range' && mentions(value, column));
}
