import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, tempDir, writeMigrations } from './support/databases.js';

/** What a user's bad input meets at the CLI: an error with file, line and fix, exit code, nothing applied. */
const USERS = '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n-- migrate:down\nDROP TABLE users;\n';

describe('bytes that are not UTF-8', () => {
  const LATIN1 = Buffer.concat([Buffer.from("-- migrate:up\nINSERT INTO users (id, name) VALUES (1, 'caf"), Buffer.from([0xe9]), Buffer.from("');\n-- migrate:down\nDELETE FROM users;\n")]);

  it('are an error naming file, line and byte offset; nothing applied, validate fails too', () => {
    const root = tempDir();
    const dir = writeMigrations(root, { '0001_users.sql': USERS });
    writeFileSync(join(dir, '0002_seed.sql'), LATIN1);
    const up = runCli(['up'], { cwd: root });
    expect(up.status).toBe(2);
    expect(up.stderr).toContain('migrations/0002_seed.sql:2: invalid UTF-8 at byte offset 58 (0xE9');
    expect(up.stderr).toContain("encoding: 'latin1'");
    expect(existsSync(join(root, 'cairn.db'))).toBe(false);
    const validate = runCli(['validate', '--json'], { cwd: root });
    expect(validate.status).not.toBe(0);
    expect(validate.stdout).toContain('invalid UTF-8 at byte offset 58');
  });

  it("with `encoding: 'latin1'` are read as Latin-1 and applied as written", () => {
    const root = tempDir();
    const dir = writeMigrations(root, { '0001_users.sql': USERS });
    writeFileSync(join(dir, '0002_seed.sql'), LATIN1);
    writeFileSync(join(root, 'cairn.config.json'), JSON.stringify({ encoding: 'latin1' }));
    expect(runCli(['up'], { cwd: root }).status).toBe(0);
    const db = new Database(join(root, 'cairn.db'), { readonly: true });
    expect(db.prepare('SELECT name FROM users').all()).toEqual([{ name: 'café' }]);
    db.close();
    writeFileSync(join(root, 'cairn.config.json'), JSON.stringify({ encoding: 'klingon' }));
    const unknown = runCli(['status'], { cwd: root });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('encoding "klingon" is not an encoding Cairn can read');
  });
});

describe('a read-only SQLite database', () => {
  // Root ignores file modes, so as root the file is made immutable (chattr +i) instead; undone after each test.
  const undo: (() => void)[] = [];
  afterEach(() => undo.splice(0).forEach((step) => step()));
  const makeReadOnly = (path: string) => {
    if (process.getuid?.() === 0) {
      expect(spawnSync('chattr', ['+i', path]).status).toBe(0);
      undo.push(() => spawnSync('chattr', ['-i', path]));
    } else {
      chmodSync(path, 0o555);
      undo.push(() => chmodSync(path, 0o755));
    }
  };

  it('is a CONNECTION error with the path and the fix, not an internal error; reading still works', () => {
    const root = tempDir();
    const dir = writeMigrations(root, { '0001_users.sql': USERS });
    expect(runCli(['up'], { cwd: root }).status).toBe(0);
    writeFileSync(join(dir, '0002_posts.sql'), 'CREATE TABLE posts (id INTEGER PRIMARY KEY);\n');
    makeReadOnly(join(root, 'cairn.db'));
    const up = runCli(['up'], { cwd: root });
    expect(up.status).toBe(3);
    expect(up.stderr).toContain(`error[CONNECTION]: cannot write to SQLite database sqlite:cairn.db: ${join(root, 'cairn.db')} is read-only`);
    expect(up.stderr).toContain('chmod u+w');
    expect(up.stderr).not.toContain('internal error');
    const status = runCli(['status'], { cwd: root });
    expect(status.status).toBe(0);
    expect(status.stdout).toContain('0002');
  });

  it('in a read-only directory says which directory', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_users.sql': USERS });
    mkdirSync(join(root, 'data'));
    makeReadOnly(join(root, 'data'));
    const up = runCli(['up', '--url', 'sqlite:data/app.db', '--json'], { cwd: root });
    expect(up.status).toBe(3);
    expect(JSON.parse(up.stdout).error).toMatchObject({ code: 'CONNECTION', details: { path: join(root, 'data') } });
  });
});
