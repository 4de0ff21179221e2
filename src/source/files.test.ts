import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeMigrations } from '../../test/support/databases.js';
import { CairnError } from '../errors.js';
import { assertFilled, readMigrations, unfilledProblems } from './files.js';
import { formatProblem } from './migration.js';
import { checksumOf } from './parse.js';

function read(files: Record<string, string>) {
  const root = tempDir();
  return readMigrations(writeMigrations(root, files), root);
}

function problemsOf(files: Record<string, string>): string[] {
  try {
    read(files);
  } catch (error) {
    expect(error).toBeInstanceOf(CairnError);
    expect((error as CairnError).code).toBe('SOURCE');
    return ((error as CairnError).details.problems as { file: string; line?: number; message: string }[]).map((p) => `${p.file}${p.line ? `:${p.line}` : ''} ${p.message}`);
  }
  throw new Error('expected a SOURCE error');
}

describe('reading migration files', () => {
  it('orders by version numerically, not as text', () => {
    const migrations = read({ '10_ten.sql': 'SELECT 10;', '0009_nine.sql': 'SELECT 9;', '0002_two.sql': 'SELECT 2;' });
    expect(migrations.map((m) => m.version)).toEqual(['0002', '0009', '10']);
  });

  it('reads a .SQL extension in any case, with its .DOWN.sql sibling', () => {
    const migrations = read({ '0001_a.sql': 'SELECT 1;', '0003_x.SQL': 'SELECT 3;', '0004_y.Up.Sql': 'SELECT 4;', '0004_y.DOWN.SQL': 'SELECT -4;' });
    expect(migrations.map((m) => [m.version, m.name, m.down?.text ?? null])).toEqual([
      ['0001', 'a', null],
      ['0003', 'x', null],
      ['0004', 'y', 'SELECT -4;'],
    ]);
    expect(problemsOf({ '0003_x.SQL': 'SELECT 3;', 'notes.SQL': 'SELECT 1;' })).toEqual(['migrations/notes.SQL not a migration file name']);
  });

  it('accepts timestamp versions with a sequence number', () => {
    const migrations = read({ '20240115_002_b.sql': 'SELECT 2;', '20240115_001_a.sql': 'SELECT 1;', '20240116_001_c.sql': 'SELECT 3;' });
    expect(migrations.map((m) => [m.version, m.name])).toEqual([
      ['20240115_001', 'a'],
      ['20240115_002', 'b'],
      ['20240116_001', 'c'],
    ]);
  });

  it('splits dbmate markers into up and down with file line numbers', () => {
    const [migration] = read({ '0001_users.sql': '-- Migration: users\n-- Type: additive\n-- migrate:up\nCREATE TABLE users (id INTEGER);\n\n-- migrate:down\nDROP TABLE users;\n' });
    expect(migration!.header).toMatchObject({ migration: 'users', type: 'additive' });
    expect(migration!.up.statements.map((s) => [s.line, s.sql])).toEqual([[4, 'CREATE TABLE users (id INTEGER)']]);
    expect(migration!.down!.statements.map((s) => [s.line, s.sql])).toEqual([[7, 'DROP TABLE users']]);
    expect(migration!.transaction).toBe(true);
  });

  it('accepts -- UP / -- DOWN markers', () => {
    const [migration] = read({ '0001_a.sql': '-- UP\nCREATE TABLE a (id INTEGER);\n-- DOWN\nDROP TABLE a;\n' });
    expect(migration!.up.statements).toHaveLength(1);
    expect(migration!.down!.statements[0]!.sql).toBe('DROP TABLE a');
  });

  it('treats a file without markers as all up, with no down', () => {
    const [migration] = read({ '0001_a.sql': 'CREATE TABLE a (id INTEGER);\nCREATE TABLE b (id INTEGER);\n' });
    expect(migration!.up.statements).toHaveLength(2);
    expect(migration!.down).toBeNull();
  });

  it('treats an empty down section as no down', () => {
    const [migration] = read({ '0001_a.sql': '-- migrate:up\nCREATE TABLE a (id INTEGER);\n-- migrate:down\n-- nothing to undo\n' });
    expect(migration!.down).toBeNull();
  });

  it('reads a sibling .down.sql and golang-migrate .up.sql/.down.sql pairs', () => {
    const migrations = read({
      '0001_a.sql': 'CREATE TABLE a (id INTEGER);',
      '0001_a.down.sql': 'DROP TABLE a;',
      '0002_b.up.sql': 'CREATE TABLE b (id INTEGER);',
      '0002_b.down.sql': '\nDROP TABLE b;',
    });
    expect(migrations.map((m) => [m.version, m.name, m.down?.file, m.down?.statements[0]?.line])).toEqual([
      ['0001', 'a', 'migrations/0001_a.down.sql', 1],
      ['0002', 'b', 'migrations/0002_b.down.sql', 2],
    ]);
  });

  it('honours -- cairn:no-transaction and dbmate transaction:false', () => {
    const migrations = read({
      '0001_a.sql': '-- cairn:no-transaction\n-- migrate:up\nCREATE INDEX CONCURRENTLY a_idx ON a (id);\n',
      '0002_b.sql': '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY b_idx ON b (id);\n',
      '0003_c.sql': 'CREATE TABLE c (id INTEGER);\n',
    });
    expect(migrations.map((m) => m.transaction)).toEqual([false, false, true]);
  });

  it('checksums the up section only, with line endings normalized', () => {
    const [a] = read({ '0001_a.sql': '-- migrate:up\nCREATE TABLE a (id INTEGER);\n-- migrate:down\nDROP TABLE a;\n' });
    const [b] = read({ '0001_a.sql': '-- migrate:up\r\nCREATE TABLE a (id INTEGER);\r\n-- migrate:down\r\nDROP TABLE a; -- edited down\r\n' });
    expect(a!.checksum).toBe(b!.checksum);
    expect(a!.checksum).toBe(checksumOf('CREATE TABLE a (id INTEGER);'));
  });

  it('keeps a CREATE TRIGGER body as one statement', () => {
    const [migration] = read({ '0001_t.sql': 'CREATE TABLE t (id INTEGER, n INTEGER);\nCREATE TRIGGER t_bump AFTER INSERT ON t BEGIN\n  UPDATE t SET n = n + 1 WHERE id = NEW.id;\nEND;\n' });
    expect(migration!.up.statements.map((s) => s.line)).toEqual([1, 2]);
  });

  it('reports every bad file at once, naming file and line, and ignores non-SQL files', () => {
    const problems = problemsOf({
      'README.md': '# notes',
      'teams.sql': 'SELECT 1;',
      '0001_a.sql': 'SELECT 1;',
      '001_b.sql': 'SELECT 2;',
      '0002_c.sql': '-- migrate:down\nSELECT 1;\n-- migrate:up\nSELECT 2;\n',
      '0003_d.sql': '-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n',
      '0004_e.sql': 'SELECT 1;\n-- cairn:no-transaction\n',
      '0005_f.sql': '-- cairn:no-transactoin\nSELECT 1;\n',
      '0006_g.sql': '-- migrate:up\n-- migrate:down\nSELECT 1;\n',
      '0007_h.down.sql': 'SELECT 1;',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'migrations/teams.sql not a migration file name',
        expect.stringMatching(/^migrations\/001_b.sql version 001 is also used by migrations\/0001_a.sql|^migrations\/0001_a.sql version 0001 is also used by migrations\/001_b.sql/),
        'migrations/0002_c.sql:1 down section comes before the up section',
        'migrations/0003_d.sql:3 second "up" marker (first on line 1)',
        'migrations/0004_e.sql:2 "cairn:no-transaction" must be in the header, before the first statement',
        'migrations/0005_f.sql:1 unknown directive "cairn:no-transactoin"',
        'migrations/0007_h.down.sql down file without a matching up file',
      ]),
    );
    expect(problems).toHaveLength(7);
  });

  it('reads an unfilled file without refusing; applying it is what refuses', () => {
    const root = tempDir();
    const template = '-- Migration: add x\n-- Type: additive\n-- Rollback: what the down section undoes, and what data it cannot bring back\n\n-- migrate:up\n\n\n-- migrate:down\n\n';
    const dir = writeMigrations(root, {
      '0001_a.sql': 'CREATE TABLE a (id INTEGER);',
      '0002_template.sql': template,
      '0003_empty.sql': '-- migrate:up\n-- migrate:down\nSELECT 1;\n',
      '0004_template_with_comment.sql': template.replace('-- migrate:up\n', '-- migrate:up\n-- Your SQL goes here\n'),
    });
    const migrations = readMigrations(dir, root);
    expect(migrations.map((m) => [m.version, m.unfilled ?? false])).toEqual([
      ['0001', false],
      ['0002', true],
      ['0003', true],
      ['0004', true],
    ]);
    expect(unfilledProblems(migrations).map(formatProblem)).toEqual([
      'migrations/0002_template.sql: has no up statements (add SQL after "-- migrate:up", or delete the file)',
      'migrations/0003_empty.sql: has no up statements (add SQL after "-- migrate:up", or delete the file)',
      'migrations/0004_template_with_comment.sql: has no up statements (add SQL after "-- migrate:up", or delete the file)',
    ]);
    expect(() => assertFilled(migrations)).toThrow(/migration files have 3 problems:\n {2}migrations\/0002_template.sql: has no up statements/);
  });

  it('reads an up of comments only as a no-op to record, and an empty down file as no down', () => {
    const migrations = read({
      '0001_placeholder.up.sql': '-- This file was automatically created by Diesel\n-- Your SQL goes here\n',
      '0001_placeholder.down.sql': '',
      '0002_b.sql': '-- migrate:up\nCREATE TABLE b (id INTEGER);\n-- migrate:down\n',
    });
    // Rolling back a no-op runs nothing either: its down is empty, not missing.
    expect(migrations.map((m) => [m.version, m.up.statements.length, m.unfilled ?? false, m.down?.statements.length ?? null])).toEqual([
      ['0001', 0, false, 0],
      ['0002', 1, false, null],
    ]);
    expect(() => assertFilled(migrations)).not.toThrow();
  });

  it("reads diesel's layout: <version>_<name>/up.sql and down.sql, ordered as diesel orders versions", () => {
    const root = tempDir();
    const dir = join(root, 'migrations');
    const layout: Record<string, Record<string, string>> = {
      '00000000000000_diesel_initial_setup': { 'up.sql': '-- placeholder\n', 'down.sql': '-- placeholder\n' },
      '2024-03-13-170000_create_users': { 'up.sql': 'CREATE TABLE users (id INTEGER);\n', 'down.sql': 'DROP TABLE users;\n' },
      '20240314_add_email': { 'up.sql': 'ALTER TABLE users ADD COLUMN email TEXT;\n', 'down.sql': '' },
      '20240313_create_teams': { 'up.sql': 'CREATE TABLE teams (id INTEGER);\n' },
      '2024-03-13-180000_create_posts': { 'up.sql': 'CREATE TABLE posts (id INTEGER);\n', 'down.sql': 'DROP TABLE posts;\n' },
      'notes': { 'README.md': 'not a migration' },
    };
    for (const [folder, files] of Object.entries(layout)) {
      mkdirSync(join(dir, folder), { recursive: true });
      for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, folder, name), text);
    }
    const migrations = readMigrations(dir, root);
    // As text, like diesel: the day 20240314 comes after 2024-03-13 18:00, and 20240313 before 2024-03-13 17:00.
    expect(migrations.map((m) => [m.version, m.name, m.file, m.down?.file ?? null])).toEqual([
      ['00000000000000', 'diesel_initial_setup', 'migrations/00000000000000_diesel_initial_setup/up.sql', 'migrations/00000000000000_diesel_initial_setup/down.sql'],
      ['20240313', 'create_teams', 'migrations/20240313_create_teams/up.sql', null],
      ['20240313170000', 'create_users', 'migrations/2024-03-13-170000_create_users/up.sql', 'migrations/2024-03-13-170000_create_users/down.sql'],
      ['20240313180000', 'create_posts', 'migrations/2024-03-13-180000_create_posts/up.sql', 'migrations/2024-03-13-180000_create_posts/down.sql'],
      ['20240314', 'add_email', 'migrations/20240314_add_email/up.sql', null],
    ]);
    expect(migrations[0]!.unfilled).toBeUndefined();
    mkdirSync(join(dir, '2024-03-15-000000_half'));
    writeFileSync(join(dir, '2024-03-15-000000_half', 'down.sql'), 'SELECT 1;');
    expect(() => readMigrations(dir, root)).toThrow(/migrations\/2024-03-15-000000_half: migration directory without an up.sql/);
  });

  it('says how to fix a missing directory', () => {
    expect(() => readMigrations(join(tempDir(), 'migrations'))).toThrow(/does not exist/);
  });

  it('reads a sibling NNNN_name_down.sql as the down section, and a lone *_down.sql as a migration of its own', () => {
    const migrations = read({
      '0001_a.sql': 'CREATE TABLE a (id INTEGER);',
      '0001_a_down.sql': 'DROP TABLE a;',
      '0002_slow_down.sql': 'CREATE TABLE slow_down (id INTEGER);',
    });
    expect(migrations.map((m) => [m.version, m.name, m.down?.file ?? null])).toEqual([
      ['0001', 'a', 'migrations/0001_a_down.sql'],
      ['0002', 'slow_down', null],
    ]);
    expect(problemsOf({ '0001_a.sql': 'SELECT 1;', '0001_a.down.sql': 'SELECT 2;', '0001_a_down.sql': 'SELECT 3;' })).toEqual([
      'migrations/0001_a_down.sql is a second down file for 0001_a, next to 0001_a.down.sql',
    ]);
  });

  it('rejects a file with both a down section and a sibling down file', () => {
    const root = tempDir();
    const dir = writeMigrations(root, { '0001_a.sql': '-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n' });
    writeFileSync(join(dir, '0001_a.down.sql'), 'SELECT 3;');
    expect(() => readMigrations(dir, root)).toThrow(/has a down section and a sibling 0001_a.down.sql/);
  });
});
