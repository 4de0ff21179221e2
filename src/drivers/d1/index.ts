import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseUrl } from '../../config/url.js';
import { CairnError } from '../../errors.js';
import type { DatabaseKind } from '../registry.js';

type D1Url = Extract<DatabaseUrl, { scheme: 'd1' }>;

/** Cloudflare D1: local through miniflare (wrangler's state), remote over D1's HTTP API. */
export const d1: DatabaseKind<D1Url> = {
  dialect: 'sqlite',
  open: async (url, options) => (await import('./driver.js')).openD1(url.d1, url.display, options),
  async create(url) {
    if (url.d1.kind === 'remote') throw notOnCloudflare(url, 'create it with `wrangler d1 create <name>` and put its id in wrangler.toml');
    await (await d1.open(url, { create: true, scratch: false })).close();
    return { name: url.d1.databaseId, changed: false };
  },
  async drop(url) {
    throw notOnCloudflare(url, url.d1.kind === 'remote' ? 'delete it with `wrangler d1 delete <name>`' : "a local D1 database lives in wrangler's state directory (.wrangler/state, or --persist-to): delete it there");
  },
  // Local or remote, the scratch is a local D1 (miniflare): the same engine, nothing created on Cloudflare.
  async scratch() {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-scratch-'));
    return { url: { scheme: 'd1', d1: { kind: 'local', databaseId: 'scratch', persistDir: dir }, display: `d1 local scratch (${dir})` }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
  scratchHint: null,
  async templates(like, project) {
    if (like.d1.kind === 'remote') {
      throw new CairnError('CONFIG', 'createTestDatabase makes local D1 test databases only', { hint: 'pass url: "d1://local/<database_id>" (miniflare; nothing is created on Cloudflare)' });
    }
    return (await import('../directory-template.js')).directoryTemplates(project, like);
  },
  relations: async (driver, exclude) => (await import('../sqlite/columns.js')).sqliteRelations(driver, exclude),
  // Local runs in this process; remote waits on Cloudflare's API.
  fleetConcurrency: (url) => (url.d1.kind === 'local' ? 4 : 10),
  blocksThread: false,
  // Local or remote, the scratch is a local D1.
  scratchKey: () => 'd1',
  // `d1://<account_id>/<prefix>*`: the account's databases so named (the D1 API's database list).
  async expandPattern(text) {
    if (!/^d1:\/\//i.test(text) || !text.trim().endsWith('*')) return null;
    return (await import('./list.js')).expandD1Pattern(text, process.env);
  },
};

function notOnCloudflare(url: DatabaseUrl, hint: string): CairnError {
  return new CairnError('USAGE', `cairn does not create or drop D1 databases on Cloudflare or in wrangler's state (${url.display})`, { hint });
}
