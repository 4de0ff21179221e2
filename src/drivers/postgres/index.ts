import type { DatabaseUrl } from '../../config/url.js';
import type { DatabaseKind } from '../registry.js';

type PostgresUrl = Extract<DatabaseUrl, { scheme: 'postgres' }>;

/** A PostgreSQL server through pg: one pinned connection per driver. */
export const postgres: DatabaseKind<PostgresUrl> = {
  dialect: 'postgres',
  open: async (url, options) => (await import('./driver.js')).openPostgres(url.url, url.display, url.secrets, { scratch: options.scratch, schema: url.schema }),
  create: async (url) => (await import('./admin.js')).createPostgresDatabase(url.url, url.display, url.secrets),
  drop: async (url) => (await import('./admin.js')).dropPostgresDatabase(url.url, url.display, url.secrets),
  async scratch(like, mark) {
    const scratch = await (await import('./scratch.js')).createPostgresScratch(like.url, like.display);
    const display = `${like.display.replace(/\/[^/?]*(\?.*)?$/, `/${scratch.name}`)} (scratch)`;
    return { url: mark({ scheme: 'postgres', url: scratch.url, display, secrets: like.secrets }), drop: scratch.drop };
  },
  scratchHint: 'or replay without a server, in embedded PostgreSQL (PGlite): cairn verify --scratch-url pglite:',
  templates: async (like, project) => (await import('./template.js')).postgresTemplates(like, project),
  relations: async (driver, exclude) => (await import('./columns.js')).postgresRelations(driver, exclude),
  // Each target waits on the network over one connection.
  fleetConcurrency: () => 8,
  blocksThread: false,
  // One key per server: every database on it replays in a scratch database on it.
  scratchKey(url) {
    const server = new URL(url.url);
    server.pathname = '/';
    server.search = '';
    return `postgres ${server.toString()}`;
  },
};
