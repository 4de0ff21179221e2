import type { BackupColumn } from '../types.js';

/**
 * The catalog reads a backup makes of a table, the same on SQLite and D1
 * (both SQLite underneath); each driver sends them its own way (better-sqlite3
 * at once, D1 over its API), and both read the answers here.
 */
export const BACKUP_CATALOG = {
  /** SQLite names are case-insensitive: `DELETE FROM Users` is about table `users`. */
  exists: "SELECT 1 FROM main.sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE",
  columns: 'SELECT name, type, pk, hidden FROM pragma_table_xinfo(?)',
  uniqueIndexes: 'SELECT name FROM pragma_index_list(?) WHERE "unique" = 1 AND partial = 0 ORDER BY seq',
  indexColumns: 'SELECT cid, name FROM pragma_index_info(?) ORDER BY seqno',
  /** CREATE TABLE, then its explicit indexes and triggers, as SQLite stored them. */
  definition: "SELECT sql FROM main.sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL AND type IN ('table', 'index', 'trigger') ORDER BY type = 'table' DESC, type = 'index' DESC, rowid",
} as const;

export interface ColumnInfo {
  readonly name: string;
  readonly type: string;
  readonly pk: number;
  readonly hidden: number;
}

/** Stored columns only (hidden 0): generated columns are computed again from the definition. And the primary key, in key order. */
export function columnsOf(info: readonly ColumnInfo[]): { columns: BackupColumn[]; primary: string[] } {
  return {
    columns: info.filter((c) => c.hidden === 0).map((c) => ({ name: c.name, type: c.type })),
    primary: info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name),
  };
}

/** A unique index's columns when it is on plain columns (no expressions); null otherwise. */
export function plainKey(parts: readonly { readonly cid: number; readonly name: string | null }[]): string[] | null {
  return parts.every((p) => p.cid >= 0 && p.name) ? parts.map((p) => p.name!) : null;
}
