import { basename, isAbsolute, resolve } from 'node:path';
import { CairnError } from '../errors.js';

/** A database location, parsed once; `display` is always safe to print. */
export type DatabaseUrl =
  | { readonly scheme: 'sqlite'; readonly path: string; readonly display: string }
  /** `schema` (from `?schema=`, as Prisma spells it): the one schema on the search_path, where the history table lives too. */
  | { readonly scheme: 'postgres'; readonly url: string; readonly display: string; readonly secrets: readonly string[]; readonly schema?: string | undefined }
  /** PGlite (PostgreSQL in WASM, in this process): a data directory, or null for memory. */
  | { readonly scheme: 'pglite'; readonly dataDir: string | null; readonly display: string }
  | { readonly scheme: 'd1'; readonly d1: D1Location; readonly display: string };

/** Where a D1 database lives: wrangler's local state, or Cloudflare reached over its HTTP API. */
export type D1Location =
  /** `persistDir` is what wrangler calls --persist-to (default `.wrangler/state`); the SQLite files are under its `v3/d1`. */
  | { readonly kind: 'local'; readonly databaseId: string; readonly persistDir: string }
  /** A null account is read from CLOUDFLARE_ACCOUNT_ID when the driver opens. */
  | { readonly kind: 'remote'; readonly accountId: string | null; readonly databaseId: string };

/**
 * Accepts `sqlite:path/to.db`, `sqlite:///abs/path.db`, a bare file path,
 * `:memory:`, `postgres://` / `postgresql://` URLs, and `pglite:` (memory) or
 * `pglite:path/to/dir`. Relative SQLite paths and PGlite data directories
 * are resolved against `root` (the project directory).
 */
export function parseDatabaseUrl(input: string, root: string): DatabaseUrl {
  const text = input.trim();
  if (text === '') throw new CairnError('CONFIG', 'database URL is empty', { hint: 'use sqlite:path/to.db or postgres://user@host/db' });
  if (text === ':memory:' || text === 'sqlite::memory:') return { scheme: 'sqlite', path: ':memory:', display: 'sqlite::memory:' };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') return parsePostgres(text);
  if (scheme === 'd1') return parseD1(text, root);
  if (scheme === 'pglite') return pgliteAt(text.slice('pglite:'.length).replace(/^\/\/(?=\/)/, '').replace(/^\/\//, ''), root);
  if (scheme === 'sqlite' || scheme === 'sqlite3' || scheme === 'file') {
    const rest = text.slice(scheme.length + 1).replace(/^\/\/(?=\/)/, '').replace(/^\/\//, '').replace(/\?.*$/, '');
    return sqliteAt(rest, root);
  }
  if (scheme && scheme.length > 1) {
    throw new CairnError('CONFIG', `unsupported database URL scheme "${scheme}:"`, {
      hint: 'Cairn speaks sqlite:path/to.db (or a bare file path), postgres://user@host:5432/db, pglite:path/to/dir, d1://local/<database_id> and d1://<account_id>/<database_id>',
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

/** `pglite:` and `pglite::memory:` are in memory; anything else is a data directory, relative to the project. */
function pgliteAt(path: string, root: string): DatabaseUrl {
  if (path === '' || path === ':memory:') return { scheme: 'pglite', dataDir: null, display: 'pglite::memory:' };
  return { scheme: 'pglite', dataDir: isAbsolute(path) ? path : resolve(root, path), display: `pglite:${path}` };
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
  // `?schema=tenant_1` is Cairn's (pg would pass it to the server as an unknown setting): taken out here, applied by the driver.
  const schema = url.searchParams.get('schema');
  if (schema === null) return { scheme: 'postgres', url: text, display: redactUrl(text), secrets };
  if (schema === '') throw new CairnError('CONFIG', `PostgreSQL URL has an empty ?schema=: ${redactUrl(text)}`, { hint: 'name the schema, e.g. ?schema=tenant_1, or leave the option out' });
  url.searchParams.delete('schema');
  return { scheme: 'postgres', url: url.toString(), display: redactUrl(text), secrets, schema };
}

/** The directory wrangler keeps local state in when not given --persist-to, relative to the project. */
export const WRANGLER_STATE_DIR = '.wrangler/state';

/**
 * `d1://local/<database_id>[?persist=<dir>]` (the database `wrangler dev` and
 * `wrangler d1 execute --local` use) or `d1://<account_id>/<database_id>`
 * (`d1://remote/<database_id>` takes the account from CLOUDFLARE_ACCOUNT_ID).
 * The API token is never part of the URL: it comes from CLOUDFLARE_API_TOKEN.
 */
function parseD1(text: string, root: string): DatabaseUrl {
  const match = /^d1:\/\/([^/?#]*)\/([^/?#]+)\/?(?:\?([^#]*))?$/i.exec(text);
  if (!match) {
    throw new CairnError('CONFIG', `D1 URL is malformed: ${redactUrl(text)}`, {
      hint: 'write d1://local/<database_id> for the local database wrangler uses, or d1://<account_id>/<database_id> (token in CLOUDFLARE_API_TOKEN)',
    });
  }
  const [, host = '', id = '', query = ''] = match;
  const databaseId = decodeURIComponent(id);
  const params = new URLSearchParams(query);
  const unknown = [...params.keys()].filter((key) => key !== 'persist');
  if (unknown.length > 0) throw new CairnError('CONFIG', `D1 URL has unknown option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, { hint: 'the only option is ?persist=<dir>, for a local database' });
  if (host.toLowerCase() === 'local') {
    const persist = params.get('persist') || WRANGLER_STATE_DIR;
    return { scheme: 'd1', d1: { kind: 'local', databaseId, persistDir: isAbsolute(persist) ? persist : resolve(root, persist) }, display: `d1 local ${databaseId} (${persist})` };
  }
  if (params.has('persist')) throw new CairnError('CONFIG', '?persist= is for local D1 databases (d1://local/<database_id>)');
  if (host === '') throw new CairnError('CONFIG', `D1 URL has no account: ${redactUrl(text)}`, { hint: 'write d1://<account_id>/<database_id>, or d1://remote/<database_id> with CLOUDFLARE_ACCOUNT_ID set' });
  const accountId = host.toLowerCase() === 'remote' ? null : decodeURIComponent(host);
  return { scheme: 'd1', d1: { kind: 'remote', accountId, databaseId }, display: `d1 remote ${accountId ?? '(CLOUDFLARE_ACCOUNT_ID)'}/${databaseId}` };
}

/** The URL of a local D1 database (what a wrangler.toml binding maps to); `persistDir` as one would give it to --persist-to. */
export function d1LocalUrl(databaseId: string, persistDir?: string): string {
  return `d1://local/${encodeURIComponent(databaseId)}${persistDir ? `?persist=${encodeURIComponent(persistDir)}` : ''}`;
}

/** The URL of a D1 database on Cloudflare; a null account means CLOUDFLARE_ACCOUNT_ID. */
export function d1RemoteUrl(accountId: string | null, databaseId: string): string {
  return `d1://${accountId === null ? 'remote' : encodeURIComponent(accountId)}/${encodeURIComponent(databaseId)}`;
}

/** Replaces the password of any URL in `text` with ***. Safe on text that is not a URL. */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@\s]*)@/gi, '$1***@').replace(/(password=)[^&\s]*/gi, '$1***');
}

/** The database's own name, as a prompt asks for it: the file, the directory, the PostgreSQL database, the D1 id. */
export function databaseName(url: DatabaseUrl): string {
  switch (url.scheme) {
    case 'sqlite':
      return basename(url.path);
    case 'postgres':
      return decodeURIComponent(new URL(url.url).pathname.slice(1)) || 'postgres';
    case 'pglite':
      return url.dataDir === null ? ':memory:' : basename(url.dataDir);
    case 'd1':
      return url.d1.databaseId;
  }
}
