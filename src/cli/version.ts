import { readFileSync } from 'node:fs';

let version: string | undefined;

/**
 * Cairn's version, from its package.json. This module sits one level under dist/ both as
 * tsc builds it (dist/cli/) and inside the bundled CLI (dist/bin/), so one relative path
 * finds the file from either.
 */
export function cairnVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return version;
}
