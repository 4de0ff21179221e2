import { CairnError } from '../../errors.js';
import { d1RemoteUrl } from '../../config/url.js';
import { remoteApi } from './remote.js';

/** One D1 database of an account, as the API lists it. */
export interface ListedD1 {
  readonly uuid: string;
  readonly name: string;
}

/** The most the list endpoint gives per page (Cloudflare allows up to 10000; fewer pages, fewer requests against the rate limit). */
const PER_PAGE = 1000;

/**
 * Every D1 database of the account whose name starts with `prefix`, sorted
 * by name: `GET {base}/accounts/{account_id}/d1/database?name=&page=&per_page=`,
 * page after page until `result_info.total_count` is reached (or a page
 * comes back short). The API's `name` filter narrows the list; the prefix
 * itself is checked here, since the API matches names that merely contain it.
 */
export async function listRemoteD1(accountId: string | null, prefix: string, env: Readonly<Record<string, string | undefined>>): Promise<ListedD1[]> {
  const display = `D1 databases named ${prefix}* on ${accountId ?? '(CLOUDFLARE_ACCOUNT_ID)'}`;
  const api = remoteApi(accountId, display, env);
  const found: ListedD1[] = [];
  for (let page = 1; ; page++) {
    const query = new URLSearchParams({ page: String(page), per_page: String(PER_PAGE), ...(prefix ? { name: prefix } : {}) });
    const answer = await api.request('GET', `/accounts/${encodeURIComponent(api.accountId)}/d1/database?${query.toString()}`, undefined);
    const rows = Array.isArray(answer.result) ? (answer.result as { uuid?: unknown; name?: unknown }[]) : null;
    if (rows === null) throw new CairnError('CONNECTION', `the D1 API answered the database list for ${display} without a result list`, { details: { page } });
    for (const row of rows) if (typeof row.uuid === 'string' && typeof row.name === 'string' && row.name.startsWith(prefix)) found.push({ uuid: row.uuid, name: row.name });
    const info = answer.result_info as { total_count?: number; per_page?: number } | undefined;
    const perPage = info?.per_page ?? PER_PAGE;
    if (rows.length === 0 || rows.length < perPage || (info?.total_count !== undefined && page * perPage >= info.total_count)) break;
  }
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * `d1://<account_id>/<prefix>*` (or `d1://remote/<prefix>*`): the account's
 * databases whose name starts with the prefix, each as its URL and a label
 * that names it. A local pattern is refused: local databases are known by id.
 */
export async function expandD1Pattern(text: string, env: Readonly<Record<string, string | undefined>>): Promise<{ readonly source: string; readonly label: string }[]> {
  const match = /^d1:\/\/([^/?#]*)\/([^/?#*]*)\*$/i.exec(text.trim());
  if (!match || match[1] === '') {
    throw new CairnError('CONFIG', `D1 name pattern is malformed: ${text}`, { hint: 'write d1://<account_id>/<name prefix>* (or d1://remote/tenant-* with CLOUDFLARE_ACCOUNT_ID set); the * comes last' });
  }
  const [, host = '', prefix = ''] = match;
  if (host.toLowerCase() === 'local') {
    throw new CairnError('CONFIG', `${text}: local D1 databases cannot be listed by name`, { hint: "wrangler's local state knows databases by id: list them, { d1: ['<database_id>', …] }" });
  }
  const accountId = host.toLowerCase() === 'remote' ? null : decodeURIComponent(host);
  const listed = await listRemoteD1(accountId, decodeURIComponent(prefix), env);
  return listed.map((db) => ({ source: d1RemoteUrl(accountId, db.uuid), label: `d1 remote ${db.name} (${db.uuid})` }));
}
