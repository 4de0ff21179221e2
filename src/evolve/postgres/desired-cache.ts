import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Snapshot } from '../../drivers/snapshot.js';
import type { PgSchema } from './schema.js';

/**
 * What `cairn diff` read from schema.sql loaded into PostgreSQL (the planner's
 * model and the snapshot), kept in `.cairn/diff/` between runs: a user runs
 * diff again and again on the same schema.sql (`--print`, then for real; a
 * rename added), and loading 500 tables is most of a run.
 *
 * Keyed by the file's text, Cairn's version, the server (its scratch key) and
 * the tables left out; the server's version is kept in the file and compared
 * when it is read (an upgraded server prints definitions its own way). One
 * file per project: writing a new key removes the others.
 */
export interface DesiredSchema {
  readonly schema: PgSchema;
  readonly snapshot: Snapshot;
}

export function desiredKey(parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 24);
}

/** Whether a reading was kept for `key` (on some server version). */
export function hasDesiredCache(dir: string, key: string): boolean {
  return existsSync(join(dir, `desired-${key}.json`));
}

/** The schema read for `key` on a server of `serverVersion`; null when none was kept. */
export function readDesiredCache(dir: string, key: string, serverVersion: string): DesiredSchema | null {
  let text: string;
  try {
    text = readFileSync(join(dir, `desired-${key}.json`), 'utf8');
  } catch {
    return null;
  }
  try {
    const kept = JSON.parse(text, (_, value: unknown) => (isMap(value) ? new Map(value.__map) : value)) as { serverVersion: string } & DesiredSchema;
    return kept.serverVersion === serverVersion ? { schema: kept.schema, snapshot: kept.snapshot } : null;
  } catch {
    return null; // a file cut short: read schema.sql again
  }
}

/** Keeps `desired` under `key`, written whole or not at all (two diffs at once each write their own file, then rename); drops other keys. */
export function writeDesiredCache(dir: string, key: string, serverVersion: string, desired: DesiredSchema): void {
  try {
    mkdirSync(dir, { recursive: true });
    const file = `desired-${key}.json`;
    const temporary = join(dir, `${file}.${process.pid}.tmp`);
    writeFileSync(temporary, JSON.stringify({ serverVersion, ...desired }, (_, value: unknown) => (value instanceof Map ? { __map: [...value.entries()] } : value)));
    renameSync(temporary, join(dir, file));
    for (const other of readdirSync(dir)) if (other.startsWith('desired-') && other !== file && !other.endsWith('.tmp')) rmSync(join(dir, other), { force: true });
  } catch {
    // A read-only project directory: the next run loads schema.sql again.
  }
}

function isMap(value: unknown): value is { __map: [unknown, unknown][] } {
  return typeof value === 'object' && value !== null && Array.isArray((value as { __map?: unknown }).__map) && Object.keys(value).length === 1;
}
