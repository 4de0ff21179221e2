import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, watch, type Dirent, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { statNumbers, TRUST_AFTER_MS, writeAtomically, type FileCacheSettings } from './file-cache.js';
import { shortHash } from './parse.js';

/**
 * The template key of a migrations directory: sha256 over `prefix` (Cairn's
 * version, the engine, the history table) and every file under the directory,
 * subdirectories included (diesel's `<version>_<name>/up.sql`, wrangler's
 * nested patterns), by relative path and contents. A changed, added, removed
 * or renamed file gives a new key.
 *
 * Shared by test templates (src/testing) and the migrations `cairn diff`
 * keeps on a PostgreSQL server (src/evolve/postgres/diff.ts).
 *
 * A test process asks for it once per test database, and a thousand
 * migrations are a thousand files, so the key is memoized per process:
 *
 * - On Linux, inotify watches the directory (and each subdirectory) once the
 *   key is computed. The kernel queues an event before a write returns, and each
 *   call lets the event loop take queued events before it trusts the memo, so
 *   an edit made a moment earlier, by this process or another, is seen; only
 *   the files the events name are read again. Asking costs a directory-free
 *   check: no stat, no read.
 * - Elsewhere (macOS delivers FSEvents late, and some filesystems send none),
 *   and when the watches cannot be had (too many subdirectories, the inotify
 *   limit): a stat per file on every call, each file read again when its stat
 *   moved, or when it was written less than TRUST_AFTER_MS ago.
 *
 * A new process (each vitest worker, each `cairn diff`) starts from the digests
 * the last one kept in the cache directory (`cache`, the lint cache's; null:
 * none), by each file's stat (size, mtime, ctime, inode, device), under the
 * file cache's rule (file-cache.ts): only a file whose timestamps are more than
 * TRUST_AFTER_MS old is kept, and any write since changes its ctime. So a first
 * call stats the files instead of reading and hashing every one (1000 files:
 * about 60 ms → 30 ms, the watches' setup included).
 */
export async function templateKey(dir: string, prefix: string, cache: FileCacheSettings | null): Promise<string> {
  const id = `${cache?.dir ?? ''}\0${dir}`;
  let memo = memos.get(id);
  if (!memo) memos.set(id, (memo = new DirectoryKey(dir, cache === null ? null : join(cache.dir, `key-${shortHash(dir)}.json`))));
  return memo.key(prefix);
}

const memos = new Map<string, DirectoryKey>();

/** Forgets what this process computed (the watches too), as if it were a new process; the kept digests stay. For tests. */
export function forgetTemplateKeys(): void {
  for (const memo of memos.values()) memo.close();
  memos.clear();
}

/** At most this many directories are watched per migrations directory; a layout with more (diesel's, a directory per migration) is stat'ed instead. */
const MAX_WATCHED_DIRECTORIES = 64;

/** A file's digest and the stat it was read at: size, mtimeMs, ctimeMs, ino, dev. */
interface Digest {
  readonly stat: readonly number[];
  readonly digest: string;
}

const FORMAT = 1;

class DirectoryKey {
  /** Digests by path relative to the directory (while watching, a file's is dropped when an event names it). */
  private readonly digests = new Map<string, Digest>();
  private watchers: FSWatcher[] = [];
  private watched = new Set<string>();
  /** The files' part of the key while the watches say nothing changed; null: compute it. */
  private files: string | null = null;
  /** What the cache file holds: read at start (for files this process has no digest of yet), replaced when it writes the file. */
  private readonly kept: Map<string, Digest>;

  constructor(
    private readonly dir: string,
    private readonly cacheFile: string | null,
  ) {
    this.kept = this.readKept();
  }

  async key(prefix: string): Promise<string> {
    if (this.watchers.length > 0) {
      // Let the loop read the inotify events already queued. Two turns: called from the poll phase (an I/O callback,
      // as a test runner's message is), the first immediate runs before the loop polls again; the second runs after it has.
      await nextTurn();
      await nextTurn();
    }
    let files = this.files;
    if (files === null) {
      const watching = this.watch();
      files = this.compute(watching);
      if (watching) this.files = files;
    }
    return createHash('sha256').update(`${prefix}\0${files}`).digest('hex').slice(0, 16);
  }

  /** Every file under the directory, in name order, with its digest. */
  private compute(watching: boolean): string {
    let entries: { readonly path: string; readonly file: boolean }[];
    try {
      entries = readdirSync(this.dir, { withFileTypes: true, recursive: true }).map((dirent) => {
        const relative = relativeOf(this.dir, dirent);
        return { path: relative, file: dirent.isFile() || (dirent.isSymbolicLink() && isFile(`${this.dir}/${relative}`)) };
      });
    } catch {
      return ''; // a missing directory: withSession reports it with its hint
    }
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const key = createHash('sha256');
    const trustBefore = Date.now() - TRUST_AFTER_MS;
    const keep = new Map<string, Digest>();
    for (const entry of entries) {
      if (!entry.file) continue;
      const path = `${this.dir}/${entry.path}`; // not path.join: this runs for every file
      let known = this.digests.get(entry.path);
      // Watching, a digest still here has had no event since it was read. Otherwise the stat says whether one can be reused.
      if (!watching || !known) {
        const stat = statNumbers(path);
        const trusted = Math.max(stat[1], stat[2]) < trustBefore;
        known ??= this.kept.get(entry.path);
        if (!trusted || !known || !sameStat(known.stat, stat)) known = { stat, digest: digest(path) };
        this.digests.set(entry.path, known);
        if (trusted) keep.set(entry.path, known);
      } else if (this.kept.get(entry.path) === known) keep.set(entry.path, known);
      key.update(`${entry.path}\0${known.digest}\0`);
    }
    this.saveKept(keep);
    return key.digest('hex');
  }

  /** Kept digests of the last process that computed this directory's key; empty when there are none (or they are not readable). */
  private readKept(): Map<string, Digest> {
    if (this.cacheFile === null) return new Map();
    try {
      const data = JSON.parse(readFileSync(this.cacheFile, 'utf8')) as { format?: unknown; dir?: unknown; files?: unknown } | null;
      if (data?.format !== FORMAT || data.dir !== this.dir || typeof data.files !== 'object' || data.files === null) return new Map();
      return new Map(Object.entries(data.files as Record<string, Digest>).filter(([, d]) => Array.isArray(d?.stat) && typeof d.digest === 'string'));
    } catch {
      return new Map();
    }
  }

  /** Writes the digests worth keeping when they are not what was read at start. */
  private saveKept(keep: Map<string, Digest>): void {
    if (this.cacheFile === null) return;
    const same = keep.size === this.kept.size && [...keep].every(([path, d]) => this.kept.get(path) === d);
    if (same) return;
    if (writeAtomically(this.cacheFile, JSON.stringify({ format: FORMAT, dir: this.dir, files: Object.fromEntries(keep) }))) {
      this.kept.clear();
      for (const [path, d] of keep) this.kept.set(path, d);
    }
  }

  /** Starts watching when it can (Linux) and is not already; false: compute from stats every time. */
  private watch(): boolean {
    if (this.watchers.length > 0) return true;
    if (process.platform !== 'linux') return false;
    let directories: string[];
    try {
      directories = ['', ...readdirSync(this.dir, { withFileTypes: true, recursive: true }).filter((d) => d.isDirectory()).map((d) => relativeOf(this.dir, d))];
    } catch {
      return false;
    }
    if (directories.length > MAX_WATCHED_DIRECTORIES) return false;
    this.digests.clear(); // read before the watches began: may be stale
    this.watched = new Set(directories);
    try {
      for (const sub of directories) {
        const watcher = watch(sub === '' ? this.dir : `${this.dir}/${sub}`, { persistent: false }, (event, name) => this.changed(event, sub, name));
        watcher.on('error', () => this.unwatch());
        this.watchers.push(watcher);
      }
    } catch {
      this.unwatch(); // ENOSPC (the inotify limit), or the directory went away
      return false;
    }
    return true;
  }

  /** A file changed: read it again next time. A directory came or went: watch afresh (and read everything again). */
  private changed(event: string, sub: string, name: string | Buffer | null): void {
    this.files = null;
    if (name === null) return this.unwatch();
    const path = sub === '' ? String(name) : `${sub}/${String(name)}`;
    this.digests.delete(path);
    if (event === 'rename' && (this.watched.has(path) || isDirectory(`${this.dir}/${path}`))) this.unwatch();
  }

  close(): void {
    this.unwatch();
  }

  private unwatch(): void {
    for (const watcher of this.watchers) watcher.close();
    this.watchers = [];
    this.watched = new Set();
    this.files = null;
    this.digests.clear();
  }
}

/** `sub/name` relative to `dir` (Node 20.1–20.11 name the parent `path`). */
function relativeOf(dir: string, dirent: Dirent): string {
  const parent = dirent.parentPath ?? (dirent as unknown as { path: string }).path;
  return parent === dir ? dirent.name : `${parent.slice(dir.length + 1)}/${dirent.name}`;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

function sameStat(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

function digest(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
