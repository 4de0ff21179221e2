import type { DatabaseUrl } from '../config/url.js';
import type { Driver } from './types.js';

/**
 * The schema as TypeScript sees it (for `cairn codegen`): each table and view
 * with its columns, their TypeScript type as the engine's usual Node client
 * returns them (better-sqlite3, pg), and what an insert may leave out. Each
 * engine maps its own types (docs/codegen.md has the table).
 */
export interface TypedRelation {
  /** Schema-qualified where the engine has schemas and it is not the default one (`audit.events`). */
  readonly name: string;
  readonly kind: 'table' | 'view';
  readonly columns: readonly TypedColumn[];
}

export interface TypedColumn {
  readonly name: string;
  /** A TypeScript type expression: `string`, `number`, `'draft' | 'published'`, `Json`, `string[]`. */
  readonly type: string;
  readonly nullable: boolean;
  /** The engine's spelling of the type (`text`, `character varying(80)`); empty when it has none (SQLite allows that). */
  readonly sqlType: string;
  /** `default`: an insert may leave it out (a default, an identity, a rowid); `always`: the database computes it and refuses a value. */
  readonly generated: 'no' | 'default' | 'always';
}

/** The tables and views of the database `driver` is open on (a `url` database), leaving out `exclude` (Cairn's own tables), sorted by name. */
export async function typedRelations(url: DatabaseUrl, driver: Driver, exclude: readonly string[]): Promise<TypedRelation[]> {
  return (await import('./registry.js')).databaseKind(url).relations(driver, exclude);
}
