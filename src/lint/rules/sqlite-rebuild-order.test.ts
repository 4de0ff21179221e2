import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { sqliteRebuildOrder } from './sqlite-rebuild-order.js';

const previous = `CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));
CREATE VIEW user_emails AS SELECT id, email FROM users;
CREATE INDEX users_email ON users (email);
`;
const options = { dialect: 'sqlite' as const, previous, rules: [sqliteRebuildOrder] };

const wrongOrder = `-- migrate:up
ALTER TABLE users RENAME TO users_old;
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL DEFAULT '');
INSERT INTO users (id, email) SELECT id, coalesce(email, '') FROM users_old;
DROP TABLE users_old;
`;
const rightOrder = `-- migrate:up
CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL DEFAULT '');
INSERT INTO users_new (id, email) SELECT id, coalesce(email, '') FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_email ON users (email);
`;

describe('sqlite-rebuild-order', () => {
  it('flags renaming the old table first, at the RENAME, naming what it repoints', async () => {
    const findings = await findingsFor(wrongOrder, options);
    expect(brief(findings)).toEqual(['sqlite-rebuild-order@2']);
    expect(findings[0]).toMatchObject({ severity: 'error', column: 19 });
    expect(findings[0]!.message).toContain('it rewrites the foreign keys of posts and view user_emails to refer to "users_old"');
    expect(findings[0]!.message).toContain('DROP TABLE users_old (line 5) then leaves them dangling');
    expect(findings[0]!.help).toContain('CREATE TABLE users_new (…); INSERT INTO users_new (…) SELECT … FROM users; DROP TABLE users; ALTER TABLE users_new RENAME TO users');
  });

  it('flags it without the final DROP too, when the old name is recreated', async () => {
    const sql = 'ALTER TABLE users RENAME TO users_old;\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['sqlite-rebuild-order@1']);
    expect(findings[0]!.message).toContain('the new "users" (line 2) has nothing pointing at it');
  });

  it('is right about SQLite: renaming first repoints the foreign key and the view at the old table', () => {
    const db = new Database(':memory:');
    db.exec(previous);
    db.exec(wrongOrder.replace('-- migrate:up\n', '').replace('DROP TABLE users_old;\n', ''));
    expect(db.prepare('SELECT "table" FROM pragma_foreign_key_list(?)').pluck().get('posts')).toBe('users_old');
    expect(db.prepare("SELECT sql FROM sqlite_master WHERE name = 'user_emails'").pluck().get()).toContain('users_old');
    db.close();
  });

  it('does not flag the 12-step order (new table first, rename last)', async () => {
    expect(await findingsFor(rightOrder, options)).toEqual([]);
  });

  it('does not flag a plain rename', async () => {
    expect(await findingsFor('ALTER TABLE users RENAME TO accounts;\n', options)).toEqual([]);
  });
});
