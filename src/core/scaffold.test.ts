import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeMigrations } from '../../test/support/databases.js';
import { readMigrations } from '../source/files.js';
import { init, newMigration, nextVersion } from './scaffold.js';

describe('cairn init', () => {
  it('creates config, migrations/ and .gitignore entries once, keeping what exists', () => {
    const root = tempDir();
    writeFileSync(join(root, '.gitignore'), 'node_modules/');
    expect(init(root).created).toEqual(['cairn.config.ts', 'migrations/', '.gitignore entries (cairn.db, cairn.db-journal, .cairn/)']);
    expect(readFileSync(join(root, '.gitignore'), 'utf8')).toBe('node_modules/\n# cairn: local database and backups\ncairn.db\ncairn.db-journal\n.cairn/\n');
    expect(init(root)).toEqual({ created: [], existing: ['cairn.config.*', 'migrations/'] });
  });
});

describe('cairn new', () => {
  it('writes the next number with header and markers, and the file reads back', () => {
    const root = tempDir();
    const dir = writeMigrations(root, { '0001_create_users.sql': 'SELECT 1;', '0002_b.sql': 'SELECT 2;' });
    const created = newMigration(dir, root, 'Add phone to users', 'destructive');
    expect(created.file).toBe('migrations/0003_add_phone_to_users.sql');
    const text = readFileSync(created.path, 'utf8');
    expect(text).toContain('-- Migration: add phone to users\n-- Type: destructive\n-- Rollback:');
    writeFileSync(created.path, text.replace('-- migrate:up\n', '-- migrate:up\nALTER TABLE users ADD COLUMN phone TEXT;\n').replace('-- migrate:down\n', '-- migrate:down\nALTER TABLE users DROP COLUMN phone;\n'));
    const read = readMigrations(dir, root).at(-1)!;
    expect([read.header.type, read.up.statements.length, read.down?.statements.length]).toEqual(['destructive', 1, 1]);
  });

  it('continues the numbering style in use', () => {
    const now = new Date('2026-11-22T10:00:00Z');
    expect(nextVersion([], now)).toBe('0001');
    expect(nextVersion(['0009', '0010'], now)).toBe('0011');
    expect(nextVersion(['000009'], now)).toBe('000010');
    expect(nextVersion(['20261122_001'], now)).toBe('20261122_002');
    expect(nextVersion(['20240101_007'], now)).toBe('20261122_001');
  });

  it('refuses a name with nothing usable in it', () => {
    const root = tempDir();
    expect(() => newMigration(writeMigrations(root, {}), root, '!!!')).toThrow(/no letters or digits/);
  });
});
