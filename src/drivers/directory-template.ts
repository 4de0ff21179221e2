import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { d1LocalUrl, type DatabaseUrl } from '../config/url.js';
import { tempCopies } from './copy-ahead.js';
import { acquireFileLock } from './file-lock.js';
import { processAlive } from './lock-holder.js';
import type { TemplateProject, TemplateStore } from './template.js';

/**
 * Templates for engines that keep a database in a directory: PGlite's data
 * directory, and a local D1's miniflare persist directory (wrangler's
 * --persist-to, its SQLite file inside). The template is
 * `.cairn/templates/<engine>-<key>/`, built in a sibling directory and renamed
 * into place; each test database is a copy of the directory in a new temp dir
 * (made ahead: tempCopies).
 */
export function directoryTemplates(project: TemplateProject, like: Extract<DatabaseUrl, { scheme: 'pglite' | 'd1' }>): TemplateStore {
  const engine = like.scheme;
  const databaseId = like.scheme === 'd1' && like.d1.kind === 'local' ? like.d1.databaseId : 'test';
  const at = (dir: string): { url: DatabaseUrl; text: string } =>
    engine === 'pglite'
      ? { url: { scheme: 'pglite', dataDir: dir, display: `pglite:${dir}` }, text: `pglite:${dir}` }
      : { url: { scheme: 'd1', d1: { kind: 'local', databaseId, persistDir: dir }, display: `d1 local ${databaseId} (${dir})` }, text: d1LocalUrl(databaseId, dir) };
  const template = (key: string) => join(project.dir, `${engine}-${key}`);
  const inside = engine === 'pglite' ? 'pgdata' : 'state';
  const copies = tempCopies((key, dir) => cp(template(key), join(dir, inside), { recursive: true }));
  return {
    async ensure(key, migrate) {
      if (existsSync(template(key))) return false;
      mkdirSync(project.dir, { recursive: true });
      const release = await acquireFileLock(join(project.dir, `${engine}-${key}.lock`), { timeoutMs: 10 * 60_000, what: 'another process building the test database template' });
      try {
        if (existsSync(template(key))) return false;
        const building = `${template(key)}.build-${process.pid}`;
        rmSync(building, { recursive: true, force: true });
        try {
          await migrate(at(building).url);
          renameSync(building, template(key));
        } catch (error) {
          rmSync(building, { recursive: true, force: true });
          throw error;
        }
        for (const name of readdirSync(project.dir)) {
          const build = new RegExp(`^${engine}-\\w+\\.build-(\\d+)$`).exec(name);
          const stale = (new RegExp(`^${engine}-(\\w+)$`).exec(name)?.[1] ?? key) !== key || (build !== null && !processAlive(Number(build[1])));
          if (stale) rmSync(join(project.dir, name), { recursive: true, force: true });
        }
        return true;
      } finally {
        release();
      }
    },

    async copy(key, options) {
      const dir = await copies.take(key, options.ahead);
      const target = join(dir, inside);
      return { url: at(target).text, drop: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  };
}
