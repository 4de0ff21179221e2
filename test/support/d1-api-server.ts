import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { localD1File } from '../../src/drivers/d1/local.js';
import { tempDir } from './databases.js';

/**
 * A stand-in for Cloudflare's D1 HTTP API, for tests: the real API cannot be
 * reached from here. It answers `POST /client/v4/accounts/{account_id}/d1/database/{database_id}/query`
 * the way Cloudflare does (the `{ success, errors, messages, result }`
 * envelope; a rejected statement as HTTP 400 with error code 7500 and
 * SQLite's message; a bad token as HTTP 403, code 10000; an unknown database
 * as HTTP 404, code 7404) and executes on a real local D1: miniflare's D1
 * binding, as `wrangler d1 execute --local` uses it. A request's statements
 * run as one D1 batch, all or nothing, as D1 runs them.
 *
 * Accepts `{ "sql", "params" }` (one statement) and `{ "batch": [{ "sql", "params" }] }`.
 *
 * With `databases`, it serves several, each its own miniflare D1, and lists
 * them as `GET /client/v4/accounts/{account_id}/d1/database?name=&page=&per_page=`
 * does: `{ result: [{ uuid, name, created_at, version }], result_info: { page,
 * per_page, count, total_count } }`, `name` matching names that contain it,
 * `per_page` capped at `pageSize` (so a handful of databases spans pages).
 * `fail()` makes the next queries answer as an overloaded API does (429 with
 * Retry-After, or 5xx), before running them or after (`committed`: the batch
 * ran, only the answer was lost).
 */
export interface D1ApiServer {
  /** What CLOUDFLARE_API_BASE_URL must be: `http://127.0.0.1:<port>/client/v4`. */
  readonly base: string;
  readonly accountId: string;
  readonly databaseId: string;
  /** Miniflare's --persist-to directory: the database's SQLite file is localD1File(persistDir, databaseId). */
  readonly persistDir: string;
  /** Runs SQL on the database directly (not through the API) and returns its rows. */
  query<Row = Record<string, unknown>>(sql: string): Promise<Row[]>;
  /** How many /query requests arrived (including refused ones). */
  readonly requests: () => number;
  /** Every database served (with `databases`: those; else the one). */
  readonly databases: readonly { readonly id: string; readonly name: string }[];
  /** Runs SQL on one of the databases directly. */
  queryOn<Row = Record<string, unknown>>(databaseId: string, sql: string): Promise<Row[]>;
  /** The next `count` /query requests (to `databaseId`, or any) are answered with `status`; `committed`: after running them. */
  fail(fault: Fault): void;
  /** Forgets the faults not yet used. */
  clearFaults(): void;
  /** What was answered with a fault so far: the database and the status. */
  readonly faults: () => readonly { readonly databaseId: string; readonly status: number; readonly committed: boolean }[];
  /** How many list requests (pages) arrived. */
  readonly listRequests: () => number;
  /**
   * Loses an answer, as a network does: the next /query whose SQL matches `match` is run (`commit: true`)
   * or not (`commit: false`), and its connection is cut without an answer; the `then` requests after it
   * are cut before they run (an outage). Each rule acts once.
   */
  loseAnswer(rule: { readonly match: RegExp; readonly commit: boolean; readonly then?: number }): void;
  /** How many answers were lost so far. */
  readonly lost: () => number;
  /**
   * Time Travel, as D1's API serves it: `GET …/time_travel/bookmark` (the bookmark of now) and
   * `POST …/time_travel/restore?bookmark=` ({ bookmark, previous_bookmark }); a bookmark is a copy of the
   * database file. The calls so far, as "GET bookmark" / "POST restore".
   */
  readonly timeTravel: () => string[];
  close(): Promise<void>;
}

export interface Fault {
  readonly status: 429 | 500 | 502 | 503;
  readonly count?: number;
  readonly databaseId?: string;
  readonly committed?: boolean;
  /** Retry-After, in seconds (429). */
  readonly retryAfter?: number;
  /** Only requests with a statement containing this text (say, a migration's own SQL). */
  readonly matching?: string;
}

interface D1Binding {
  prepare(sql: string): { bind(...values: unknown[]): unknown };
  batch(statements: unknown[]): Promise<{ results?: unknown[]; meta?: Record<string, unknown> }[]>;
}

export async function startD1ApiServer(options: {
  readonly token: string;
  readonly accountId?: string;
  readonly databaseId?: string;
  readonly databases?: readonly { readonly id: string; readonly name: string }[];
  readonly pageSize?: number;
  /**
   * D1's 30 s limit on one statement, scaled down for a test: an UPDATE or DELETE that changes more
   * than this many rows fails as a statement past the limit does, and its batch rolls back.
   */
  readonly statementRowLimit?: number;
}): Promise<D1ApiServer> {
  const accountId = options.accountId ?? '0123456789abcdef0123456789abcdef';
  const databaseId = options.databaseId ?? options.databases?.[0]?.id ?? 'c0ffee00-d1d1-4d1d-8d1d-000000000001';
  const databases = options.databases ?? [{ id: databaseId, name: 'cairn-test' }];
  const persistDir = tempDir('cairn-d1-api-');
  const bindings = Object.fromEntries(databases.map((d, i) => [`DB${i}`, d.id]));
  const byId = new Map<string, D1Binding>();
  const start = async () => {
    const started = new Miniflare({ modules: true, script: 'export default { fetch() { return new Response("") } }', d1Databases: bindings, d1Persist: join(persistDir, 'v3', 'd1') });
    for (const [i, d] of databases.entries()) byId.set(d.id, (await started.getD1Database(`DB${i}`)) as unknown as D1Binding);
    return started;
  };
  let mf = await start();

  // Time Travel, as a copy of the database's SQLite file(s) per bookmark; bookmarks sort oldest to newest, as D1's do.
  const bookmarks = new Map<string, { readonly id: string; readonly dir: string }>();
  const takeBookmark = async (id: string): Promise<string> => {
    await runOn(id, [{ sql: 'SELECT 1' }]); // the file exists once the database was opened
    const bookmark = `00000001-00000002-${bookmarks.size.toString(16).padStart(8, '0')}-${randomBytes(16).toString('hex')}`;
    const dir = join(persistDir, 'bookmarks', bookmark);
    mkdirSync(dir, { recursive: true });
    const file = localD1File(persistDir, id);
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(file + suffix)) copyFileSync(file + suffix, join(dir, `db${suffix}`));
    bookmarks.set(bookmark, { id, dir });
    return bookmark;
  };
  const restoreTo = async (id: string, bookmark: string): Promise<{ bookmark: string; previous_bookmark: string }> => {
    const previous = await takeBookmark(id);
    await mf.dispose();
    const { dir } = bookmarks.get(bookmark)!;
    const file = localD1File(persistDir, id);
    for (const suffix of ['', '-wal', '-shm']) {
      rmSync(file + suffix, { force: true });
      if (existsSync(join(dir, `db${suffix}`))) copyFileSync(join(dir, `db${suffix}`), file + suffix);
    }
    mf = await start();
    return { bookmark: await takeBookmark(id), previous_bookmark: previous };
  };
  const timeTravelCalls: string[] = [];
  let lost = 0;
  let rule: { match: RegExp; commit: boolean; then?: number } | null = null;
  let outage = 0;
  const cut = (response: ServerResponse) => {
    lost++;
    response.socket?.destroy();
  };
  let requests = 0;
  let listRequests = 0;
  const pending: (Fault & { left: number })[] = [];
  const answered: { databaseId: string; status: number; committed: boolean }[] = [];
  const created = new Date('2026-01-01T00:00:00Z').toISOString();

  const runOn = async (id: string, statements: readonly { sql: string; params?: unknown[] }[]) => {
    const db = byId.get(id)!;
    return db.batch(statements.map((s) => db.prepare(s.sql).bind(...(s.params ?? []))));
  };
  // The scaled-down time limit: a guard after each write fails the batch (malformed JSON) when the write changed too many rows.
  const limit = options.statementRowLimit;
  const LIMIT_GUARD = `SELECT CASE WHEN changes() > ${limit ?? 0} THEN json('cairn test: statement limit') ELSE 1 END`;
  const runLimited = async (id: string, statements: readonly { sql: string; params?: unknown[] }[]) => {
    if (limit === undefined) return runOn(id, statements);
    const writes = statements.map((s) => /^\s*(?:--[^\n]*\n\s*)*(UPDATE|DELETE)\b/i.test(s.sql));
    try {
      const results = await runOn(id, statements.flatMap((s, i) => (writes[i] ? [s, { sql: LIMIT_GUARD }] : [s])));
      return results.filter((_, i) => !writes.flatMap((w) => (w ? [false, true] : [false]))[i]);
    } catch (error) {
      const message = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
      if (!/malformed JSON/i.test(message)) throw error;
      throw new Error('D1_ERROR: D1 DB storage operation exceeded timeout which caused object to be reset (a statement ran past the 30 s limit; test hook: it changed more than ' + limit + ' rows)');
    }
  };
  const run = (statements: readonly { sql: string; params?: unknown[] }[]) => runOn(databaseId, statements);

  const list = (request: IncomingMessage, response: ServerResponse, reply: (status: number, body: Record<string, unknown>) => void) => {
    listRequests++;
    const url = new URL(request.url ?? '', 'http://localhost');
    const name = url.searchParams.get('name') ?? '';
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
    const perPage = Math.min(Math.max(1, Number(url.searchParams.get('per_page') ?? 1000)), options.pageSize ?? 10_000);
    const matching = databases.filter((d) => d.name.includes(name));
    const rows = matching.slice((page - 1) * perPage, page * perPage).map((d) => ({ uuid: d.id, name: d.name, created_at: created, version: 'production', num_tables: 0, file_size: 0 }));
    reply(200, { result: rows, result_info: { page, per_page: perPage, count: rows.length, total_count: matching.length } });
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const reply = (status: number, body: Record<string, unknown>) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ result: null, success: status < 400, errors: [], messages: [], ...body }));
    };
    const travel = /^\/client\/v4\/accounts\/([^/]+)\/d1\/database\/([^/]+)\/time_travel\/(bookmark|restore)(?:\?(.*))?$/.exec(request.url ?? '');
    if (travel) {
      const id = decodeURIComponent(travel[2]!);
      if (request.headers.authorization !== `Bearer ${options.token}`) return reply(403, { errors: [{ code: 10000, message: 'Authentication error' }] });
      if (!byId.has(id)) return reply(404, { errors: [{ code: 7404, message: `The database ${id} could not be found.` }] });
      timeTravelCalls.push(`${request.method} ${travel[3]}`);
      if (travel[3] === 'bookmark' && request.method === 'GET') return reply(200, { result: { bookmark: await takeBookmark(id) } });
      const wanted = new URLSearchParams(travel[4] ?? '').get('bookmark') ?? '';
      if (travel[3] === 'restore' && request.method === 'POST') {
        if (bookmarks.get(wanted)?.id !== id) return reply(400, { errors: [{ code: 7400, message: `Invalid bookmark: ${wanted}` }] });
        return reply(200, { result: { ...(await restoreTo(id, wanted)), message: 'Database restored successfully' } });
      }
      return reply(404, { errors: [{ code: 7003, message: 'No route for that URI' }] });
    }
    const listing = /^\/client\/v4\/accounts\/([^/]+)\/d1\/database(?:\?.*)?$/.exec(request.url ?? '');
    const match = /^\/client\/v4\/accounts\/([^/]+)\/d1\/database\/([^/]+)\/query$/.exec(request.url ?? '');
    if (!(request.method === 'POST' && match) && !(request.method === 'GET' && listing)) return reply(404, { errors: [{ code: 7003, message: 'No route for that URI' }] });
    if (match) requests++;
    const authorization = request.headers.authorization;
    if (!authorization) return reply(400, { errors: [{ code: 6003, message: 'Invalid request headers' }] });
    if (authorization !== `Bearer ${options.token}`) return reply(403, { errors: [{ code: 10000, message: 'Authentication error' }] });
    if (listing) {
      if (decodeURIComponent(listing[1]!) !== accountId) return reply(404, { errors: [{ code: 7404, message: 'Account not found' }] });
      return list(request, response, reply);
    }
    const id = decodeURIComponent(match![2]!);
    if (decodeURIComponent(match![1]!) !== accountId || !byId.has(id)) {
      return reply(404, { errors: [{ code: 7404, message: `The database ${id} could not be found.` }] });
    }
    // Found once the body is read: a fault may wait for a request with particular SQL in it.
    let fault: (Fault & { left: number }) | undefined;
    let body: { sql?: string; params?: unknown[]; batch?: { sql: string; params?: unknown[] }[] };
    try {
      body = JSON.parse(await readBody(request)) as typeof body;
    } catch {
      return reply(400, { errors: [{ code: 7400, message: 'The request is malformed: body is not JSON' }] });
    }
    const statements = body.batch ?? (body.sql !== undefined ? [{ sql: body.sql, params: body.params ?? [] }] : []);
    if (statements.length === 0) return reply(400, { errors: [{ code: 7400, message: 'The request is malformed: no sql and no batch' }] });
    if (outage > 0) {
      outage--;
      return cut(response);
    }
    const lose = rule !== null && statements.some((st) => rule!.match.test(st.sql)) ? rule : null;
    if (lose) {
      rule = null;
      outage = lose.then ?? 0;
      if (lose.commit) await runOn(id, statements).catch(() => undefined);
      return cut(response);
    }
    fault = pending.find((f) => f.left > 0 && (f.databaseId === undefined || f.databaseId === id) && (f.matching === undefined || statements.some((st) => st.sql.includes(f.matching!))));
    if (fault) fault.left--;
    const overloaded = (committed: boolean) => {
      answered.push({ databaseId: id, status: fault!.status, committed });
      if (fault!.status === 429) response.setHeader('retry-after', String(fault!.retryAfter ?? 1));
      return reply(fault!.status, { errors: [{ code: fault!.status === 429 ? 971 : 7500, message: fault!.status === 429 ? 'Too many requests' : 'Internal error' }] });
    };
    if (fault && !fault.committed) return overloaded(false);
    const started = performance.now();
    try {
      const results = await runLimited(id, statements);
      if (fault) return overloaded(true);
      const duration = performance.now() - started;
      return reply(200, { result: results.map((r) => ({ results: r.results ?? [], success: true, meta: { ...r.meta, duration } })) });
    } catch (error) {
      // D1's binding says "D1_ERROR: <sqlite message>"; the API gives the SQLite message (its `cause`) with code 7500.
      const cause = (error as { cause?: { message?: string } }).cause;
      return reply(400, { errors: [{ code: 7500, message: cause?.message ?? (error as Error).message }] });
    }
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ result: null, success: false, errors: [{ code: 7500, message: String(error) }], messages: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    base: `http://127.0.0.1:${port}/client/v4`,
    accountId,
    databaseId,
    persistDir,
    async query<Row>(sql: string) {
      return ((await run([{ sql }]))[0]?.results ?? []) as Row[];
    },
    requests: () => requests,
    databases,
    async queryOn<Row>(id: string, sql: string) {
      return ((await runOn(id, [{ sql }]))[0]?.results ?? []) as Row[];
    },
    fail(fault) {
      pending.push({ ...fault, left: fault.count ?? 1 });
    },
    clearFaults() {
      pending.length = 0;
    },
    faults: () => answered,
    listRequests: () => listRequests,
    loseAnswer(next) {
      rule = { ...next };
    },
    lost: () => lost,
    timeTravel: () => [...timeTravelCalls],
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await mf.dispose();
    },
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => resolve(text));
    request.on('error', reject);
  });
}
