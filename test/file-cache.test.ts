import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMigrations } from '../src/source/files.js';
import { TRUST_AFTER_MS } from '../src/source/file-cache.js';
import { runCli, tempDir, writeMigrations } from './support/databases.js';

/**
 * The file cache (src/source/file-cache.ts) lets `status` and an `up` with nothing pending
 * answer from a stat of each migration file instead of reading it. It must never answer
 * with what a file held before: whatever it holds, commands say what they say without it.
 *
 * A file is kept only once it has not changed for TRUST_AFTER_MS (a second change within
 * the same timestamp tick would not show), so each test waits that long after writing its
 * files before the run that fills the cache.
 */
const FILES = {
  '0001_create_users.sql': '-- Migration: users\n-- Type: additive\n-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n-- migrate:down\nDROP TABLE users;\n',
  '0002_add_posts.sql': 'CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));\n',
  '0002_add_posts.down.sql': 'DROP TABLE posts;\n',
  '0003_placeholder.sql': '-- migrate:up\n-- nothing to do here yet: a recorded no-op\n',
  '0004_index_email.sql': '-- cairn:no-transaction\n-- migrate:up\nCREATE INDEX users_email ON users (email);\n-- migrate:down\nDROP INDEX users_email;\n',
  '0005_add_name.sql': '-- Type: additive\n-- migrate:up\nALTER TABLE users ADD COLUMN name TEXT;\n',
};

const settle = () => new Promise((resolve) => setTimeout(resolve, TRUST_AFTER_MS + 100));

/** A project with its own cache directory; `cli` runs the CLI there, with or without the caches. */
function project(files: Record<string, string> = FILES) {
  const root = tempDir();
  const cache = tempDir('cairn-cache-');
  const dir = writeMigrations(root, files);
  const cli = (args: string[], options: { noCache?: boolean } = {}) => runCli(args, { cwd: root, env: { CAIRN_CACHE_DIR: cache, CAIRN_NO_CACHE: options.noCache ? '1' : '' } });
  /** The files the file cache holds an entry for. */
  const kept = (): string[] => {
    const [file] = readdirSync(cache).filter((f) => f.startsWith('files-'));
    return file ? Object.keys((JSON.parse(readFileSync(join(cache, file), 'utf8')) as { entries: object }).entries).sort() : [];
  };
  return { root, dir, cache, cli, kept };
}

describe('file cache', () => {
  it('gives `status` the output it has without the cache, human and --json', async () => {
    const p = project();
    await settle();
    expect(p.cli(['up', '--to', '0003']).status).toBe(0);
    // Every SQL file was read once, and is remembered: the next runs stat it instead.
    expect(p.kept()).toEqual(['0001_create_users.sql', '0002_add_posts.sql', '0003_placeholder.sql', '0004_index_email.sql', '0005_add_name.sql']);
    for (const args of [['status'], ['status', '--json']]) {
      const cached = p.cli(args);
      const uncached = p.cli(args, { noCache: true });
      expect(cached.status).toBe(0);
      expect(cached.stdout).toBe(uncached.stdout);
      expect(cached.stderr).toBe(uncached.stderr);
    }
    const states = (JSON.parse(p.cli(['status', '--json']).stdout) as { migrations: { version: string; state: string; content: string | null; hasDown: boolean; transaction: boolean }[] }).migrations;
    expect(states.map((m) => [m.version, m.state, m.content, m.hasDown, m.transaction])).toEqual([
      ['0001', 'applied', null, true, true],
      ['0002', 'applied', null, true, true],
      ['0003', 'applied', 'no-op', true, true],
      ['0004', 'pending', null, true, false],
      ['0005', 'pending', null, false, true],
    ]);
    // The pending files' SQL is read from disk when it runs, and is what runs.
    expect(p.cli(['up']).status).toBe(0);
    expect(p.cli(['status']).stdout).toBe(p.cli(['status'], { noCache: true }).stdout);
    expect(p.cli(['up']).stdout).toContain('Nothing to apply');
  });

  it('still reports an applied file edited with its size and mtime put back', async () => {
    const p = project();
    const file = join(p.dir, '0001_create_users.sql');
    // A whole second (as a checkout or an archive leaves it), so that putting it back below is exact.
    const mtime = new Date('2026-01-01T00:00:00Z');
    utimesSync(file, mtime, mtime);
    await settle();
    expect(p.cli(['up']).status).toBe(0);
    expect(p.kept()).toHaveLength(5);
    const before = statSync(file);
    // Same length, same mtime (what `touch -r` or a careful tool leaves): only the content and ctime differ.
    writeFileSync(file, readFileSync(file, 'utf8').replace('email TEXT NOT NULL', 'email BLOB NOT NULL'));
    utimesSync(file, mtime, mtime);
    const after = statSync(file);
    expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
    expect(after.ctimeMs).not.toBe(before.ctimeMs); // the kernel's own clock: what the cache's key catches it by

    const status = JSON.parse(p.cli(['status', '--json']).stdout) as { migrations: { version: string; state: string }[] };
    expect(status.migrations.find((m) => m.version === '0001')?.state).toBe('changed');
    const up = p.cli(['up']);
    expect(up.status).toBe(3);
    expect(up.stderr).toContain('0001');
    expect(p.cli(['status']).stdout).toBe(p.cli(['status'], { noCache: true }).stdout);
  });

  it('reads a file again when it was replaced, renamed over, or its down file appeared', async () => {
    const p = project({ '0001_create_users.sql': FILES['0001_create_users.sql'], '0002_add_posts.sql': FILES['0002_add_posts.sql'] });
    await settle();
    expect(p.cli(['up']).status).toBe(0);
    // A new file of the same size written elsewhere and renamed over 0002 (as editors save): another inode.
    const replacement = join(p.root, 'replacement.sql');
    writeFileSync(replacement, FILES['0002_add_posts.sql'].replace('user_id', 'owner_id'));
    writeFileSync(join(p.dir, '0002_add_posts.down.sql'), FILES['0002_add_posts.down.sql']);
    const { renameSync } = await import('node:fs');
    renameSync(replacement, join(p.dir, '0002_add_posts.sql'));
    const status = JSON.parse(p.cli(['status', '--json']).stdout) as { migrations: { version: string; state: string; hasDown: boolean }[] };
    expect(status.migrations.map((m) => [m.version, m.state, m.hasDown])).toEqual([
      ['0001', 'applied', true],
      ['0002', 'changed', true],
    ]);
  });

  it('refuses a remembered file whose content changed before its SQL was read', async () => {
    const root = tempDir();
    const dir = writeMigrations(root, { '0001_create_users.sql': FILES['0001_create_users.sql'] });
    const cache = { dir: tempDir('cairn-cache-') };
    await settle();
    readMigrations(dir, root, { cache }); // reads the file and keeps what it found
    const [remembered] = readMigrations(dir, root, { cache }); // from the cache: the text is not read yet
    expect(remembered!.checksum).toBe(readMigrations(dir, root)[0]!.checksum);
    writeFileSync(join(dir, '0001_create_users.sql'), FILES['0001_create_users.sql'].replace('email', 'phone'));
    expect(() => remembered!.up.text).toThrow(/0001_create_users\.sql changed while cairn was running/);
  });
});
