import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { sqliteAddColumnIllegal } from './sqlite-add-column-illegal.js';

const previous = 'CREATE TABLE teams (id INTEGER PRIMARY KEY);\nCREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\n';
const options = { dialect: 'sqlite' as const, previous, rules: [sqliteAddColumnIllegal] };
const add = (column: string) => `-- migrate:up\nALTER TABLE users\n  ADD COLUMN ${column};\n`;

/** Real SQLite, foreign keys on (as in Cairn), on the schema with one user in it. */
function sqliteAccepts(column: string): boolean {
  const db = new Database(':memory:');
  try {
    db.pragma('foreign_keys = on');
    db.exec(previous);
    db.exec("INSERT INTO teams VALUES (1); INSERT INTO users VALUES (1, 'ada');");
    db.exec(`ALTER TABLE users ADD COLUMN ${column}`);
    return true;
  } catch {
    return false;
  } finally {
    db.close();
  }
}

describe('sqlite-add-column-illegal', () => {
  it.each([
    ['handle TEXT PRIMARY KEY', 'as PRIMARY KEY: the statement fails', 'PRIMARY KEY'],
    ['handle TEXT CONSTRAINT users_handle_key UNIQUE', 'with UNIQUE: the statement fails', 'CONSTRAINT users_handle_key UNIQUE'],
    ['created_at TEXT DEFAULT CURRENT_TIMESTAMP', 'with DEFAULT CURRENT_TIMESTAMP, which is not a constant', 'DEFAULT CURRENT_TIMESTAMP'],
    ["created_at TEXT DEFAULT (datetime('now'))", "with DEFAULT (datetime('now')), which is not a constant", 'DEFAULT ('],
    ['score INTEGER DEFAULT (1 + 1)', 'with DEFAULT (1 + 1), which is not a constant', 'DEFAULT (1 + 1)'],
    ['email TEXT NOT NULL DEFAULT NULL', 'NOT NULL without a non-NULL DEFAULT', 'NOT NULL'],
    ['team_id INTEGER REFERENCES teams(id) DEFAULT 1', 'with REFERENCES and a non-NULL DEFAULT while foreign keys are on', 'REFERENCES teams(id)'],
    ['name_upper TEXT GENERATED ALWAYS AS (upper(name)) STORED', 'as a STORED generated column', 'GENERATED ALWAYS AS (upper(name)) STORED'],
  ])('flags ADD COLUMN %s, at the constraint, where SQLite refuses it', async (column, message, at) => {
    const findings = await findingsFor(add(column), options);
    expect(brief(findings)).toEqual(['sqlite-add-column-illegal@3']);
    expect(findings[0]!.message).toContain(`of "users" ${message}`);
    expect(findings[0]!.column).toBe(3 + 'ADD COLUMN '.length + column.indexOf(at));
    expect(sqliteAccepts(column)).toBe(false);
  });

  it('leaves NOT NULL with no DEFAULT on an existing table to add-required-column', async () => {
    expect(await findingsFor(add('email TEXT NOT NULL'), options)).toEqual([]);
    expect(sqliteAccepts('email TEXT NOT NULL')).toBe(false);
  });

  it('says which forms fail only once the table has rows', async () => {
    const [timestamp] = await findingsFor(add('created_at TEXT DEFAULT CURRENT_TIMESTAMP'), options);
    expect(timestamp!.message).toContain('it fails as soon as "users" has rows');
    const [unique] = await findingsFor(add('handle TEXT UNIQUE'), options);
    expect(unique!.message).toContain('the statement fails');
  });

  it('gives the concrete way round in the help', async () => {
    const [unique] = await findingsFor(add('handle TEXT UNIQUE'), options);
    expect(unique!.help).toContain('ALTER TABLE users ADD COLUMN handle TEXT; CREATE UNIQUE INDEX users_handle_key ON users (handle);');
    const [stored] = await findingsFor(add('name_upper TEXT GENERATED ALWAYS AS (upper(name)) STORED'), options);
    expect(stored!.help).toContain('ALTER TABLE users ADD COLUMN name_upper TEXT GENERATED ALWAYS AS (upper(name)) VIRTUAL');
    const [timestamp] = await findingsFor(add('created_at TEXT DEFAULT CURRENT_TIMESTAMP'), options);
    expect(timestamp!.help).toContain('ALTER TABLE users ADD COLUMN created_at TEXT; UPDATE users SET created_at = CURRENT_TIMESTAMP;');
    const [reference] = await findingsFor(add('team_id INTEGER REFERENCES teams(id) DEFAULT 1'), options);
    expect(reference!.help).toContain('ALTER TABLE users ADD COLUMN team_id INTEGER REFERENCES teams(id)');
  });

  it('says why foreign keys are on: always on D1, and in Cairn\'s own SQLite connection', async () => {
    const column = 'team_id INTEGER REFERENCES teams(id) DEFAULT 1';
    const [sqlite] = await findingsFor(add(column), options);
    expect(sqlite!.message).toContain('Cairn\'s SQLite connection turns them on');
    const [d1] = await findingsFor(add(column), { ...options, d1: true });
    expect(d1!.message).toContain('D1 always enforces them');
  });

  it.each([
    "nickname TEXT DEFAULT 'none'",
    'score INTEGER DEFAULT (0)',
    'balance INTEGER DEFAULT -1',
    'active INTEGER NOT NULL DEFAULT 1',
    "email TEXT NOT NULL DEFAULT ''",
    'team_id INTEGER REFERENCES teams(id)',
    'team_id INTEGER REFERENCES teams(id) DEFAULT NULL',
    'name_upper TEXT GENERATED ALWAYS AS (upper(name)) VIRTUAL',
    'age INTEGER CHECK (age >= 0)',
  ])('does not flag ADD COLUMN %s, which SQLite accepts', async (column) => {
    expect(await findingsFor(add(column), options)).toEqual([]);
    expect(sqliteAccepts(column)).toBe(true);
  });

  it('lets the forms that need rows through on a table created (and still empty) in this migration, but not UNIQUE', async () => {
    const sql = 'CREATE TABLE invites (id INTEGER PRIMARY KEY);\nALTER TABLE invites ADD COLUMN code TEXT NOT NULL;\nALTER TABLE invites ADD COLUMN sent_at TEXT DEFAULT CURRENT_TIMESTAMP;\nALTER TABLE invites ADD COLUMN token TEXT UNIQUE;\n';
    expect(brief(await findingsFor(sql, { dialect: 'sqlite', rules: [sqliteAddColumnIllegal] }))).toEqual(['sqlite-add-column-illegal@4']);
  });

  it('flags them again once the new table has rows', async () => {
    const sql = 'CREATE TABLE invites (id INTEGER PRIMARY KEY);\nINSERT INTO invites (id) VALUES (1);\nALTER TABLE invites ADD COLUMN code TEXT NOT NULL;\n';
    expect(brief(await findingsFor(sql, { dialect: 'sqlite', rules: [sqliteAddColumnIllegal] }))).toEqual(['sqlite-add-column-illegal@3']);
  });

  it('lets REFERENCES with a default through after PRAGMA foreign_keys = off in a no-transaction migration (not on D1)', async () => {
    const sql = '-- cairn:no-transaction\nPRAGMA foreign_keys = off;\nALTER TABLE users ADD COLUMN team_id INTEGER REFERENCES teams(id) DEFAULT 1;\nPRAGMA foreign_keys = on;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
    expect(brief(await findingsFor(sql, { ...options, d1: true }))).toEqual(['sqlite-add-column-illegal@3']);
    const inTransaction = 'PRAGMA foreign_keys = off;\nALTER TABLE users ADD COLUMN team_id INTEGER REFERENCES teams(id) DEFAULT 1;\n';
    expect(brief(await findingsFor(inTransaction, options))).toEqual(['sqlite-add-column-illegal@2']);
  });
});
