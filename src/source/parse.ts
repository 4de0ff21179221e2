import { createRequire } from 'node:module';
import type { Directive, Migration, SourceProblem } from './migration.js';

/**
 * The parts of one migration file. Markers split it into up and down; with
 * no marker the whole file is up. Accepted markers, each alone on its line:
 *   -- migrate:up / -- migrate:down   (dbmate; `transaction:false` is honoured)
 *   -- UP / -- DOWN                   (any case)
 */
export interface ParsedFile {
  readonly up: { readonly text: string; readonly firstLine: number };
  readonly down: { readonly text: string; readonly firstLine: number } | null;
  readonly header: Readonly<Record<string, string>>;
  readonly directives: readonly Directive[];
  readonly transaction: boolean;
  readonly problems: readonly SourceProblem[];
}

const DBMATE_MARKER = /^--\s*migrate:(up|down)\b(.*)$/i;
const PLAIN_MARKER = /^--\s*(up|down)\s*$/i;
const DIRECTIVE = /^--\s*cairn:([a-z-]*)\s*(.*)$/i;
const HEADER_FIELD = /^--\s*([A-Za-z][A-Za-z ]*?)\s*:\s*(.*)$/;
export const KNOWN_DIRECTIVES = ['no-transaction', 'allow', 'idempotent', 'batch', 'contract', 'assert', 'assert-empty', 'assert-unique'] as const;
/** Directives about the whole migration: they belong in its header. */
const HEADER_ONLY = ['no-transaction', 'assert', 'assert-empty', 'assert-unique'];

interface Marker {
  readonly direction: 'up' | 'down';
  readonly line: number; // 1-based
  readonly options: string;
}

export function parseMigrationText(text: string, file: string): ParsedFile {
  const lines = text.split(/\r\n|\n|\r/);
  const problems: SourceProblem[] = [];
  const markers: Marker[] = [];
  const directives: Directive[] = [];
  const header: Record<string, string> = {};
  let inHeader = true;

  lines.forEach((raw, index) => {
    const line = raw.trim();
    const lineNumber = index + 1;
    if (line === '') return;
    // Markers, directives and header fields are all comments: a line of SQL needs none of the expressions below.
    if (!line.startsWith('--')) {
      inHeader = false;
      return;
    }
    const marker = DBMATE_MARKER.exec(line) ?? PLAIN_MARKER.exec(line);
    if (marker) {
      markers.push({ direction: marker[1]!.toLowerCase() as 'up' | 'down', line: lineNumber, options: marker[2] ?? '' });
      return;
    }
    const directive = DIRECTIVE.exec(line);
    if (directive) {
      const name = directive[1]!.toLowerCase();
      if (!(KNOWN_DIRECTIVES as readonly string[]).includes(name)) {
        problems.push({ file, line: lineNumber, message: `unknown directive "cairn:${name}"`, fix: `known directives: ${KNOWN_DIRECTIVES.map((d) => `cairn:${d}`).join(', ')}` });
      } else if (HEADER_ONLY.includes(name) && !inHeader) {
        problems.push({ file, line: lineNumber, message: `"cairn:${name}" must be in the header, before the first statement`, fix: 'move it to the top of the file' });
      }
      directives.push({ name, args: directive[2]!.trim(), line: lineNumber });
      return;
    }
    const field = inHeader ? HEADER_FIELD.exec(line) : null;
    if (field) header[field[1]!.toLowerCase()] = field[2]!.trim();
  });

  problems.push(...checkMarkers(markers, file));
  const transaction =
    !directives.some((d) => d.name === 'no-transaction') &&
    !markers.some((m) => m.direction === 'up' && /\btransaction:false\b/i.test(m.options));

  const up = markers.find((m) => m.direction === 'up');
  const down = markers.find((m) => m.direction === 'down');
  const slice = (from: number, to: number) => ({ text: lines.slice(from, to).join('\n'), firstLine: from + 1 });
  if (!up && !down) return { up: slice(0, lines.length), down: null, header, directives, transaction, problems };
  const upPart = up ? slice(up.line, down && down.line > up.line ? down.line - 1 : lines.length) : slice(0, 0);
  const downPart = down ? slice(down.line, up && up.line > down.line ? up.line - 1 : lines.length) : null;
  return { up: upPart, down: downPart, header, directives, transaction, problems };
}

function checkMarkers(markers: readonly Marker[], file: string): SourceProblem[] {
  const problems: SourceProblem[] = [];
  for (const direction of ['up', 'down'] as const) {
    const found = markers.filter((m) => m.direction === direction);
    for (const extra of found.slice(1)) {
      problems.push({ file, line: extra.line, message: `second "${direction}" marker (first on line ${found[0]!.line})`, fix: 'keep one up and at most one down marker per file' });
    }
  }
  const up = markers.find((m) => m.direction === 'up');
  const down = markers.find((m) => m.direction === 'down');
  if (down && !up) {
    problems.push({ file, line: down.line, message: 'down marker without an up marker', fix: 'add "-- migrate:up" above the up statements' });
  } else if (up && down && down.line < up.line) {
    problems.push({ file, line: down.line, message: 'down section comes before the up section', fix: 'put "-- migrate:up" first, then "-- migrate:down"' });
  }
  return problems;
}

/** sha256 of a section with line endings normalized, so a checkout with CRLF matches. */
export function checksumOf(text: string): string {
  return sha256(text.replace(/\r\n?/g, '\n'));
}

let crypto: typeof import('node:crypto') | undefined;

/**
 * sha256 (hex) of a string's UTF-8: one call (crypto.hash, Node 20.12+) where Node has it, much
 * cheaper than a Hash object for short texts. node:crypto loads on the first call (a few
 * milliseconds): a `status` answered from the caches hashes nothing.
 */
export function sha256(text: string): string {
  crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return typeof crypto.hash === 'function' ? crypto.hash('sha256', text, 'hex') : crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A short name for a path (a cache file's): FNV-1a, twice with different seeds. Not for anything a collision could fool: the caches check the path they hold. */
export function shortHash(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

const digests = new WeakMap<Migration, string>();

/**
 * A digest of everything in a migration a lint rule can read, except where its files are
 * (their names): the lint cache chains it into its keys (lint/cache.ts), and the file
 * cache keeps it (file-cache.ts). Computed once per migration object.
 */
export function contentDigest(migration: Migration): string {
  let digest = digests.get(migration);
  if (digest === undefined) {
    const { up, down } = migration;
    digest = sha256(JSON.stringify([migration.version, migration.name, migration.transaction, migration.unfilled ?? false, migration.header, migration.directives, up.firstLine, up.text, down && [down.firstLine, down.text]]));
    digests.set(migration, digest);
  }
  return digest;
}

/** Records a digest known without the text (the file cache's): `contentDigest` then answers it. */
export function knownDigest(migration: Migration, digest: string): void {
  digests.set(migration, digest);
}
