import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCairn } from '../src/index.js';
import { createD1Database, createSqliteDatabase, runCli, tempDir, writeMigrations, type TestDatabase } from './support/databases.js';

/**
 * cairn diff on real SQLite files and a local D1 (miniflare): the rebuild it
 * writes keeps every child and grandchild row, a count mismatch changes
 * nothing, and the result is clean under lint and verify.
 */
const INIT = `-- Migration: create users posts comments
-- Type: additive
-- Rollback: drops them

-- migrate:up
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, role TEXT, invited_by INTEGER REFERENCES users (id) ON DELETE SET NULL);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE, title TEXT NOT NULL);
CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE, body TEXT NOT NULL);
CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT NOT NULL);
CREATE INDEX users_email ON users (email);
CREATE INDEX users_role ON users (role) WHERE role IS NOT NULL;
CREATE VIEW admins AS SELECT id, email FROM users WHERE role = 'admin';
CREATE TRIGGER users_audit AFTER UPDATE OF email ON users BEGIN INSERT INTO audit (what) VALUES ('email of ' || NEW.id); END;
CREATE TRIGGER posts_audit AFTER INSERT ON posts BEGIN INSERT INTO audit (what) SELECT 'post by ' || email FROM users WHERE id = NEW.user_id; END;

-- migrate:down
DROP TRIGGER posts_audit;
DROP TRIGGER users_audit;
DROP VIEW admins;
DROP TABLE audit;
DROP TABLE comments;
DROP TABLE posts;
DROP TABLE users;
`;

/** The schema the user wants: a CHECK on role and a NOT NULL with a default, which ALTER TABLE cannot add. */
const DESIRED = `CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin')), invited_by INTEGER REFERENCES users (id) ON DELETE SET NULL);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE, title TEXT NOT NULL);
CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE, body TEXT NOT NULL);
CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT NOT NULL);
CREATE INDEX users_email ON users (email);
CREATE INDEX users_role ON users (role) WHERE role IS NOT NULL;
CREATE VIEW admins AS SELECT id, email FROM users WHERE role = 'admin';
CREATE TRIGGER users_audit AFTER UPDATE OF email ON users BEGIN INSERT INTO audit (what) VALUES ('email of ' || NEW.id); END;
CREATE TRIGGER posts_audit AFTER INSERT ON posts BEGIN INSERT INTO audit (what) SELECT 'post by ' || email FROM users WHERE id = NEW.user_id; END;
`;

const ROWS = [
  "INSERT INTO users (id, email, role, invited_by) VALUES (1, 'ada@example.com', 'admin', NULL), (2, 'bob@example.com', NULL, 1), (3, 'cy@example.com', NULL, 2)",
  "INSERT INTO posts (id, user_id, title) VALUES (1, 1, 'hello'), (2, 2, 'again'), (3, 3, 'third')",
  "INSERT INTO comments (id, post_id, body) VALUES (1, 1, 'nice'), (2, 1, 'yes'), (3, 2, 'ok'), (4, 3, 'fine')",
];

const CONTENT = `SELECT
  (SELECT group_concat(id || ':' || email || ':' || coalesce(role, '-') || ':' || coalesce(invited_by, '-'), ',') FROM (SELECT * FROM users ORDER BY id)) AS users,
  (SELECT group_concat(id || ':' || user_id || ':' || title, ',') FROM (SELECT * FROM posts ORDER BY id)) AS posts,
  (SELECT group_concat(id || ':' || post_id || ':' || body, ',') FROM (SELECT * FROM comments ORDER BY id)) AS comments`;

/** A parent whose children stop (RESTRICT) or defer (NO ACTION) its rows' deletion; the RESTRICT child has CASCADE children of its own. */
const RESTRICTED = `CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE invoices (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT);
CREATE TABLE lines (id INTEGER PRIMARY KEY, invoice_id INTEGER NOT NULL REFERENCES invoices (id) ON DELETE CASCADE, qty INTEGER NOT NULL);
CREATE TABLE notes (id INTEGER PRIMARY KEY, account_id INTEGER REFERENCES accounts (id), body TEXT);
`;

const ACCOUNT_ROWS = `SELECT
  (SELECT group_concat(id || ':' || name, ',') FROM (SELECT * FROM accounts ORDER BY id)) AS accounts,
  (SELECT group_concat(id || ':' || account_id, ',') FROM (SELECT * FROM invoices ORDER BY id)) AS invoices,
  (SELECT group_concat(id || ':' || invoice_id || ':' || qty, ',') FROM (SELECT * FROM lines ORDER BY id)) AS lines,
  (SELECT group_concat(id || ':' || account_id || ':' || body, ',') FROM (SELECT * FROM notes ORDER BY id)) AS notes`;

const ENGINES = [
  { kind: 'sqlite', create: createSqliteDatabase },
  { kind: 'd1', create: createD1Database },
] as const;

for (const engine of ENGINES) {
  describe(`cairn diff: the table rebuild [${engine.kind}]`, { timeout: 120_000 }, () => {
    const project = async () => {
      const db: TestDatabase = await engine.create();
      const root = tempDir();
      const dir = writeMigrations(root, { '0001_create_users_posts_comments.sql': INIT });
      writeFileSync(join(root, 'schema.sql'), DESIRED);
      const cairn = createCairn({ url: db.url, dir, cwd: root, envVars: {} });
      await cairn.up();
      for (const sql of ROWS) await db.query(sql);
      return { db, root, dir, cairn };
    };

    it('rebuilds a parent with a new CHECK: every child, grandchild and self-reference keeps its row; lint and verify are clean', async () => {
      const { db, root, cairn } = await project();
      try {
        const before = await db.query<Record<string, string>>(CONTENT);
        const result = await cairn.diff('add_role_check', { to: 'schema.sql', fill: ["users.role=coalesce(role, 'member')"] });
        expect(result.changes.map((c) => `${c.kind} ${c.object}`)).toEqual(['rebuild-table users']);
        expect(result.type).toBe('destructive');
        expect(result.noTransaction).toBe(engine.kind === 'sqlite'); // D1: one batch, children copied aside
        expect((await cairn.lint()).files.flatMap((f) => f.findings.filter((x) => x.severity === 'error'))).toEqual([]);
        const verified = await cairn.verify({ schema: false });
        expect(verified.migrations.map((m) => [m.version, m.ok, m.down])).toEqual([
          ['0001', true, 'verified'],
          ['0002', true, 'verified'],
        ]);

        await cairn.up();
        const after = await db.query<Record<string, string>>(CONTENT);
        expect(after[0]!.posts).toBe(before[0]!.posts);
        expect(after[0]!.comments).toBe(before[0]!.comments);
        expect(after[0]!.users).toBe('1:ada@example.com:admin:-,2:bob@example.com:member:1,3:cy@example.com:member:2');
        // The CHECK is there, and the view and triggers that read users still work.
        await expect(db.query("UPDATE users SET role = 'owner' WHERE id = 1")).rejects.toThrow(/CHECK constraint failed/);
        expect(await db.query('SELECT id FROM admins')).toEqual([{ id: 1 }]);
        await db.query("INSERT INTO posts (id, user_id, title) VALUES (4, 1, 'after')");
        expect(await db.query("SELECT what FROM audit ORDER BY id DESC LIMIT 1")).toEqual([{ what: 'post by ada@example.com' }]);
        // Nothing left to do, against the live database too; no helper table left behind.
        expect((await cairn.diff('again', { to: 'schema.sql', fromDb: true })).changed).toBe(false);
        expect(await db.query("SELECT name FROM sqlite_master WHERE name LIKE '%\\_\\_%' ESCAPE '\\' OR name LIKE 'cairn_rebuild%'")).toEqual([]);

        await cairn.down();
        expect((await db.query<Record<string, string>>(CONTENT))[0]!.comments).toBe(before[0]!.comments);
        expect(await db.query("SELECT sql FROM sqlite_master WHERE name = 'users'")).toEqual([{ sql: expect.stringContaining('role TEXT,') }]);
      } finally {
        await db.drop();
      }
    });

    it('a count that does not match fails the migration and changes nothing', async () => {
      const { db, root, cairn } = await project();
      try {
        const before = await db.query<Record<string, string>>(CONTENT);
        const result = await cairn.diff('add_role_check', { to: 'schema.sql', fill: ["users.role=coalesce(role, 'member')"] });
        const path = join(root, result.file!);
        // Lose a row on the way, as a wrong WHERE or a bad --fill would.
        const edited = readFileSync(path, 'utf8').replace(/(INSERT INTO "users"[^;]*FROM "users__copy"|INSERT INTO "users__new"[^;]*FROM "users");/, '$1 WHERE id <> 3;');
        expect(edited).toContain('WHERE id <> 3');
        writeFileSync(path, edited);
        const run = await cairn.up();
        expect(run.success).toBe(false);
        expect(run.errors[0]!.message).toContain('row counts differ');
        expect(await db.query<Record<string, string>>(CONTENT)).toEqual(before);
        expect(await db.query("SELECT sql FROM sqlite_master WHERE name = 'users'")).toEqual([{ sql: expect.stringContaining('role TEXT,') }]);
        expect(await db.query("SELECT name FROM sqlite_master WHERE name LIKE '%\\_\\_%' ESCAPE '\\' OR name LIKE 'cairn_rebuild%'")).toEqual([]);
      } finally {
        await db.drop();
      }
    });

    it('a row the new definition refuses stops the rebuild before anything runs, named by its count assertion', async () => {
      const { db, cairn } = await project();
      try {
        const before = await db.query<Record<string, string>>(CONTENT);
        // No --fill: the NULL roles of bob and cy do not fit NOT NULL.
        const result = await cairn.diff('add_role_check', { to: 'schema.sql' });
        expect(result.text).toMatch(/^-- cairn:assert users_rows_all_fit: SELECT \(SELECT count\(\*\) FROM "users"\) = /m);
        expect((await cairn.lint()).files.flatMap((f) => f.findings.filter((x) => x.severity === 'error'))).toEqual([]);
        expect((await cairn.verify({ schema: false })).migrations.every((m) => m.ok)).toBe(true);
        const run = await cairn.up();
        expect(run.success).toBe(false);
        expect(run.errors[0]!.message).toContain('assertion "users_rows_all_fit" does not hold');
        expect(await db.query<Record<string, string>>(CONTENT)).toEqual(before);
        expect(await db.query("SELECT name FROM sqlite_master WHERE name LIKE '%\\_\\_%' ESCAPE '\\' OR name LIKE 'cairn_rebuild%'")).toEqual([]);
        // Once the rows fit, the same file applies.
        await db.query("UPDATE users SET role = 'member' WHERE role IS NULL");
        expect((await cairn.up()).success).toBe(true);
        expect((await db.query<Record<string, string>>(CONTENT))[0]!.comments).toBe(before[0]!.comments);
      } finally {
        await db.drop();
      }
    });

    it('a new NOT NULL column with no default on a table with rows needs --fill: the error names the column and the flag', async () => {
      const { db, root, cairn } = await project();
      try {
        writeFileSync(join(root, 'schema.sql'), DESIRED.replace('title TEXT NOT NULL)', 'title TEXT NOT NULL, status TEXT NOT NULL)'));
        const refused = await cairn.diff('add_status', { to: 'schema.sql' }).then(() => null, (error: Error & { code?: string; hint?: string }) => error);
        expect(refused?.code).toBe('USAGE');
        expect(refused?.message).toContain('column posts.status is new, NOT NULL and has no default');
        expect(refused?.hint).toContain('--fill posts.status=');
        const before = await db.query<Record<string, string>>(CONTENT);
        await cairn.diff('add_status', { to: 'schema.sql', fill: ["users.role=coalesce(role, 'member')", "posts.status='published'"] });
        expect((await cairn.up()).success).toBe(true);
        expect(await db.query('SELECT DISTINCT status FROM posts')).toEqual([{ status: 'published' }]);
        expect((await db.query<Record<string, string>>(CONTENT))[0]!.comments).toBe(before[0]!.comments);
      } finally {
        await db.drop();
      }
    });

    it('rebuilds a parent with RESTRICT and NO ACTION children (and their CASCADE children): every row stays, lint and verify are clean', async () => {
      const db: TestDatabase = await engine.create();
      try {
        const root = tempDir();
        const init = `-- Migration: create accounts\n-- Type: additive\n-- Rollback: drops them\n\n-- migrate:up\n${RESTRICTED}\n-- migrate:down\nDROP TABLE notes;\nDROP TABLE lines;\nDROP TABLE invoices;\nDROP TABLE accounts;\n`;
        const dir = writeMigrations(root, { '0001_create_accounts.sql': init });
        writeFileSync(join(root, 'schema.sql'), RESTRICTED.replace('name TEXT NOT NULL', "name TEXT NOT NULL CHECK (length(name) > 0)"));
        const cairn = createCairn({ url: db.url, dir, cwd: root, envVars: {} });
        await cairn.up();
        await db.query("INSERT INTO accounts (id, name) VALUES (1, 'a'), (2, 'b')");
        await db.query('INSERT INTO invoices (id, account_id) VALUES (10, 1), (11, 1), (12, 2)');
        await db.query('INSERT INTO lines (id, invoice_id, qty) VALUES (100, 10, 1), (101, 10, 2), (102, 12, 3)');
        await db.query("INSERT INTO notes (id, account_id, body) VALUES (7, 2, 'hi')");
        const rows = () => db.query<Record<string, string>>(ACCOUNT_ROWS);
        const before = await rows();
        const result = await cairn.diff('add_name_check', { to: 'schema.sql' });
        expect(result.changes.map((c) => `${c.kind} ${c.object}`)).toEqual(['rebuild-table accounts']);
        expect((await cairn.lint()).files.flatMap((f) => f.findings.filter((x) => x.severity === 'error'))).toEqual([]);
        expect((await cairn.verify({ schema: false })).migrations.map((m) => [m.version, m.ok, m.down])).toEqual([['0001', true, 'verified'], ['0002', true, 'verified']]);
        expect((await cairn.up()).success).toBe(true);
        expect(await rows()).toEqual(before);
        await expect(db.query("INSERT INTO accounts (id, name) VALUES (3, '')")).rejects.toThrow(/CHECK constraint failed/);
        // The keys still hold: RESTRICT still refuses, and nothing was left behind.
        await expect(db.query('DELETE FROM accounts WHERE id = 1')).rejects.toThrow(/FOREIGN KEY constraint failed/);
        expect(await db.query("SELECT name FROM sqlite_master WHERE name LIKE '%\\_\\_%' ESCAPE '\\' OR name LIKE 'cairn_rebuild%'")).toEqual([]);
        expect((await cairn.down()).success).toBe(true);
        expect(await rows()).toEqual(before);
      } finally {
        await db.drop();
      }
    });

    it('the naive rebuild, written by hand, loses the children (the reason cairn diff exists)', async () => {
      const { db, root, cairn } = await project();
      try {
        writeMigrations(root, {
          '0002_add_role_check.sql': `-- Migration: add role check
-- Type: destructive
-- Rollback: none

-- migrate:up
PRAGMA defer_foreign_keys = on;
DROP VIEW admins;
DROP TRIGGER posts_audit;
CREATE TABLE users_new (id INTEGER PRIMARY KEY, email TEXT NOT NULL, role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'admin')), invited_by INTEGER REFERENCES users (id) ON DELETE SET NULL);
INSERT INTO users_new (id, email, role, invited_by) SELECT id, email, coalesce(role, 'member'), invited_by FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE VIEW admins AS SELECT id, email FROM users WHERE role = 'admin';
CREATE TRIGGER posts_audit AFTER INSERT ON posts BEGIN INSERT INTO audit (what) SELECT 'post by ' || email FROM users WHERE id = NEW.user_id; END;
`,
        });
        const run = await cairn.up({ unsafe: true });
        expect(run.errors).toEqual([]);
        expect(run.filesExecuted).toBe(1);
        expect(await db.query('SELECT count(*) AS n FROM posts')).toEqual([{ n: 0 }]);
        expect(await db.query('SELECT count(*) AS n FROM comments')).toEqual([{ n: 0 }]);
      } finally {
        await db.drop();
      }
    });
  });
}

describe('cairn diff: SQLite', () => {
  const project = (files: Record<string, string>, desired: string) => {
    const root = tempDir();
    writeMigrations(root, files);
    writeFileSync(join(root, 'schema.sql'), desired);
    return root;
  };
  const USERS = '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);\n-- migrate:down\nDROP TABLE users;\n';

  it('adds a table, a column and an index without a rebuild, and --print writes nothing', () => {
    const root = project({ '0001_create_users.sql': USERS }, 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, phone TEXT);\nCREATE INDEX users_phone ON users (phone);\nCREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT UNIQUE);\n');
    const printed = runCli(['diff', 'add_phone_and_tags', '--to', 'schema.sql', '--print', '--url', 'sqlite:app.db'], { cwd: root });
    expect(printed.status).toBe(0);
    expect(printed.stdout).toContain('ALTER TABLE "users" ADD COLUMN phone TEXT;');
    expect(printed.stdout).toContain('-- Type: additive');
    expect(printed.stdout).not.toContain('cairn:no-transaction');
    expect(printed.stdout).toMatch(/-- migrate:down\nDROP INDEX "users_phone";\nALTER TABLE "users" DROP COLUMN "phone";\nDROP TABLE "tags";/);
    const json = runCli(['diff', 'add_phone_and_tags', '--to', 'schema.sql', '--json', '--url', 'sqlite:app.db'], { cwd: root });
    expect(JSON.parse(json.stdout)).toMatchObject({ changed: true, file: 'migrations/0002_add_phone_and_tags.sql', changes: [{ kind: 'create-table', object: 'tags' }, { kind: 'add-column', object: 'users.phone' }, { kind: 'create-index', object: 'users_phone' }] });
    expect(runCli(['verify', '--url', 'sqlite:app.db'], { cwd: root }).status).toBe(0);
  });

  it('refuses a drop without --allow-drop, and says how to rename instead', () => {
    const root = project({ '0001_create_users.sql': USERS }, 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, display_name TEXT);\n');
    const refused = runCli(['diff', 'rename_name', '--to', 'schema.sql', '--url', 'sqlite:app.db'], { cwd: root });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('drops column users.name');
    expect(refused.stderr).toContain('--rename table.old=new');
    const renamed = runCli(['diff', 'rename_name', '--to', 'schema.sql', '--rename', 'users.name=display_name', '--print', '--url', 'sqlite:app.db'], { cwd: root });
    expect(renamed.stdout).toContain('ALTER TABLE "users" RENAME COLUMN "name" TO "display_name";');
    expect(renamed.stdout).toContain('expand–contract');
    expect(renamed.stdout).toContain('-- cairn:allow rename-column asked for with cairn diff --rename');
    const dropped = runCli(['diff', 'replace_name', '--to', 'schema.sql', '--allow-drop', '--reason', 'name moved to profiles', '--url', 'sqlite:app.db'], { cwd: root });
    expect(dropped.status).toBe(0);
    const text = readFileSync(join(root, 'migrations/0002_replace_name.sql'), 'utf8');
    expect(text).toContain('-- cairn:allow drop-column name moved to profiles');
    expect(text).toContain('DROP COLUMN "name"');
    expect(runCli(['lint', '--url', 'sqlite:app.db'], { cwd: root }).status).toBe(0);
  });

  it('a new NOT NULL column with no default needs --fill, and the error says so', () => {
    const root = project({ '0001_create_users.sql': USERS }, 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, plan TEXT NOT NULL);\n');
    const refused = runCli(['diff', 'add_plan', '--to', 'schema.sql', '--url', 'sqlite:app.db'], { cwd: root });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('column users.plan is new, NOT NULL and has no default');
    expect(refused.stderr).toContain('--fill users.plan=');
    const filled = runCli(['diff', 'add_plan', '--to', 'schema.sql', '--fill', "users.plan='free'", '--print', '--url', 'sqlite:app.db'], { cwd: root });
    expect(filled.stdout).toContain(`SELECT "id", "email", "name", 'free' FROM "users"`);
  });

  it('says when there is nothing to do', () => {
    const root = project({ '0001_create_users.sql': USERS }, 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);\n');
    const result = runCli(['diff', 'nothing', '--to', 'schema.sql', '--url', 'sqlite:app.db'], { cwd: root });
    expect(result.stdout).toContain('No changes');
  });
});

describe('cairn diff: the README workflow', () => {
  it('runs as the README shows it: dump, edit, diff, lint, verify, up', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const block = /### `cairn diff`[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    const root = tempDir();
    writeMigrations(root, {
      '0001_create_items.sql': '-- Migration: create items\n-- Type: additive\n-- Rollback: drops it\n\n-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL);\nCREATE TABLE item_events (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE);\n\n-- migrate:down\nDROP TABLE item_events;\nDROP TABLE items;\n',
    });
    writeFileSync(join(root, 'cairn.config.json'), JSON.stringify({ database: 'sqlite:app.db', migrations: 'migrations' }));
    expect(runCli(['up'], { cwd: root }).status).toBe(0);
    const lines = block.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
    expect(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['cairn dump', "sed -i", 'cairn diff', 'cairn lint', 'cairn verify', 'cairn up']);
    for (const line of lines) {
      if (line.startsWith('sed ')) {
        const path = join(root, 'schema.sql');
        writeFileSync(path, readFileSync(path, 'utf8').replace('price INTEGER NOT NULL', 'price INTEGER NOT NULL CHECK (price >= 0)'));
        continue;
      }
      const args = line.split(/\s+/).slice(1);
      const result = runCli(args, { cwd: root });
      expect({ line, status: result.status, stderr: result.stderr }).toMatchObject({ line, status: 0 });
    }
    expect(readFileSync(join(root, 'migrations/0002_add_price_check.sql'), 'utf8')).toContain('CHECK (price >= 0)');
  });
});
