import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeStamp, writeAtomically } from '../source/file-cache.js';
import type { Migration } from '../source/migration.js';
import { contentDigest, sha256, shortHash } from '../source/parse.js';
import type { FileLint } from './linter.js';
import type { LintTarget } from './types.js';

/**
 * Lint results kept between runs, so that `cairn lint` in CI and then `cairn up`
 * in the deploy pay for the parse once, `cairn status` (which classifies every
 * file) re-lints nothing, and a long history is never linted twice.
 *
 * A file's findings depend on the file and on the schema the files before it
 * built, so its key chains: sha256 of the key before it, its files' names and
 * the digest of its content (name, header, up and down text: contentDigest,
 * which the file cache in source/ remembers, so an unchanged file is not hashed
 * again). The file stores the chain it was saved with, and a run takes its keys
 * for as long as the links match: one where nothing changed hashes nothing.
 * Changing a file re-lints it and every file after it; adding one re-lints
 * only that one. The chain starts from a
 * fingerprint of what else decides the findings: Cairn's version (and, in a
 * build from source, when the lint and source code last changed), the dialect
 * and versions linted for, and the rule settings. One JSON file per migrations
 * directory, rewritten whole (write and rename) with the entries of the
 * current chain only, so it never grows past the project. Next to it, for
 * SQLite, the schema model after the last file (an image of the in-memory
 * database the rules ask): one new file on top of a long history is linted
 * without replaying the history into SQLite, where every DDL statement costs a
 * scan of the whole schema (quadratic over a history). A cache that cannot
 * be read or parsed is ignored; one that cannot be written is skipped: the
 * cache only ever saves time.
 */
export interface LintCacheSettings {
  /** Directory of the cache files (node_modules/.cache/cairn, CAIRN_CACHE_DIR). */
  readonly dir: string;
  /** The migrations directory: one cache file each. */
  readonly project: string;
}

const FORMAT = 2;

interface CacheFile {
  readonly format: number;
  /** The migrations directory (the file's name is a short hash of it). */
  readonly project: string;
  /** What the chain starts from (fingerprintOf), as text: compared, not hashed, by a run that finds nothing changed. */
  readonly settings: string;
  readonly target: LintTarget;
  readonly entries: Readonly<Record<string, FileLint>>;
  /** The chain of the run that saved: each migration's link (its files' names and content digest) and key, in order. */
  readonly links?: readonly string[];
  readonly keys?: readonly string[];
}

export class LintCache {
  private readonly file: string;
  private stored: CacheFile | null | undefined;
  private chain: { readonly links: readonly string[]; readonly keys: readonly string[] } | undefined;

  constructor(
    private readonly settings: LintCacheSettings,
    /** fingerprintOf the lint settings. */
    private readonly fingerprint: string,
  ) {
    this.file = join(settings.dir, `lint-${shortHash(settings.project)}.json`);
  }

  /**
   * Each migration's key, in order: each one covers the migrations before it. The longest
   * prefix whose links equal the stored chain's takes the stored keys (no hashing: a run
   * where nothing changed computes none); from the first difference on, they are computed.
   */
  keys(migrations: readonly Migration[]): string[] {
    const links = migrations.map(linkOf);
    const stored = this.read();
    const keys: string[] = [];
    if (stored?.links && stored.keys && stored.links.length === stored.keys.length) {
      while (keys.length < links.length && stored.links[keys.length] === links[keys.length]) keys.push(stored.keys[keys.length]!);
    }
    let key = keys.at(-1) ?? sha256(this.fingerprint);
    for (let i = keys.length; i < links.length; i++) keys.push((key = sha256(`${key}\0${links[i]}`)));
    this.chain = { links, keys };
    return keys;
  }

  /** The stored result for `key`, if this cache holds one (from a run with the same fingerprint). */
  get(key: string): FileLint | undefined {
    const entries = this.read()?.entries;
    return entries && Object.prototype.hasOwnProperty.call(entries, key) ? entries[key] : undefined;
  }

  /**
   * The SQLite schema model saved after one of `keys` (the last files linted or replayed):
   * how many migrations it covers, and its image. A file of its own next to the results:
   * its first 64 bytes are the key it was saved under.
   */
  model(keys: readonly string[]): { count: number; image: Buffer } | undefined {
    try {
      const data = readFileSync(this.modelFile);
      const index = keys.lastIndexOf(data.subarray(0, 64).toString('latin1'));
      return index < 0 ? undefined : { count: index + 1, image: data.subarray(64) };
    } catch {
      return undefined;
    }
  }

  /** Keeps the schema model after the migration of `key` (replacing the one kept before). Never throws. */
  saveModel(key: string, image: Buffer): void {
    this.write(this.modelFile, Buffer.concat([Buffer.from(key, 'latin1'), image]));
  }

  /** The target the stored results were linted for. */
  target(): LintTarget | undefined {
    return this.read()?.target;
  }

  /** Stores `fresh` next to the entries still in the chain `keys`; drops the rest. Never throws. */
  save(target: LintTarget, keys: readonly string[], fresh: ReadonlyMap<string, FileLint>): void {
    const entries: Record<string, FileLint> = {};
    for (const key of keys) {
      const entry = fresh.get(key) ?? this.get(key);
      if (entry) entries[key] = entry;
    }
    const chain = this.chain?.keys === keys ? this.chain : undefined;
    const data: CacheFile = { format: FORMAT, project: this.settings.project, settings: this.fingerprint, target, entries, ...chain };
    if (this.write(this.file, JSON.stringify(data))) this.stored = data;
  }

  private get modelFile(): string {
    return this.file.replace(/\.json$/, '.model');
  }

  private write(file: string, data: string | Buffer): boolean {
    return writeAtomically(file, data); // false on a read-only or full disk: lint works the same without the cache
  }

  private read(): CacheFile | null {
    if (this.stored !== undefined) return this.stored;
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<CacheFile> | null;
      const valid = data !== null && typeof data === 'object' && data.format === FORMAT && data.project === this.settings.project && data.settings === this.fingerprint && isRecord(data.entries) && isRecord(data.target) && (data.links === undefined || Array.isArray(data.links)) && (data.keys === undefined || Array.isArray(data.keys));
      this.stored = valid ? (data as CacheFile) : null;
    } catch {
      this.stored = null; // missing, unreadable or not JSON: as if empty
    }
    return this.stored;
  }
}

/** A migration's link in the chain: its files' names (`=` the migration's own file, `+` another, empty: no down) and its content digest. */
function linkOf(m: Migration): string {
  const other = (file: string) => (file === m.file ? '=' : `+${file}`);
  return `${m.file}\0${other(m.up.file)}\0${m.down ? other(m.down.file) : ''}\0${contentDigest(m)}`;
}

/** What decides a file's findings besides the files: Cairn's code and the lint settings (as text; the chain starts from its sha256). */
export function fingerprintOf(settings: Readonly<Record<string, unknown>>): string {
  return JSON.stringify({ format: FORMAT, code: codeStamp(), ...settings });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
