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
  /** The token, for a request of its own (Time Travel); never printed. */
  readonly token: string;
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
    token,
    async request(method, path, body) {
      let response: Response;
      let text: string;
      try {
        response = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        text = await response.text();
      } catch (error) {
        const cause = (error as Error).cause;
        const why = cause instanceof Error ? cause.message : (error as Error).message;
        // Refused before it was sent (nothing can have run), or a read: safe to try again.
        if (neverSent(error) || method === 'GET') {
          throw new CairnError('CONNECTION', `cannot reach the D1 API at ${base}: ${redact(why)}`, {
            hint: 'check the network; CLOUDFLARE_API_BASE_URL overrides the API address',
            cause: error,
            details: { transient: true },
          });
        }
        // A write that may have reached D1.
        throw noAnswer(`the D1 API at ${base} did not answer (${redact(why)})`, error, {});
      }
      let envelope: Envelope;
      try {
        envelope = JSON.parse(text) as Envelope;
      } catch {
        // A gateway's error page: a write may have reached D1 behind it.
        if (response.status >= 500 && method === 'POST') throw noAnswer(`the D1 API at ${base} answered HTTP ${response.status} without D1's answer`, undefined, { status: response.status });
        throw new CairnError('CONNECTION', `the D1 API at ${base} answered HTTP ${response.status} with something that is not JSON: ${redact(text.slice(0, 200))}`, { details: { status: response.status } });
      }
      const errors = envelope.errors ?? [];
      if (response.ok && envelope.success !== false) return envelope;
      const said = errors.map((e) => `${e.message} [code ${e.code}]`).join('; ') || `HTTP ${response.status}`;
      if (response.status === 429) throw overloaded(response, display, redact(said));
      if (response.status >= 500) {
        // The batch may or may not have run: the runner reads the history to learn which (core/lost-answer.ts).
        if (method === 'POST') throw noAnswer(`the D1 API at ${base} answered HTTP ${response.status}: ${redact(said)}`, undefined, { status: response.status, ...retryAfter(response) });
        throw overloaded(response, display, redact(said));
      }
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
  const what = response.status === 429 ? 'is rate limiting requests' : 'failed';
  return new CairnError('CONNECTION', `the D1 API ${what} for ${display} (HTTP ${response.status}): ${said}`, {
    hint: response.status === 429 ? 'too many requests on this account: fewer at once (--concurrency), or try again shortly' : "Cloudflare's side failed: try again shortly; what committed is in the history",
    details: { status: response.status, transient: true, ...retryAfter(response) },
  });
}

/** The wait a 429 or 503 asks for (Retry-After, in seconds, at most a minute). */
function retryAfter(response: Response): { retryAfterMs?: number } {
  const seconds = Number(response.headers.get('retry-after'));
  return Number.isFinite(seconds) && seconds > 0 ? { retryAfterMs: Math.min(seconds, 60) * 1000 } : {};
}

/** Errors that mean the request never left this machine (no connection was made), so nothing of it ran. */
const NOT_SENT = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_INVALID_URL'];

function neverSent(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_SENT.includes(code)) return true;
    if (current instanceof TypeError && /invalid url/i.test(current.message)) return true;
  }
  return false;
}

/**
 * D1 never retries a write, and neither may we blindly: the batch may have committed with its answer lost.
 * The runner reads the history (written in the same batch) to learn which (core/lost-answer.ts); `cairn fleet`
 * may run the target's command again (`transient`), which reads the history first too.
 */
function noAnswer(what: string, cause: unknown, details: Record<string, unknown>): CairnError {
  return new CairnError('NO_ANSWER', `${what}: whether the batch was applied is unknown`, {
    hint: 'run `cairn status`: the history is written in the same batch as each migration, so it says whether that migration was applied; `cairn up` then applies only what is still pending. Do not run the SQL by hand.',
    cause,
    details: { ...details, transient: true },
  });
}

export function openRemoteD1(location: RemoteD1Location, display: string, env: Readonly<Record<string, string | undefined>>): D1Transport {
  const api = remoteApi(location.accountId, display, env);
  const path = `/accounts/${encodeURIComponent(api.accountId)}/d1/database/${encodeURIComponent(location.databaseId)}/query`;

  const database = `${api.base}/accounts/${encodeURIComponent(api.accountId)}/d1/database/${encodeURIComponent(location.databaseId)}`;

  /** A Time Travel call: Cloudflare's envelope, `result` returned; any failure is CONNECTION (nothing of the database changed, or the restore said so). */
  const timeTravelCall = async <T>(method: 'GET' | 'POST', call: string): Promise<T> => {
    let response: Response;
    let envelope: { success?: boolean; errors?: { code: number; message: string }[]; result?: T };
    try {
      response = await fetch(`${database}/time_travel/${call}`, { method, headers: { authorization: `Bearer ${api.token}` }, signal: AbortSignal.timeout(TIMEOUT_MS) });
      envelope = JSON.parse(await response.text()) as typeof envelope;
    } catch (error) {
      throw new CairnError('CONNECTION', `D1 Time Travel (${call.split('?')[0]}) did not answer for ${display}: ${api.redact((error as Error).message)}`, { cause: error });
    }
    if (!response.ok || envelope.success === false || envelope.result === undefined) {
      const said = (envelope.errors ?? []).map((e) => `${e.message} [code ${e.code}]`).join('; ') || `HTTP ${response.status}`;
      throw new CairnError('CONNECTION', `D1 Time Travel (${call.split('?')[0]}) refused for ${display}: ${api.redact(said)}`, { hint: 'the token needs "D1 Edit"; bookmarks older than 30 days (7 on the free plan) cannot be restored' });
    }
    return envelope.result;
  };

  return {
    timeTravel: {
      bookmark: async () => (await timeTravelCall<{ bookmark: string }>('GET', `bookmark?timestamp=${encodeURIComponent(new Date().toISOString())}`)).bookmark,
      restore: async (bookmark) => {
        const result = await timeTravelCall<{ bookmark: string; previous_bookmark: string }>('POST', `restore?bookmark=${encodeURIComponent(bookmark)}`);
        return { bookmark: result.bookmark, previous: result.previous_bookmark };
      },
    },
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
