import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, watch, type Dirent, type FSWatcher } from 'node:fs';

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
 *   limit): a stat per file on every call, each file read again when its size
 *   or mtime moved.
 */
export async function templateKey(dir: string, prefix: string): Promise<string> {
  let memo = memos.get(dir);
  if (!memo) memos.set(dir, (memo = new DirectoryKey(dir)));
  return memo.key(prefix);
}

const memos = new Map<string, DirectoryKey>();

/** At most this many directories are watched per migrations directory; a layout with more (diesel's, a directory per migration) is stat'ed instead. */
const MAX_WATCHED_DIRECTORIES = 64;

class DirectoryKey {
  /** Digests by path relative to the directory, with the size:mtime they were read at (used when not watching). */
  private readonly digests = new Map<string, { readonly stamp: string; readonly digest: string }>();
  private watchers: FSWatcher[] = [];
  private watched = new Set<string>();
  /** The files' part of the key while the watches say nothing changed; null: compute it. */
  private files: string | null = null;

  constructor(private readonly dir: string) {}

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
    for (const entry of entries) {
      if (!entry.file) continue;
      const path = `${this.dir}/${entry.path}`; // not path.join: this runs for every file
      let known = this.digests.get(entry.path);
      if (watching) {
        // An event dropped the file's digest; its stamp is not trusted (a second edit within a timestamp tick keeps it).
        if (!known) this.digests.set(entry.path, (known = { stamp: '', digest: digest(path) }));
      } else {
        const stat = statSync(path);
        const stamp = `${stat.size}:${stat.mtimeMs}`;
        if (known?.stamp !== stamp) this.digests.set(entry.path, (known = { stamp, digest: digest(path) }));
      }
      key.update(`${entry.path}\0${known.digest}\0`);
    }
    return key.digest('hex');
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
