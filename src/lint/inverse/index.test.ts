import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Dialect } from '../types.js';
import { splitStatements } from '../../source/split.js';
import { generateDown } from './index.js';

/** The generated down of `up` (file lines from 1), as SQL text or the reason there is none. */
async function downOf(up: string, dialect: Dialect): Promise<string> {
  const result = await generateDown({ up: { statements: splitStatements(up) } }, { dialect });
  return 'sql' in result ? result.sql : `refused: ${result.reason}`;
}

describe('generateDown on PostgreSQL', () => {
  const down = (up: string) => downOf(up, 'postgres');

  it('inverts tables and indexes in reverse order, keeping schemas and quoting only where needed', async () => {
    const up = `CREATE TABLE app."Order Items" (id int PRIMARY KEY, sku text);
CREATE UNIQUE INDEX order_items_sku ON app."Order Items" (sku);
CREATE TABLE "user" (id int);
CREATE TABLE IF NOT EXISTS notes (id int);
CREATE INDEX CONCURRENTLY IF NOT EXISTS notes_id ON notes (id);`;
    expect(await down(up)).toBe(
      'DROP INDEX CONCURRENTLY IF EXISTS notes_id;\nDROP TABLE IF EXISTS notes;\nDROP TABLE "user";\nDROP INDEX app.order_items_sku;\nDROP TABLE app."Order Items";\n',
    );
  });

  it('gives each inverse the line of the up statement it undoes', async () => {
    const result = await generateDown({ up: { statements: splitStatements('-- cairn:no-transaction\n\nCREATE TABLE a (id int);\n-- a comment\nCREATE INDEX a_id ON a (id);\n') } }, { dialect: 'postgres' });
    expect('sql' in result && result.statements.map((s) => [s.sql, s.line])).toEqual([
      ['DROP INDEX a_id', 5],
      ['DROP TABLE a', 3],
    ]);
  });

  it('inverts each action of an ALTER TABLE, in reverse, and renames back', async () => {
    expect(await down('ALTER TABLE users ADD COLUMN phone text, ADD COLUMN IF NOT EXISTS "Fax" text, ADD CONSTRAINT phone_length CHECK (length(phone) < 20);')).toBe(
      'ALTER TABLE users DROP CONSTRAINT phone_length, DROP COLUMN IF EXISTS "Fax", DROP COLUMN phone;\n',
    );
    expect(await down('ALTER TABLE users RENAME COLUMN phone TO mobile;\nALTER TABLE app.users RENAME TO people;\nALTER INDEX users_phone RENAME TO people_phone;')).toBe(
      'ALTER INDEX people_phone RENAME TO users_phone;\nALTER TABLE app.people RENAME TO users;\nALTER TABLE users RENAME COLUMN mobile TO phone;\n',
    );
  });

  it('inverts views, triggers, sequences, types, schemas, extensions and functions', async () => {
    const up = `CREATE SCHEMA reporting;
CREATE VIEW reporting.active AS SELECT 1 AS one;
CREATE MATERIALIZED VIEW totals AS SELECT 1 AS one;
CREATE SEQUENCE invoice_numbers;
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE FUNCTION touch(at timestamptz, tags text[], OUT changed int) AS $$ SELECT 1 $$ LANGUAGE sql;
CREATE TRIGGER users_touch BEFORE UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION touch_row();`;
    expect((await down(up)).split('\n')).toEqual([
      'DROP TRIGGER users_touch ON app.users;',
      'DROP FUNCTION touch(timestamptz, text[]);',
      'DROP EXTENSION IF EXISTS pgcrypto;',
      'DROP TYPE mood;',
      'DROP SEQUENCE invoice_numbers;',
      'DROP MATERIALIZED VIEW totals;',
      'DROP VIEW reporting.active;',
      'DROP SCHEMA reporting;',
      '',
    ]);
  });

  it('needs no inverse for rows put into a table the same up created', async () => {
    expect(await down("CREATE TABLE roles (name text);\nINSERT INTO roles VALUES ('admin');")).toBe('DROP TABLE roles;\n');
  });

  it('refuses with the first statement that cannot be reversed, and its line', async () => {
    expect(await down('CREATE TABLE a (id int);\n\nUPDATE users SET active = true;\nDROP TABLE b;')).toBe('refused: line 3: UPDATE cannot be reversed: write the down by hand');
    expect(await down('DROP TABLE old_users;')).toBe('refused: line 1: DROP TABLE cannot be reversed: write the down by hand');
    expect(await down('ALTER TABLE users ADD COLUMN a int,\n  ALTER COLUMN b TYPE bigint;')).toBe('refused: line 1: ALTER TABLE … ALTER COLUMN … TYPE cannot be reversed: write the down by hand');
    expect(await down('CREATE INDEX ON users (email);')).toMatch(/^refused: line 1: CREATE INDEX without a name cannot be reversed: name the index/);
    expect(await down('CREATE OR REPLACE VIEW v AS SELECT 1;')).toBe('refused: line 1: CREATE OR REPLACE VIEW cannot be reversed: what it replaced is not known; write the down by hand');
    expect(await down('CREATE TABEL x (id int);')).toMatch(/^refused: line 1: the statement does not parse/);
    expect(await down('-- only a comment\n')).toBe('refused: the up section has no statements');
  });
});

describe('generateDown on SQLite', () => {
  const down = (up: string) => downOf(up, 'sqlite');

  it('inverts tables, indexes, views and triggers in reverse order, names as written', async () => {
    const up = `CREATE TABLE main."Users" (id INTEGER PRIMARY KEY, email TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS users_email ON "Users" (email);
CREATE VIEW [active users] AS SELECT id FROM "Users";
CREATE TRIGGER users_audit AFTER INSERT ON "Users" BEGIN SELECT 1; END;`;
    expect(await down(up)).toBe('DROP TRIGGER users_audit;\nDROP VIEW [active users];\nDROP INDEX IF EXISTS users_email;\nDROP TABLE main."Users";\n');
  });

  it('inverts ADD COLUMN and renames', async () => {
    expect(await down('ALTER TABLE users ADD COLUMN phone TEXT;\nALTER TABLE users RENAME COLUMN phone TO mobile;\nALTER TABLE main.users RENAME TO people;')).toBe(
      'ALTER TABLE main.people RENAME TO users;\nALTER TABLE users RENAME COLUMN mobile TO phone;\nALTER TABLE users DROP COLUMN phone;\n',
    );
  });

  it('refuses what SQLite cannot undo, with the line', async () => {
    expect(await down('CREATE TABLE a (id INTEGER);\nDELETE FROM users WHERE id = 1;')).toBe('refused: line 2: DELETE FROM cannot be reversed: write the down by hand');
    expect(await down('ALTER TABLE users DROP COLUMN phone;')).toBe('refused: line 1: ALTER TABLE … DROP COLUMN cannot be reversed: write the down by hand');
    expect(await down('ALTER TABLE posts ADD COLUMN author INTEGER REFERENCES users (id);')).toMatch(/^refused: line 1: ALTER TABLE … ADD COLUMN … REFERENCES cannot be reversed on SQLite/);
  });

  it('gives a down that SQLite runs, leaving the schema as it was', async () => {
    const db = new Database(':memory:');
    try {
      db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)');
      const schema = () => db.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").all();
      const before = schema();
      const up = `CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));
CREATE INDEX posts_user ON posts (user_id);
ALTER TABLE users ADD COLUMN phone TEXT;
ALTER TABLE users RENAME COLUMN email TO mail;
CREATE VIEW user_mail AS SELECT mail FROM users;
CREATE TRIGGER posts_check BEFORE INSERT ON posts BEGIN SELECT RAISE(ABORT, 'no') WHERE NEW.user_id IS NULL; END;`;
      db.exec(up);
      db.exec(await down(up));
      expect(schema()).toEqual(before);
    } finally {
      db.close();
    }
  });
});
