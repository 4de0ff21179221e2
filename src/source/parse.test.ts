import { describe, expect, it } from 'vitest';
import { tempDir, writeMigrations } from '../../test/support/databases.js';
import { readMigrations } from './files.js';
import { parseMigrationText } from './parse.js';

/** What `wrangler d1 migrations create DB create_users` writes, then the SQL a user adds under it. */
const WRANGLER_FILE = '-- Migration number: 0001 \t 2024-01-01T00:00:00.000Z\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n';

describe("wrangler's migration files", () => {
  it('reads the "-- Migration number:" header as a header comment: the whole file is up, with no problems', () => {
    const parsed = parseMigrationText(WRANGLER_FILE, 'migrations/0001_create_users.sql');
    expect(parsed.problems).toEqual([]);
    expect(parsed.down).toBeNull();
    expect(parsed.transaction).toBe(true);
    expect(parsed.header['migration number']).toBe('0001 \t 2024-01-01T00:00:00.000Z');
    expect(parsed.up.text).toBe(WRANGLER_FILE);
  });

  it('takes wrangler file names as they are, one statement per migration', () => {
    const root = tempDir();
    const migrations = readMigrations(
      writeMigrations(root, { '0001_create_users.sql': WRANGLER_FILE, '0002_add_posts.sql': '-- Migration number: 0002 \t 2024-01-02T10:00:00.000Z\nCREATE TABLE posts (id INTEGER PRIMARY KEY);\n' }),
      root,
    );
    expect(migrations.map((m) => [m.version, m.name, m.file, m.up.statements.length])).toEqual([
      ['0001', 'create_users', 'migrations/0001_create_users.sql', 1],
      ['0002', 'add_posts', 'migrations/0002_add_posts.sql', 1],
    ]);
    expect(migrations[0]!.up.statements[0]!.line).toBe(2);
  });
});
