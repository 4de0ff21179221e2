import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { dropTable } from './drop-table.js';

const previous = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\nCREATE TABLE sessions (id INTEGER PRIMARY KEY, user_id INTEGER);\n';

describe.each(['postgres', 'sqlite'] as const)('drop-table [%s]', (dialect) => {
  const options = { dialect, previous, rules: [dropTable] };

  it('flags dropping an existing table, at its name', async () => {
    const findings = await findingsFor('-- migrate:up\nDROP TABLE IF EXISTS sessions;\n', options);
    expect(brief(findings)).toEqual(['drop-table@2']);
    expect(findings[0]).toMatchObject({ severity: 'error', column: 22, message: expect.stringContaining('"sessions"'), help: expect.stringContaining('expand–contract') });
  });

  it('is a warning, not an error, when -- cairn:assert-empty guards the table: no rows can be lost', async () => {
    const findings = await findingsFor('-- cairn:assert-empty sessions\n-- migrate:up\nDROP TABLE sessions;\n', options);
    expect(brief(findings)).toEqual(['drop-table@3']);
    expect(findings[0]).toMatchObject({ severity: 'warning', message: expect.stringContaining('assert-empty on line 1') });
    // A guard on another table changes nothing.
    const other = await findingsFor('-- cairn:assert-empty users\n-- migrate:up\nDROP TABLE sessions;\n', options);
    expect(other[0]).toMatchObject({ severity: 'error', help: expect.stringContaining('-- cairn:assert-empty sessions') });
  });

  it('reports each existing table of a multi-table DROP', async () => {
    const findings = await findingsFor('CREATE TABLE scratch (id INTEGER);\nDROP TABLE sessions,\n  scratch,\n  users;\n', options);
    expect(brief(findings)).toEqual(['drop-table@2', 'drop-table@4']);
    expect(findings.map((f) => f.message)).toEqual([expect.stringContaining('"sessions"'), expect.stringContaining('"users"')]);
  });

  it('does not flag a table created earlier in the same migration', async () => {
    const sql = 'CREATE TABLE import_batch (id INTEGER PRIMARY KEY, payload TEXT);\nDROP TABLE import_batch;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag a rebuild that copies the rows and takes over the name', async () => {
    const sql = [
      'CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);',
      'INSERT INTO users_new (id, email) SELECT id, email FROM users;',
      'DROP TABLE users;',
      'ALTER TABLE users_new RENAME TO users;',
    ].join('\n');
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag the rename-old-first rebuild either', async () => {
    const sql = [
      'ALTER TABLE users RENAME TO users_old;',
      'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);',
      'INSERT INTO users (id, email) SELECT id, email FROM users_old;',
      'DROP TABLE users_old;',
    ].join('\n');
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag the copy-aside rebuild that fills the new table after the rename (cascade-on-drop)', async () => {
    const sql = [
      'CREATE TABLE users_copy AS SELECT id, email FROM users;',
      'CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);',
      'DROP TABLE users;',
      'ALTER TABLE users_new RENAME TO users;',
      'INSERT INTO users (id, email) SELECT id, email FROM users_copy;',
    ].join('\n');
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('still flags a "rebuild" that never copies the rows', async () => {
    const sql = 'CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT);\nDROP TABLE users;\nALTER TABLE users_new RENAME TO users;\n';
    expect(brief(await findingsFor(sql, options))).toEqual(['drop-table@2']);
  });

  it('is silenced by an allow with a reason', async () => {
    const sql = '-- cairn:allow drop-table unused since release 41, archived to S3\nDROP TABLE sessions;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });
});
