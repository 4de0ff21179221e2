import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
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
