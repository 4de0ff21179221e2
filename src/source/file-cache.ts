import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Directive } from './migration.js';
import { shortHash } from './parse.js';

/**
 * What reading each migration file found, kept between runs next to the lint cache
 * (lint/cache.ts), so that a command run when no file changed (`cairn status`, an `up`
 * with nothing pending) neither reads, decodes, parses nor checksums them: a `stat` per
 * file answers. One JSON file per migrations directory, rewritten whole (write and
 * rename) when an entry is added or a file is gone.
 *
 * An entry is keyed by the file's path in the migrations directory and its stat: size,
 * mtime, ctime, inode and device (and the same of a sibling down file). Any change to any
 * of them reads the file again. ctime is what catches an edit that puts size and mtime
 * back afterwards (`touch -r`, `utimes`, a tool that keeps timestamps): the kernel sets a
 * file's ctime to its clock's current time on every write, truncate, `utimes`, `chmod` or
 * `chown`, and no system call sets it back (a file saved by writing a new one and renaming
 * it over the old is another inode). That leaves an edit whose ctime equals the
 * kept one: a second change within the file system's timestamp tick (coarse on some:
 * a second, two on FAT). So a file is kept only when its newest timestamp is more than
 * TRUST_AFTER_MS older than the start of the run that read it (otherwise it is read
 * again next run, as git treats its "racily clean" entries): any later write gets a ctime
 * at least that much newer. Only a clock set back, or a network file system whose server
 * clock runs more than that behind this machine's, could defeat it.
 *
 * The texts are not kept: a migration answered from here reads its file when its SQL is
 * first asked for (lint, apply, dump), and that read must give the content the entry
 * described, or the command stops (files.ts). Checksums compared against the history are
 * the ones computed when the file last changed: an applied file edited since is still
 * `changed`. A cache that cannot be read is ignored; one that cannot be written is
 * skipped.
 */
export interface FileCacheSettings {
  /** Directory of the cache files (the lint cache's: node_modules/.cache/cairn, CAIRN_CACHE_DIR). */
  readonly dir: string;
}

/** A file whose content changed this recently (mtime or ctime) is not kept: a second change in the same timestamp tick would not show. */
export const TRUST_AFTER_MS = 2000;

const FORMAT = 1;

/** What a migration file holds, besides its text: enough for `status` and a plan. */
export interface FileFacts {
  readonly checksum: string;
  /** contentDigest (parse.ts) of the migration: what the lint cache's keys chain. */
  readonly digest: string;
  readonly transaction: boolean;
  readonly header: Readonly<Record<string, string>>;
  readonly directives: readonly Directive[];
  readonly unfilled: boolean;
  readonly noOp: boolean;
  readonly upFirstLine: number;
  /** No down; the up section standing as its own down (a no-op up); or the down section, in the file or in the sibling down file. */
  readonly down: null | 'up' | { readonly firstLine: number; readonly sibling: boolean };
}

interface CacheFile {
  readonly format: number;
  /** The migrations directory (the file's name is a short hash of it). */
  readonly dir: string;
  readonly stamp: string;
  readonly entries: Readonly<Record<string, Entry>>;
}

/** The stat numbers (size, mtimeMs, ctimeMs, ino, dev; then the sibling down file's), the sibling's name, and the facts. */
type Entry = readonly [stat: readonly number[], down: string | null, facts: FileFacts];

/** A file's stat as an entry keeps it (numbers compared one by one: no string built per file), and whether it may be kept. */
export interface StatKey {
  readonly numbers: readonly number[];
  readonly down: string | null;
  readonly trusted: boolean;
}

/**
 * Size, mtime and ctime (milliseconds with their fraction, sub-microsecond at today's dates: a
 * BigInt stat, to the nanosecond, costs two to three times as much), inode, device.
 */
export function statNumbers(path: string): [number, number, number, number, number] {
  const s = statSync(path);
  return [s.size, s.mtimeMs, s.ctimeMs, s.ino, s.dev];
}

function sameStat(entry: Entry, stat: StatKey): boolean {
  const kept = entry[0];
  if (entry[1] !== stat.down || !Array.isArray(kept) || kept.length !== stat.numbers.length) return false;
  for (let i = 0; i < kept.length; i++) if (kept[i] !== stat.numbers[i]) return false;
  return true;
}

export class FileCache {
  private readonly file: string;
  private readonly dir: string;
  private readonly stamp: string;
  private readonly stored: CacheFile['entries'];
  private readonly current = new Map<string, Entry>();
  private changed = false;
  /** Wall clock before the first stat: what "changed recently" is measured from. */
  private readonly now = Date.now();

  /** `migrations`: the absolute path of the migrations directory (one cache file each). */
  constructor(settings: FileCacheSettings, migrations: string, encoding: string) {
    this.file = join(settings.dir, `files-${shortHash(migrations)}.json`);
    this.dir = migrations;
    this.stamp = `${codeStamp()} ${encoding}`;
    this.stored = this.read();
  }

  /**
   * The stat of `fileName` in `dir` (and of its sibling down file, named in it), and whether
   * the content is old enough to keep. Throws what statSync throws (a file gone since the listing).
   */
  statOf(dir: string, fileName: string, downFileName: string | null): StatKey {
    const main = statNumbers(`${dir}${sep}${fileName}`);
    const down = downFileName === null ? null : statNumbers(`${dir}${sep}${downFileName}`);
    const newest = Math.max(main[1], main[2], down?.[1] ?? 0, down?.[2] ?? 0);
    return { numbers: down ? [...main, ...down] : main, down: downFileName, trusted: newest < this.now - TRUST_AFTER_MS };
  }

  /** The facts kept for the file `path` (relative to the migrations directory) under this stat; undefined when the file changed or was never kept. */
  get(path: string, stat: StatKey): FileFacts | undefined {
    const entry = Object.prototype.hasOwnProperty.call(this.stored, path) ? this.stored[path] : undefined;
    if (!entry || !sameStat(entry, stat)) return undefined;
    this.current.set(path, entry);
    return entry[2];
  }

  /** Keeps what reading `path` found (its stat taken before the read). */
  set(path: string, stat: StatKey, facts: FileFacts): void {
    this.current.set(path, [stat.numbers, stat.down, facts]);
    this.changed = true;
  }

  /** Writes the entries of this run's files when any was added or dropped. Never throws. */
  save(): void {
    const dropped = Object.keys(this.stored).some((path) => !this.current.has(path));
    if (!this.changed && !dropped) return;
    const data: CacheFile = { format: FORMAT, dir: this.dir, stamp: this.stamp, entries: Object.fromEntries(this.current) };
    writeAtomically(this.file, JSON.stringify(data));
  }

  private read(): CacheFile['entries'] {
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<CacheFile> | null;
      const valid = data !== null && typeof data === 'object' && data.format === FORMAT && data.dir === this.dir && data.stamp === this.stamp && data.entries !== null && typeof data.entries === 'object' && !Array.isArray(data.entries);
      return valid ? data.entries! : {};
    } catch {
      return {}; // missing, unreadable or not JSON: as if empty
    }
  }
}

/**
 * Writes a cache file whole: a temporary file of this writer's own, renamed over the old one
 * (fleet workers and parallel CI jobs may save at once; the last rename wins whole). Returns
 * false when it cannot (a read-only or full disk): the caches only ever save time.
 */
export function writeAtomically(file: string, data: string | Buffer): boolean {
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(temp, data);
    renameSync(temp, file);
    return true;
  } catch {
    rmSync(temp, { force: true });
    return false;
  }
}

let stamp: string | undefined;

/**
 * Cairn's version; in a build from source (not under node_modules), also the newest
 * modification time of the lint and source code, so that neither cache answers with what
 * the code before a change found.
 */
export function codeStamp(): string {
  if (stamp !== undefined) return stamp;
  const here = dirname(fileURLToPath(import.meta.url));
  const { version } = JSON.parse(readFileSync(join(here, '..', '..', 'package.json'), 'utf8')) as { version: string };
  stamp = version;
  if (!here.split(/[\\/]/).includes('node_modules')) {
    let newest = 0;
    // dist/source/ and dist/lint/ as tsc builds them (src/… under vitest); in the bundled CLI (dist/bin/), its own chunks, rewritten by every build.
    for (const dir of basename(here) === 'source' ? [here, join(here, '..', 'lint')] : [here]) {
      for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
        if (entry.isFile() && /\.[jt]s$/.test(entry.name)) newest = Math.max(newest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
      }
    }
    stamp = `${version}+${newest}`;
  }
  return stamp;
}
