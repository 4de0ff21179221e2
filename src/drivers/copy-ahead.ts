import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Hands out copies of a template, each in a new temporary directory, one made ahead (see `take`). */
export interface TempCopies {
  /**
   * A new directory holding a copy of template `key`. From the process's
   * second copy on, with `ahead`, the next copy is made in the background as
   * soon as this one is handed out, while the test works; the next call takes
   * it (or waits for the rest of it). One spare per process, removed when the
   * process exits.
   */
  take(key: string, ahead: boolean): Promise<string>;
}

/** Every store's unclaimed directories, removed at exit by one listener (not one per store: a test file makes many). */
const atExit = new Set<Set<string>>();
function removeAtExit(dirs: Set<string>): void {
  if (atExit.size === 0) {
    process.once('exit', () => {
      for (const set of atExit) for (const dir of set) rmSync(dir, { recursive: true, force: true });
    });
  }
  atExit.add(dirs);
}

/** `copyInto(key, dir)` copies template `key` into the empty directory `dir`. */
export function tempCopies(copyInto: (key: string, dir: string) => Promise<void>): TempCopies {
  let handedOut = 0;
  /** The copy made ahead: its directory once made, null when making it failed (the next call copies, and reports why). */
  let spare: { readonly key: string; readonly dir: Promise<string | null> } | null = null;
  /** Directories made and not handed out: removed at exit (synchronously, as 'exit' requires). */
  const unclaimed = new Set<string>();
  removeAtExit(unclaimed);

  const make = async (key: string): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-test-'));
    unclaimed.add(dir);
    try {
      await copyInto(key, dir);
    } catch (error) {
      unclaimed.delete(dir);
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return dir;
  };

  const discard = async (dir: string | null) => {
    if (dir === null) return;
    unclaimed.delete(dir);
    await rm(dir, { recursive: true, force: true });
  };

  return {
    async take(key, ahead) {
      handedOut++;
      let dir: string | null = null;
      const waiting = spare;
      spare = null;
      if (waiting?.key === key) dir = await waiting.dir;
      else if (waiting) void waiting.dir.then((left) => discard(left)).catch(() => undefined); // copied from a template whose migrations have since changed
      dir ??= await make(key);
      unclaimed.delete(dir);
      if (ahead && handedOut >= 2) spare = { key, dir: make(key).catch(() => null) };
      return dir;
    },
  };
}
