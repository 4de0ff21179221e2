import { createRequire } from 'node:module';
import type Pg from 'pg';

/**
 * The pg module, for this driver's files (they import it from here, not from 'pg').
 *
 * Why not a plain import: when pg loads, it asks whether it runs on Cloudflare
 * Workers (pg/lib/stream.js). Where `navigator.userAgent` does not answer, it
 * builds a fetch `Response` to find out, and on Node 20, which has no
 * `navigator`, that loads Node's fetch implementation (undici): 35–40 ms of
 * every PostgreSQL command and of a test process's first PostgreSQL database.
 * Node 21 and later define `navigator` themselves (userAgent `Node.js/<major>`);
 * on Node 20 the same is defined for the synchronous `require` below, and
 * removed before anything else can run.
 */
function load(): typeof Pg {
  const require = createRequire(import.meta.url);
  if ('navigator' in globalThis) return require('pg') as typeof Pg;
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` }, configurable: true });
  try {
    return require('pg') as typeof Pg;
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
}

const pg = load();
export default pg;
