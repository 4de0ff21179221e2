import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it } from 'vitest';
import { tempDir, writeMigrations } from '../../test/support/databases.js';
import { TRUST_AFTER_MS } from './file-cache.js';
import { forgetTemplateKeys, templateKey } from './template-key.js';

/** A migrations directory whose files are old enough to be kept, and a cache directory. */
async function project() {
  const root = tempDir();
  const dir = writeMigrations(root, { '0001_a.sql': 'CREATE TABLE a (id int);', '0002_b.sql': 'CREATE TABLE b (id int);', '0003_c.sql': 'CREATE TABLE c (id int);' });
  await sleep(TRUST_AFTER_MS + 100);
  return { dir, cache: { dir: join(root, 'cache') } };
}

const keptFile = (cache: { dir: string }) => join(cache.dir, readdirSync(cache.dir).find((n) => n.startsWith('key-'))!);

describe('template key digests kept between processes', () => {
  beforeEach(() => forgetTemplateKeys());

  it('a new process reuses the kept digests (a forged one shows in the key) and gets the same key as with no cache', async () => {
    const { dir, cache } = await project();
    const key = await templateKey(dir, 'p', cache);
    expect(Object.keys(JSON.parse(readFileSync(keptFile(cache), 'utf8')).files).sort()).toEqual(['0001_a.sql', '0002_b.sql', '0003_c.sql']);
    forgetTemplateKeys();
    expect(await templateKey(dir, 'p', null)).toBe(key);
    forgetTemplateKeys();
    expect(await templateKey(dir, 'p', cache)).toBe(key);

    // The kept digest is what a new process uses for an unchanged file: forge one, and the key moves.
    const kept = JSON.parse(readFileSync(keptFile(cache), 'utf8'));
    kept.files['0002_b.sql'].digest = '0'.repeat(64);
    writeFileSync(keptFile(cache), JSON.stringify(kept));
    forgetTemplateKeys();
    expect(await templateKey(dir, 'p', cache)).not.toBe(key);
  });

  it('an edit that puts size and mtime back is still seen by a new process, seconds later (ctime)', async () => {
    const root = tempDir();
    const dir = writeMigrations(root, { '0001_a.sql': 'CREATE TABLE a (id int);', '0002_b.sql': 'CREATE TABLE b (id int);' });
    const cache = { dir: join(root, 'cache') };
    const file = join(dir, '0002_b.sql');
    const mtime = new Date('2026-01-01T00:00:00Z'); // whole seconds: utimes puts it back exactly
    utimesSync(file, mtime, mtime);
    await sleep(TRUST_AFTER_MS + 100);
    const key = await templateKey(dir, 'p', cache);
    const before = statSync(file);
    writeFileSync(file, 'CREATE TABLE x (id int);'); // same length
    utimesSync(file, mtime, mtime);
    const after = statSync(file);
    expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
    await sleep(TRUST_AFTER_MS + 100); // old enough to be trusted again: only its ctime tells
    forgetTemplateKeys();
    const edited = await templateKey(dir, 'p', cache);
    expect(edited).not.toBe(key);
    forgetTemplateKeys();
    expect(await templateKey(dir, 'p', null)).toBe(edited);
  });

  it('a file written just now is not kept (a second edit in the same timestamp tick could hide behind it)', async () => {
    const { dir, cache } = await project();
    writeFileSync(join(dir, '0004_d.sql'), 'CREATE TABLE d (id int);');
    await templateKey(dir, 'p', cache);
    expect(Object.keys(JSON.parse(readFileSync(keptFile(cache), 'utf8')).files).sort()).toEqual(['0001_a.sql', '0002_b.sql', '0003_c.sql']);
  });

  it('an unreadable cache file is ignored and replaced', async () => {
    const { dir, cache } = await project();
    const key = await templateKey(dir, 'p', null);
    forgetTemplateKeys();
    await templateKey(dir, 'p', cache);
    writeFileSync(keptFile(cache), '{ not json');
    forgetTemplateKeys();
    expect(await templateKey(dir, 'p', cache)).toBe(key);
    expect(JSON.parse(readFileSync(keptFile(cache), 'utf8')).format).toBe(1);
  });
});
