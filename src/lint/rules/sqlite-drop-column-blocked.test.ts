import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { sqliteDropColumnBlocked } from './sqlite-drop-column-blocked.js';

const previous = `CREATE TABLE teams (id INTEGER PRIMARY KEY, org INTEGER, UNIQUE (id, org));
CREATE TABLE users (
  id       INTEGER PRIMARY KEY,
  email    TEXT UNIQUE,
  handle   TEXT,
  nickname TEXT,
  deleted  TEXT,
  age      INTEGER,
  name     TEXT,
  shout    TEXT GENERATED ALWAYS AS (upper(name)) VIRTUAL,
  team_id  INTEGER,
  team_org INTEGER,
  country  TEXT CHECK (country <> ''),
  manager  INTEGER REFERENCES users(id),
  bio      TEXT,
  legacy   TEXT,
  CHECK (age >= 0),
  FOREIGN KEY (team_id, team_org) REFERENCES teams(id, org)
);
CREATE INDEX users_handle ON users (handle);
CREATE INDEX users_nickname_lower ON users (lower(nickname));
CREATE INDEX users_live ON users (id) WHERE deleted IS NULL;
CREATE VIEW active_users AS SELECT id, email, bio FROM users;
CREATE TABLE posts (id INTEGER PRIMARY KEY, author_email TEXT REFERENCES users(email), body TEXT);
CREATE TRIGGER posts_touch_author AFTER INSERT ON posts BEGIN UPDATE users SET legacy = NULL WHERE id = new.id; END;
`;
const options = { dialect: 'sqlite' as const, previous, rules: [sqliteDropColumnBlocked] };
const drop = (column: string) => `-- migrate:up\nALTER TABLE users\n  DROP COLUMN ${column};\n`;

/** What real SQLite does with the statement on the same schema. */
function sqliteAccepts(sql: string): boolean {
  const db = new Database(':memory:');
  try {
    db.exec(previous);
    db.exec(sql);
    return true;
  } catch {
    return false;
  } finally {
    db.close();
  }
}

describe('sqlite-drop-column-blocked', () => {
  it.each([
    ['id', 'it is the PRIMARY KEY'],
    ['email', 'it has a UNIQUE constraint'],
    ['handle', 'index users_handle uses it'],
    ['nickname', 'index users_nickname_lower uses it'],
    ['deleted', 'index users_live uses it'],
    ['bio', 'view active_users reads it'],
    ['age', 'a CHECK uses it: CHECK (age >= 0)'],
    ['name', 'generated column shout uses it'],
    ['team_id', 'it is in FOREIGN KEY (team_id, team_org) REFERENCES teams(id, org)'],
  ])('flags dropping %s, naming the reason, where SQLite refuses it', async (column, reason) => {
    const findings = await findingsFor(drop(column), options);
    expect(brief(findings)).toEqual(['sqlite-drop-column-blocked@3']);
    expect(findings[0]).toMatchObject({ severity: 'error', column: 3, message: expect.stringContaining(`"${column}" of "users"`) });
    expect(findings[0]!.message).toContain(reason);
    expect(sqliteAccepts(`ALTER TABLE users DROP COLUMN ${column}`)).toBe(false);
  });

  it('names every blocker, not only the first one SQLite meets, and the foreign keys pointing at the column', async () => {
    const [email] = await findingsFor(drop('email'), options);
    expect(email!.message).toContain('it has a UNIQUE constraint; view active_users reads it; the migration fails here');
    expect(email!.message).toContain('It also breaks: the foreign key posts(author_email) → users(email) refers to it');
    const [id] = await findingsFor(drop('id'), options);
    expect(id!.message).toContain('it is the PRIMARY KEY; index users_live uses it; view active_users reads it; trigger posts_touch_author uses it');
  });

  it('tells what to drop first, or to rebuild, in the help', async () => {
    const [index] = await findingsFor(drop('handle'), options);
    expect(index!.help).toBe('drop what uses the column first (DROP INDEX users_handle;) and recreate it without the column afterwards');
    const [email] = await findingsFor(drop('email'), options);
    expect(email!.help).toContain('DROP VIEW active_users;');
    expect(email!.help).toContain('12-step');
    expect(email!.help).toContain('ALTER TABLE users_new RENAME TO users');
  });

  it('flags a trigger that writes the column: SQLite lets the drop through, then the trigger fails', async () => {
    const findings = await findingsFor(drop('legacy'), options);
    expect(brief(findings)).toEqual(['sqlite-drop-column-blocked@3']);
    expect(findings[0]!.message).toContain('SQLite lets the drop of "legacy" of "users" through');
    expect(findings[0]!.message).toContain('trigger posts_touch_author still writes it: every INSERT on posts would then fail with "no such column: legacy"');
    expect(findings[0]!.help).toContain('DROP TRIGGER posts_touch_author;');
    expect(sqliteAccepts('ALTER TABLE users DROP COLUMN legacy')).toBe(true);
    expect(sqliteAccepts("ALTER TABLE users DROP COLUMN legacy; INSERT INTO posts (body) VALUES ('hi')")).toBe(false);
  });

  it('flags an UPDATE OF trigger on the column, which would never fire again', async () => {
    const sql = 'CREATE TRIGGER users_bio_audit AFTER UPDATE OF bio ON users BEGIN SELECT 1; END;\nDROP VIEW active_users;\nALTER TABLE users DROP COLUMN bio;\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['sqlite-drop-column-blocked@3']);
    expect(findings[0]!.message).toContain('trigger users_bio_audit fires on UPDATE OF bio');
  });

  it('flags a table created in the same migration too: SQLite refuses it all the same', async () => {
    const sql = 'CREATE TABLE drafts (id INTEGER PRIMARY KEY, slug TEXT);\nCREATE INDEX drafts_slug ON drafts (slug);\nALTER TABLE drafts DROP COLUMN slug;\n';
    const findings = await findingsFor(sql, { dialect: 'sqlite', rules: [sqliteDropColumnBlocked] });
    expect(brief(findings)).toEqual(['sqlite-drop-column-blocked@3']);
    expect(findings[0]!.message).toContain('index drafts_slug');
  });

  it('flags any DROP COLUMN when the target SQLite is older than 3.35.0', async () => {
    const findings = await findingsFor(drop('bio'), { ...options, sqliteVersion: '3.34.1' });
    expect(brief(findings)).toEqual(['sqlite-drop-column-blocked@3']);
    expect(findings[0]!.message).toContain('SQLite 3.34.1 has no ALTER TABLE … DROP COLUMN');
    expect(await findingsFor(drop('country'), { ...options, sqliteVersion: '3.34.1' })).toHaveLength(1);
    expect(await findingsFor(drop('country'), { ...options, sqliteVersion: '3.35.0' })).toEqual([]);
  });

  it.each([
    ['a plain unindexed column', 'ALTER TABLE users DROP COLUMN country'],
    ['a column whose own REFERENCES goes with it', 'ALTER TABLE users DROP COLUMN manager'],
    ['the generated column itself', 'ALTER TABLE users DROP COLUMN shout'],
    ['a column after dropping its index in the same migration', 'DROP INDEX users_handle;\nALTER TABLE users DROP COLUMN handle'],
    ['a column after replacing the view that read it', 'DROP VIEW active_users;\nCREATE VIEW active_users AS SELECT id, email FROM users;\nALTER TABLE users DROP COLUMN bio'],
  ])('does not flag %s, which SQLite accepts', async (_what, sql) => {
    expect(await findingsFor(`${sql};\n`, options)).toEqual([]);
    expect(sqliteAccepts(sql)).toBe(true);
  });

  it('says a drop that SQLite lets through breaks a foreign key pointing at the column', async () => {
    const schema = 'CREATE TABLE codes (id INTEGER PRIMARY KEY, code TEXT);\nCREATE TABLE uses (id INTEGER PRIMARY KEY, code TEXT REFERENCES codes(code));\n';
    const findings = await findingsFor('ALTER TABLE codes DROP COLUMN code;\n', { dialect: 'sqlite', previous: schema, rules: [sqliteDropColumnBlocked] });
    expect(brief(findings)).toEqual(['sqlite-drop-column-blocked@1']);
    expect(findings[0]!.message).toContain('SQLite lets the drop of "code" of "codes" through, but it breaks what still uses the column: the foreign key uses(code) → codes(code) refers to it');
    expect(sqliteAccepts(`${schema}ALTER TABLE codes DROP COLUMN code`)).toBe(true);
  });
});
