import { isAbsolute, resolve } from 'node:path';
import { CairnError } from '../core/errors.js';

/** A database location, parsed once; `display` is always safe to print. */
export type DatabaseUrl =
  | { readonly scheme: 'sqlite'; readonly path: string; readonly display: string }
  | { readonly scheme: 'postgres'; readonly url: string; readonly display: string; readonly secrets: readonly string[] };

/**
 * Accepts `sqlite:path/to.db`, `sqlite:///abs/path.db`, a bare file path,
 * `:memory:`, and `postgres://` / `postgresql://` URLs. Relative SQLite paths
 * are resolved against `root` (the project directory).
 */
export function parseDatabaseUrl(input: string, root: string): DatabaseUrl {
  const text = input.trim();
  if (text === '') throw new CairnError('CONFIG', 'database URL is empty', { hint: 'use sqlite:path/to.db or postgres://user@host/db' });
  if (text === ':memory:' || text === 'sqlite::memory:') return { scheme: 'sqlite', path: ':memory:', display: 'sqlite::memory:' };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') return parsePostgres(text);
  if (scheme === 'sqlite' || scheme === 'sqlite3' || scheme === 'file') {
    const rest = text.slice(scheme.length + 1).replace(/^\/\/(?=\/)/, '').replace(/^\/\//, '').replace(/\?.*$/, '');
    return sqliteAt(rest, root);
  }
  if (scheme && scheme.length > 1) {
    throw new CairnError('CONFIG', `unsupported database URL scheme "${scheme}:"`, {
      hint: 'Cairn speaks sqlite:path/to.db (or a bare file path) and postgres://user@host:5432/db',
      details: { scheme },
    });
  }
  return sqliteAt(text, root); // a bare path (one-letter "scheme" is a Windows drive)
}

function sqliteAt(path: string, root: string): DatabaseUrl {
  if (path === '') throw new CairnError('CONFIG', 'sqlite URL has no file path', { hint: 'write it as sqlite:path/to.db' });
  if (path === ':memory:') return { scheme: 'sqlite', path, display: 'sqlite::memory:' };
  const absolute = isAbsolute(path) ? path : resolve(root, path);
  return { scheme: 'sqlite', path: absolute, display: `sqlite:${path}` };
}

function parsePostgres(text: string): DatabaseUrl {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Never echo the input: it may hold a password.
    throw new CairnError('CONFIG', `PostgreSQL URL is malformed: ${redactUrl(text)}`, {
      hint: 'write it as postgres://user:password@host:5432/database (percent-encode special characters in the password)',
    });
  }
  const secrets = url.password ? [url.password, decodeURIComponent(url.password)] : [];
  return { scheme: 'postgres', url: text, display: redactUrl(text), secrets };
}

/** Replaces the password of any URL in `text` with ***. Safe on text that is not a URL. */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@\s]*)@/gi, '$1***@').replace(/(password=)[^&\s]*/gi, '$1***');
}
