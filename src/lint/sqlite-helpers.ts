import Database from 'better-sqlite3';
import { stateBefore, type Scan } from './scan.js';
import type { LintStatement, StatementContext } from './types.js';
import { quoteIdentifier } from '../sql/quote.js';

/** SQLite names are case-insensitive. */
export function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** A name as a quoted SQLite identifier. */
export const quote = quoteIdentifier;

/** Whether a version like "3.34.1" is older than `than`, e.g. [3, 35, 0]. False when it does not read as a version. */
export function olderThan(version: string | null, than: readonly number[]): boolean {
  if (version === null) return false; // not a SQLite target
  const parts = version.split('.').map((p) => Number.parseInt(p, 10));
  if (parts.some((p) => Number.isNaN(p))) return false;
  for (let i = 0; i < than.length; i++) {
    const a = parts[i] ?? 0;
    const b = than[i]!;
    if (a !== b) return a < b;
  }
  return false;
}

/** A pragma value that switches something on: 1, on, yes, true (quoted or not). */
export function truthy(value: string): boolean {
  return /^(1|on|yes|true)$/i.test(value.replace(/^['"]|['"]$/g, '').trim());
}

/**
 * Whether foreign keys are enforced when the statement runs: always on D1;
 * on SQLite on (Cairn's better-sqlite3 connection has them on) unless an
 * earlier `PRAGMA foreign_keys = off` took effect: outside any transaction,
 * i.e. in a `-- cairn:no-transaction` migration and not after a BEGIN.
 */
export function foreignKeysOn(statement: LintStatement, context: StatementContext): boolean {
  if (context.target.d1 || context.inTransaction) return true;
  return stateBefore(context.statements, statement.index, foreignKeys).on;
}

const foreignKeys: Scan<{ readonly on: boolean; readonly open: boolean }> = {
  initial: { on: true, open: false },
  step(state, s) {
    let { on, open } = state;
    if (s.fact.kind === 'transaction') open = s.fact.action === 'begin' ? true : s.fact.action === 'commit' || s.fact.action === 'rollback' ? false : open;
    if (s.fact.kind === 'pragma' && s.fact.name === 'foreign_keys' && s.fact.value !== null && !open) on = truthy(s.fact.value);
    return on === state.on && open === state.open ? state : { on, open };
  },
};

/** Runs `work` on a throw-away copy of the database (context.sqlite); returns the error message, or null if it went through. */
export function tryOnCopy(db: Database.Database, work: (copy: Database.Database) => void): string | null {
  const copy = new Database(db.serialize());
  try {
    work(copy);
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    copy.close();
  }
}
