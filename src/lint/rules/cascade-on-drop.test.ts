import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { cascadeOnDrop } from './cascade-on-drop.js';

const previous = `CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE CASCADE);
CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER REFERENCES posts(id) ON DELETE CASCADE);
CREATE TABLE likes (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE SET NULL);
CREATE TABLE notes (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));
`;
const options = { dialect: 'sqlite' as const, previous, rules: [cascadeOnDrop] };

const rebuild = `-- migrate:up
PRAGMA defer_foreign_keys = on;
CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL DEFAULT '');
INSERT INTO users_new (id, email) SELECT id, coalesce(email, '') FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
`;

/** The workaround the help gives for D1 / transactional migrations, written out. */
const keptAside = `-- migrate:up
PRAGMA defer_foreign_keys = on;
CREATE TABLE posts_keep AS SELECT * FROM posts;
CREATE TABLE likes_keep AS SELECT rowid AS keep_rowid, user_id FROM likes;
CREATE TABLE comments_keep AS SELECT * FROM comments;
CREATE TABLE users_copy AS SELECT * FROM users;
CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL DEFAULT '');
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
INSERT INTO users (id, email) SELECT id, coalesce(email, '') FROM users_copy;
INSERT INTO posts SELECT * FROM posts_keep;
UPDATE likes SET user_id = k.user_id FROM likes_keep k WHERE k.keep_rowid = likes.rowid;
INSERT INTO comments SELECT * FROM comments_keep;
DROP TABLE posts_keep;
DROP TABLE likes_keep;
DROP TABLE comments_keep;
DROP TABLE users_copy;
`;

/** Runs `sql` in one transaction on real SQLite with foreign keys on (as Cairn does) and some rows; returns what is left. */
function runOnRealSqlite(sql: string, { notes = true } = {}): { posts: number; comments: number; likesWithUser: number; notes: number } {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = on');
  db.exec(previous);
  db.exec("INSERT INTO users VALUES (1, 'ada'), (2, NULL); INSERT INTO posts VALUES (10, 1), (11, 2); INSERT INTO comments VALUES (100, 10); INSERT INTO likes VALUES (20, 1);");
  if (notes) db.exec('INSERT INTO notes VALUES (30, 2);');
  db.exec('BEGIN');
  try {
    db.exec(sql.replace('-- migrate:up\n', ''));
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
  const count = (q: string) => db.prepare(q).pluck().get() as number;
  const left = { posts: count('SELECT count(*) FROM posts'), comments: count('SELECT count(*) FROM comments'), likesWithUser: count('SELECT count(user_id) FROM likes'), notes: count('SELECT count(*) FROM notes') };
  db.close();
  return left;
}

describe('cascade-on-drop', () => {
  it('flags dropping a parent in a rebuild, naming the children it empties, also through a cascading child', async () => {
    const findings = await findingsFor(rebuild, options);
    expect(brief(findings)).toEqual(['cascade-on-drop@5']);
    expect(findings[0]).toMatchObject({ severity: 'error' });
    const { message } = findings[0]!;
    expect(message).toContain('DROP TABLE users deletes its rows first');
    expect(message).toContain('posts (user_id, ON DELETE CASCADE): its rows are deleted');
    expect(message).toContain('likes (user_id, ON DELETE SET NULL): its user_id is set to NULL');
    expect(message).toContain('comments (post_id, ON DELETE CASCADE, through posts)');
    expect(message).not.toContain('notes');
  });

  it('does not take PRAGMA defer_foreign_keys for a fix, because SQLite still cascades', async () => {
    const [finding] = await findingsFor(rebuild, options);
    expect(finding!.message).toContain('PRAGMA defer_foreign_keys = on does not prevent this');
    // Real SQLite: with defer_foreign_keys on, in a transaction, the parent recreated before COMMIT, the children are gone all the same.
    expect(runOnRealSqlite(rebuild, { notes: false })).toEqual({ posts: 0, comments: 0, likesWithUser: 0, notes: 0 });
    // And with a plain (NO ACTION) child that has rows, the same rebuild fails at COMMIT: the parent rows went in
    // under the name users_new, which does not settle the deferred violations; hence the help refills the parent after the rename.
    expect(() => runOnRealSqlite(rebuild)).toThrow('FOREIGN KEY constraint failed');
  });

  it('flags the DROP of a wrong-order rebuild too (the children were repointed at users_old)', async () => {
    const sql = 'ALTER TABLE users RENAME TO users_old;\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\nINSERT INTO users SELECT * FROM users_old;\nDROP TABLE users_old;\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['cascade-on-drop@4']);
    expect(findings[0]!.message).toContain('DROP TABLE users_old');
  });

  it('on D1 says foreign keys cannot be switched off and gives the copy-aside way', async () => {
    const [finding] = await findingsFor(rebuild, { ...options, d1: true });
    expect(finding!.message).toContain('D1 always enforces foreign keys');
    expect(finding!.help).toMatch(/^D1 cannot switch foreign keys off: copy the rows aside/);
    expect(finding!.help).toContain('CREATE TABLE posts_keep AS SELECT * FROM posts;');
    expect(finding!.help).toContain('UPDATE likes SET user_id = k.user_id FROM likes_keep k WHERE k.keep_rowid = likes.rowid;');
  });

  it('accepts the copy-aside workaround from the help, which really keeps the rows', async () => {
    expect(await findingsFor(keptAside, options)).toEqual([]);
    expect(await findingsFor(keptAside, { ...options, d1: true })).toEqual([]);
    expect(runOnRealSqlite(keptAside)).toEqual({ posts: 2, comments: 1, likesWithUser: 1, notes: 1 });
  });

  it('accepts the rebuild with foreign keys switched off in a no-transaction migration (plain SQLite only)', async () => {
    const sql = `-- cairn:no-transaction\n${rebuild.replace('PRAGMA defer_foreign_keys = on;\n', 'PRAGMA foreign_keys = off;\nBEGIN;\n')}PRAGMA foreign_key_check;\nCOMMIT;\nPRAGMA foreign_keys = on;\n`;
    expect(await findingsFor(sql, options)).toEqual([]);
    expect(brief(await findingsFor(sql, { ...options, d1: true }))).toEqual(['cascade-on-drop@7']);
  });

  it('still flags when the pragma sits inside the transaction, where it does nothing', async () => {
    const sql = rebuild.replace('PRAGMA defer_foreign_keys = on;', 'PRAGMA foreign_keys = off;');
    expect(brief(await findingsFor(sql, options))).toEqual(['cascade-on-drop@5']);
  });

  it('does not flag a parent whose children have no ON DELETE action, or that nothing references', async () => {
    const schema = 'CREATE TABLE users (id INTEGER PRIMARY KEY);\nCREATE TABLE notes (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE RESTRICT);\nCREATE TABLE tags (id INTEGER PRIMARY KEY);\n';
    expect(await findingsFor('DROP TABLE users;\nDROP TABLE tags;\n', { ...options, previous: schema })).toEqual([]);
  });

  it('does not flag dropping the children first, nor a child created (and still empty) in this migration', async () => {
    expect(await findingsFor('DROP TABLE comments;\nDROP TABLE posts;\nDROP TABLE likes;\nDROP TABLE users;\n', options)).toEqual([]);
    const schema = 'CREATE TABLE users (id INTEGER PRIMARY KEY);\n';
    expect(await findingsFor('CREATE TABLE sessions (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE CASCADE);\nDROP TABLE users;\n', { ...options, previous: schema })).toEqual([]);
  });
});
