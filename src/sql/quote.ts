/**
 * Quoting, as SQLite and PostgreSQL both spell it (the SQL standard): an
 * identifier in double quotes, a string in single quotes, each doubling its
 * own quote character inside.
 */

/** `users` → `"users"`, `we"ird` → `"we""ird"`. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quoted only when it must be: a lower-case word of letters, digits and `_` stays bare, as people write it. */
export function quoteIfNeeded(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : quoteIdentifier(name);
}

/** `it's` → `'it''s'`. */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
