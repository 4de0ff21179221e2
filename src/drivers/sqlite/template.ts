import { constants, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tempCopies } from '../copy-ahead.js';
import { acquireFileLock } from '../file-lock.js';
import { processAlive } from '../lock-holder.js';
import { createScratchDatabase } from '../index.js';
import type { TemplateProject, TemplateStore } from '../template.js';

/**
 * SQLite templates: `<project>/.cairn/templates/sqlite-<key>.db`, built in a
 * scratch file and renamed into place whole, so a reader never sees half a
 * template. Each test database is a copy of the file in a fresh temporary
 * directory (a reflink where the filesystem offers one), or for `:memory:`
 * the template's bytes deserialized into a new in-memory database.
 *
 * Files are copied ahead (tempCopies): an 8.6 MB copy for bench/generate.mjs's
 * 1000 migrations is 2–3 ms; taking a copy made ahead is a few microseconds.
 */
export function sqliteTemplates(project: TemplateProject, options: { readonly memory: boolean }): TemplateStore {
  const file = (key: string) => join(project.dir, `sqlite-${key}.db`);
  const copies = tempCopies((key, dir) => copyFile(file(key), join(dir, 'test.db'), constants.COPYFILE_FICLONE));
  return {
    async ensure(key, migrate) {
      if (existsSync(file(key))) return false;
      mkdirSync(project.dir, { recursive: true });
      const release = await acquireFileLock(join(project.dir, `sqlite-${key}.lock`), { timeoutMs: 10 * 60_000, what: 'another process building the test database template' });
      try {
        if (existsSync(file(key))) return false;
        const scratch = await createScratchDatabase({ scheme: 'sqlite', path: '', display: '' });
        try {
          await migrate(scratch.url);
          if (scratch.url.scheme !== 'sqlite') throw new Error('unreachable');
          const building = `${file(key)}.build-${process.pid}`;
          copyFileSync(scratch.url.path, building);
          renameSync(building, file(key));
        } finally {
          await scratch.drop();
        }
        removeStale(project.dir, key);
        return true;
      } finally {
        release();
      }
    },

    async copy(key, copyOptions) {
      if (options.memory) {
        const db = new Database(templateBytes(file(key)));
        return { url: 'sqlite::memory:', db, drop: async () => void db.close() };
      }
      const dir = await copies.take(key, copyOptions.ahead);
      const path = join(dir, 'test.db');
      const db = copyOptions.open ? new Database(path) : undefined;
      return {
        url: `sqlite:${path}`,
        ...(db ? { db } : {}),
        drop: async () => {
          db?.close();
          await rm(path, { force: true }); // off the event loop: freeing the file's blocks takes longer than copying them
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

/** The template's bytes, read once per process and key: a test that asks for `:memory:` copies nothing from disk. */
const bytes = new Map<string, Buffer>();
function templateBytes(path: string): Buffer {
  let buffer = bytes.get(path);
  if (!buffer) bytes.set(path, (buffer = readFileSync(path)));
  return buffer;
}

/** Templates of other keys (migrations since changed), and builds a dead process left. A file another process is copying right now stays readable until it closes it. */
function removeStale(dir: string, key: string): void {
  for (const name of readdirSync(dir)) {
    const build = /^sqlite-\w+\.db\.build-(\d+)$/.exec(name);
    const stale = (/^sqlite-(\w+)\.db$/.exec(name)?.[1] ?? key) !== key || (build !== null && !processAlive(Number(build[1])));
    if (stale) rmSync(join(dir, name), { force: true });
  }
}
