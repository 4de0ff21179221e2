import { CairnError } from '../../errors.js';
import { D1QueryError, type D1Transport, type Row } from './transport.js';

/**
 * D1 on Cloudflare over its HTTP API:
 * `POST {base}/accounts/{account_id}/d1/database/{database_id}/query` with
 * `{ "batch": [{ "sql", "params" }, …] }`, answered with Cloudflare's envelope
 * `{ success, errors: [{ code, message }], messages, result: [{ results, meta, success }, …] }`.
 * The statements of one request run as one D1 batch, so they commit together
 * or not at all. A statement D1 rejects comes back as error code 7500 with
 * SQLite's message; anything else (a bad token, an unknown database) is a
 * connection problem, not a migration's.
 *
 * The token comes from CLOUDFLARE_API_TOKEN only. It is sent in the
 * Authorization header and nowhere else: never printed (it is cut out of any
 * text that could reach an error message) and never written to disk.
 */
export const DEFAULT_API_BASE = 'https://api.cloudflare.com/client/v4';
const QUERY_ERROR = 7500;
const TIMEOUT_MS = 120_000;

export interface RemoteD1Location {
  readonly accountId: string | null;
  readonly databaseId: string;
}

/** What every request to the D1 API needs: the token (never printed), the account, the base address; and one request with the envelope read. */
export interface RemoteApi {
  readonly accountId: string;
  readonly base: string;
  readonly redact: (text: string) => string;
  /** One request to `{base}{path}`; the envelope when the API says success, else a CairnError naming what it said. */
  request(method: 'GET' | 'POST', path: string, body: unknown): Promise<Envelope>;
}

export function remoteApi(accountIdGiven: string | null, display: string, env: Readonly<Record<string, string | undefined>>): RemoteApi {
  const token = env.CLOUDFLARE_API_TOKEN?.trim();
  if (!token) {
    throw new CairnError('CONFIG', `CLOUDFLARE_API_TOKEN is not set: it is needed to reach ${display}`, {
      hint: 'create an API token with the "D1 Edit" permission in the Cloudflare dashboard and export it as CLOUDFLARE_API_TOKEN (Cairn never stores it)',
    });
  }
  const accountId = accountIdGiven ?? env.CLOUDFLARE_ACCOUNT_ID?.trim();
  if (!accountId) {
    throw new CairnError('CONFIG', `no Cloudflare account for ${display}`, { hint: 'write d1://<account_id>/<database_id>, or set CLOUDFLARE_ACCOUNT_ID' });
  }
  const base = (env.CLOUDFLARE_API_BASE_URL?.trim() || DEFAULT_API_BASE).replace(/\/+$/, '');
  const redact = (text: string) => text.split(token).join('***');
  return {
    accountId,
    base,
    redact,
    async request(method, path, body) {
      let response: Response;
      try {
        response = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (error) {
        const why = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message;
        throw new CairnError('CONNECTION', `cannot reach the D1 API at ${base}: ${redact(why)}`, {
          hint: 'check the network; CLOUDFLARE_API_BASE_URL overrides the API address',
          cause: error,
          // Whether a write arrived is unknown: whoever retries reads the history first.
          details: { transient: true },
        });
      }
      const text = await response.text();
      let envelope: Envelope;
      try {
        envelope = JSON.parse(text) as Envelope;
      } catch {
        throw new CairnError('CONNECTION', `the D1 API at ${base} answered HTTP ${response.status} with something that is not JSON: ${redact(text.slice(0, 200))}`, { details: { status: response.status } });
      }
      const errors = envelope.errors ?? [];
      if (response.ok && envelope.success !== false) return envelope;
      const said = errors.map((e) => `${e.message} [code ${e.code}]`).join('; ') || `HTTP ${response.status}`;
      if (response.status === 429 || response.status >= 500) throw overloaded(response, display, redact(said));
      if (errors.some((e) => e.code === QUERY_ERROR)) throw new D1QueryError(redact(errors.find((e) => e.code === QUERY_ERROR)!.message));
      const auth = response.status === 401 || response.status === 403;
      throw new CairnError('CONNECTION', `the D1 API refused the request for ${display} (HTTP ${response.status}): ${redact(said)}`, {
        hint: auth
          ? 'check CLOUDFLARE_API_TOKEN: it must be valid and allow "D1 Edit" on this account'
          : response.status === 404
            ? 'check the account id and the database id (`npx wrangler d1 list` shows them)'
            : undefined,
        details: { status: response.status, codes: errors.map((e) => e.code) },
      });
    },
  };
}

/**
 * 429 (rate limited: the request was not run) or 5xx (it may or may not have
 * been): a passing condition, marked `transient` so a caller may try again.
 * A write is never re-sent blindly: `cairn fleet` runs the target's command
 * again, which reads the history first and applies only what did not commit.
 */
function overloaded(response: Response, display: string, said: string): CairnError {
  const seconds = Number(response.headers.get('retry-after'));
  const retryAfterMs = Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 60) * 1000 : undefined;
  const what = response.status === 429 ? 'is rate limiting requests' : 'failed';
  return new CairnError('CONNECTION', `the D1 API ${what} for ${display} (HTTP ${response.status}): ${said}`, {
    hint: response.status === 429 ? 'too many requests on this account: fewer at once (--concurrency), or try again shortly' : "Cloudflare's side failed: try again shortly; what committed is in the history",
    details: { status: response.status, transient: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
  });
}

export function openRemoteD1(location: RemoteD1Location, display: string, env: Readonly<Record<string, string | undefined>>): D1Transport {
  const api = remoteApi(location.accountId, display, env);
  const path = `/accounts/${encodeURIComponent(api.accountId)}/d1/database/${encodeURIComponent(location.databaseId)}/query`;

  return {
    async batch(statements) {
      const envelope = await api.request('POST', path, { batch: statements.map((s) => ({ sql: s.sql, params: s.params ?? [] })) });
      if (!Array.isArray(envelope.result)) throw new CairnError('CONNECTION', `the D1 API answered a query on ${display} without results`);
      return envelope.result.map((r) => r.results ?? []);
    },
    async close() {},
  };
}

export interface Envelope {
  success?: boolean;
  errors?: { code: number; message: string }[];
  result?: { results?: Row[] }[];
  result_info?: Record<string, unknown>;
}
