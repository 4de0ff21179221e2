import Database from 'better-sqlite3';
import { CairnError } from '../../errors.js';
import { introspectSqlite, normalizeSql, queryOf } from '../../drivers/sqlite/introspect.js';
import type { Snapshot } from '../../drivers/snapshot.js';
import { splitStatements } from '../../source/split.js';
import { quoteIdentifier } from '../../sql/quote.js';

/**
 * A SQLite schema held in an in-memory database, so that SQLite itself says
 * what a definition means (columns, keys, foreign keys) and can try a change
 * before `diff` writes it. `objects` are in creation order (sqlite_master's),
 * which is an order every object can be created in again.
 */
export interface SqliteObject {
  readonly type: 'table' | 'index' | 'view' | 'trigger';
  readonly name: string;
  /** The table an index or trigger belongs to; the name itself for tables and views. */
  readonly table: string;
  readonly sql: string;
}

export interface ColumnInfo {
  readonly name: string;
  readonly type: string;
  readonly notNull: boolean;
  readonly defaultValue: string | null;
  readonly pk: number;
  /** 0 plain, 2 virtual generated, 3 stored generated (pragma_table_xinfo's hidden). */
  readonly hidden: number;
}

export interface ForeignKey {
  readonly parent: string;
  readonly from: readonly string[];
  readonly onDelete: string;
}

export class SqliteSchema {
  private constructor(readonly db: Database.Database) {}

  /** Loads `sql` (plain CREATE statements) into a fresh in-memory database. `file` names it in errors. */
  static load(sql: string, file: string): SqliteSchema {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = off');
    try {
      db.exec(sql);
      return new SqliteSchema(db);
    } catch {
      // Again statement by statement, to say which line SQLite rejects.
      db.close();
    }
    const retry = new Database(':memory:');
    retry.pragma('foreign_keys = off');
    for (const statement of splitStatements(sql)) {
      try {
        retry.exec(statement.sql);
      } catch (error) {
        retry.close();
        throw new CairnError('USAGE', `${file}:${statement.line} does not load in SQLite: ${(error as Error).message}`, {
          hint: 'the desired schema is plain CREATE TABLE / INDEX / VIEW / TRIGGER statements, as `cairn dump` writes them',
          details: { file, line: statement.line },
        });
      }
    }
    return new SqliteSchema(retry);
  }

  close(): void {
    this.db.close();
  }

  objects(): SqliteObject[] {
    const rows = this.db.prepare("SELECT type, name, tbl_name AS tableName, sql FROM main.sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid").all() as { type: SqliteObject['type']; name: string; tableName: string; sql: string }[];
    return rows.filter((row) => ['table', 'index', 'view', 'trigger'].includes(row.type)).map((row) => ({ type: row.type, name: row.name, table: row.tableName, sql: row.sql }));
  }

  tables(): string[] {
    return this.objects().filter((o) => o.type === 'table').map((o) => o.name);
  }

  find(type: SqliteObject['type'], name: string): SqliteObject | undefined {
    return this.objects().find((o) => o.type === type && same(o.name, name));
  }

  columns(table: string): ColumnInfo[] {
    const rows = this.db.prepare('SELECT name, type, "notnull" AS required, dflt_value AS defaultValue, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid').all(table) as { name: string; type: string; required: number; defaultValue: string | null; pk: number; hidden: number }[];
    return rows.map(({ required, ...r }) => ({ ...r, notNull: required === 1 }));
  }

  foreignKeys(table: string): ForeignKey[] {
    const rows = this.db.prepare('SELECT id, "table" AS parent, "from" AS source, on_delete AS onDelete FROM pragma_foreign_key_list(?) ORDER BY id, seq').all(table) as { id: number; parent: string; source: string; onDelete: string }[];
    const byId = new Map<number, ForeignKey>();
    for (const row of rows) {
      const known = byId.get(row.id);
      byId.set(row.id, { parent: row.parent, from: [...(known?.from ?? []), row.source], onDelete: row.onDelete });
    }
    return [...byId.values()];
  }

  async snapshot(): Promise<Snapshot> {
    return introspectSqlite(queryOf(this.db), { exclude: [] });
  }
}

/** SQLite compares names without regard to ASCII case. */
export function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export const quote = quoteIdentifier;

/** Whether `sql` names `identifier` as a whole word or quoted identifier (a cheap, conservative dependency test). */
export function mentions(sql: string, identifier: string): boolean {
  const words = normalizeSql(sql).match(/"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|[A-Za-z_][A-Za-z0-9_$]*/g) ?? [];
  const wanted = identifier.toLowerCase();
  return words.some((word) => {
    const bare = /^["`[]/.test(word) ? word.slice(1, -1).replace(/""/g, '"') : word;
    return bare.toLowerCase() === wanted;
  });
}

/** The snapshot keys that describe each table itself (not its indexes or triggers), by lower-cased table name. One pass. */
export function keysByTable(snapshot: Snapshot, tables: readonly string[]): Map<string, Record<string, string>> {
  const result = new Map<string, Record<string, string>>(tables.map((t) => [t.toLowerCase(), {}]));
  for (const [key, value] of Object.entries(snapshot.objects)) {
    const match = /^(table|columns|primary key|unique|foreign key|check|column) (.*)$/.exec(key);
    if (!match) continue;
    const rest = match[2]!;
    const kind = match[1]!;
    const name = kind === 'column' ? rest.slice(0, rest.lastIndexOf('.')) : kind === 'table' || kind === 'columns' || kind === 'primary key' ? rest : rest.split(' ')[0]!;
    const entries = result.get(name.toLowerCase());
    if (entries) entries[key] = value;
  }
  return result;
}

export function sameEntries(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const left = Object.entries(a ?? {});
  if (left.length !== Object.keys(b ?? {}).length) return false;
  return left.every(([key, value]) => b?.[key] === value);
}
