import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUnavailable, REQUIRE_PG, runCli, tempDir, writeMigrations } from './support/databases.js';
import { createPgDatabase, pgSchemaOf, pgSchemaOfSql, type PgTestDatabase, dropKeptDiffDatabases } from './support/postgres-diff.js';

/**
 * cairn diff on a real PostgreSQL server, end to end through the CLI: the
 * files it writes are the safe forms (NOT VALID then VALIDATE in a later
 * file, CREATE INDEX CONCURRENTLY in a no-transaction file of its own,
 * SET NOT NULL through a validated CHECK, UNIQUE … USING INDEX), lint clean
 * and verify clean; applied, they give the desired schema with every row
 * kept; down gives the old schema back.
 */
const INIT = `-- Migration: create users and posts
-- Type: additive
-- Rollback: drops them

-- migrate:up
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL, name text, age integer, feeling mood);
CREATE TABLE posts (id serial PRIMARY KEY, user_id bigint, title text, legacy text);
CREATE VIEW post_titles AS SELECT id, title FROM posts;

-- migrate:down
DROP VIEW post_titles;
DROP TABLE posts;
DROP TABLE users;
DROP TYPE mood;
`;

/** Add a column, an index and a foreign key; a CHECK; NOT NULL on a column that has values; a unique key; a new table. */
const DESIRED = `CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL, age integer CHECK (age >= 0), feeling mood, phone text DEFAULT 'none');
CREATE TABLE posts (id serial PRIMARY KEY, user_id bigint REFERENCES users (id) ON DELETE CASCADE, title text, legacy text);
CREATE INDEX posts_user_id_idx ON posts (user_id);
CREATE VIEW post_titles AS SELECT id, title FROM posts;
CREATE TABLE tags (id integer PRIMARY KEY, post_id integer NOT NULL REFERENCES posts (id), label text);
CREATE INDEX tags_label_idx ON tags (label);
`;

const ROWS = `INSERT INTO users (email, name, age, feeling) VALUES ('ada@example.com', 'Ada', 36, 'happy'), ('bob@example.com', 'Bob', NULL, NULL);
INSERT INTO posts (user_id, title, legacy) VALUES (1, 'hello', 'x'), (2, 'again', NULL), (1, 'third', 'y');`;

const CONTENT = `SELECT (SELECT string_agg(concat_ws(':', id, email, name, age, feeling), ',' ORDER BY id) FROM users) AS users,
  (SELECT string_agg(concat_ws(':', id, user_id, title, legacy), ',' ORDER BY id) FROM posts) AS posts`;

const cli = (root: string, db: PgTestDatabase, ...args: string[]) => runCli([...args, '--url', db.url], { cwd: root });

let skip: string | null = null;
/** The temporary projects: what cairn diff kept on the server for them is dropped after the file. */
const roots: string[] = [];
afterAll(async () => {
  if (!skip) await dropKeptDiffDatabases(roots);
});

describe('cairn diff on PostgreSQL (CLI, real server)', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    skip = await postgresUnavailable();
    if (skip && REQUIRE_PG) throw new Error(`PostgreSQL is required (CAIRN_REQUIRE_PG=1) but unreachable: ${skip}`);
  });

  const project = async (desired = DESIRED) => {
    const db = await createPgDatabase();
    const root = tempDir();
    roots.push(root);
    writeMigrations(root, { '0001_create_users_posts.sql': INIT });
    writeFileSync(join(root, 'schema.sql'), desired);
    expect(cli(root, db, 'up').status).toBe(0);
    await db.query(ROWS);
    return { db, root };
  };
  const files = (root: string) => readdirSync(join(root, 'migrations')).sort();
  const read = (root: string, file: string) => readFileSync(join(root, 'migrations', file), 'utf8');
  const lintErrors = (root: string, db: PgTestDatabase) => {
    const result = cli(root, db, 'lint', '--json');
    const report = JSON.parse(result.stdout) as { files: { file: string; findings: { severity: string; rule: string; message: string }[] }[] };
    return report.files.flatMap((f) => f.findings.filter((x) => x.severity === 'error').map((x) => `${f.file} ${x.rule}: ${x.message}`));
  };

  it('writes the safe forms in consecutive files that lint and verify clean; up gives the desired schema with every row; down gives the old one back', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const { db, root } = await project();
    try {
      const before = await db.query<Record<string, string>>(CONTENT);
      const old = await pgSchemaOf(db.url);
      const result = cli(root, db, 'diff', 'add_contacts', '--to', 'schema.sql');
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toContain('Wrote migrations/0002_add_contacts.sql');
      expect(files(root)).toEqual(['0001_create_users_posts.sql', '0002_add_contacts.sql', '0003_add_contacts_indexes.sql', '0004_add_contacts_validate.sql']);

      const main = read(root, '0002_add_contacts.sql');
      expect(main).toMatch(/-- migrate:up\nSET LOCAL lock_timeout = '5s';\n/);
      expect(main).toContain('Part 1 of 3');
      expect(main).toMatch(/ADD CONSTRAINT "posts_user_id_fkey" FOREIGN KEY \(user_id\) REFERENCES users\(id\) ON DELETE CASCADE NOT VALID;/);
      expect(main).toMatch(/ADD CONSTRAINT "users_age_check" CHECK \(\(age >= 0\)\) NOT VALID;/);
      expect(main).toMatch(/ADD CONSTRAINT "users_name_not_null" CHECK \(name IS NOT NULL\) NOT VALID;/);
      expect(main).toContain("ALTER TABLE users ADD COLUMN phone text DEFAULT 'none'::text;");
      expect(main).not.toMatch(/VALIDATE|CONCURRENTLY/);
      const indexes = read(root, '0003_add_contacts_indexes.sql');
      expect(indexes).toContain('-- cairn:no-transaction');
      expect(indexes).toContain('CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_user_id_idx ON public.posts USING btree (user_id);');
      expect(indexes).toContain('CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email_key ON public.users USING btree (email);');
      const validate = read(root, '0004_add_contacts_validate.sql');
      expect(validate).toMatch(/-- migrate:up\nSET LOCAL lock_timeout = '5s';\n/);
      expect(validate).toContain('ALTER TABLE posts VALIDATE CONSTRAINT "posts_user_id_fkey";');
      expect(validate).toContain('ALTER TABLE users ALTER COLUMN name SET NOT NULL;');
      expect(validate).toContain('ALTER TABLE users ADD CONSTRAINT "users_email_key" UNIQUE USING INDEX "users_email_key";');

      expect(lintErrors(root, db)).toEqual([]);
      const verified = cli(root, db, 'verify');
      expect(verified.stdout + verified.stderr).toContain('All 4 migrations verified');
      expect(verified.status).toBe(0);

      expect(cli(root, db, 'up').status).toBe(0);
      expect(await pgSchemaOf(db.url)).toEqual(await pgSchemaOfSql(DESIRED));
      expect(await db.query(CONTENT)).toEqual(before);
      await expect(db.query('UPDATE users SET age = -1 WHERE id = 1')).rejects.toThrow(/users_age_check/);
      await expect(db.query("INSERT INTO users (email, name) VALUES ('ada@example.com', 'Again')")).rejects.toThrow(/users_email_key/);
      const again = cli(root, db, 'diff', 'again', '--to', 'schema.sql', '--from-db');
      expect(again.stdout).toContain('No changes');

      expect(cli(root, db, 'down', '--to', '0001').status).toBe(0);
      expect(await pgSchemaOf(db.url)).toEqual(old);
      expect(await db.query(CONTENT)).toEqual(before);
    } finally {
      await db.drop();
    }
  });

  it('--print writes nothing; --json describes the plan and its files', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const { db, root } = await project();
    try {
      const printed = cli(root, db, 'diff', 'add_contacts', '--to', 'schema.sql', '--print');
      expect(printed.status).toBe(0);
      expect(printed.stdout).toContain('CREATE INDEX CONCURRENTLY');
      const json = cli(root, db, 'diff', 'add_contacts', '--to', 'schema.sql', '--print', '--json');
      const plan = JSON.parse(json.stdout) as { changes: { kind: string; object: string }[]; files: { phase: string; noTransaction: boolean }[] };
      expect(plan.files.map((f) => [f.phase, f.noTransaction])).toEqual([['main', false], ['concurrent', true], ['validate', false]]);
      expect(plan.changes).toContainEqual({ kind: 'add-foreign-key', object: 'posts.posts_user_id_fkey' });
      expect(plan.changes).toContainEqual({ kind: 'set-not-null', object: 'users.name' });
      expect(files(root)).toEqual(['0001_create_users_posts.sql']);
    } finally {
      await db.drop();
    }
  });

  it('refuses a type change that rewrites the table unless --allow-rewrite, and then allows it in the file', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const desired = INIT.split('-- migrate:up\n')[1]!.split('\n\n')[0]!.replace('age integer', 'age bigint').replace('title text', 'title varchar(500)');
    const { db, root } = await project(desired);
    try {
      const before = await db.query<Record<string, string>>(CONTENT);
      const refused = cli(root, db, 'diff', 'widen_age', '--to', 'schema.sql');
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain('rewrites');
      expect(refused.stderr).toContain('users (age integer → bigint)');
      expect(refused.stderr).toContain('--allow-rewrite');
      expect(files(root)).toEqual(['0001_create_users_posts.sql']);

      const allowed = cli(root, db, 'diff', 'widen_age', '--to', 'schema.sql', '--allow-rewrite', '--reason', 'users is small');
      expect(allowed.status).toBe(0);
      const text = read(root, '0002_widen_age.sql');
      expect(text).toContain('-- cairn:allow change-column-type users is small');
      // The view that reads posts.title is recreated around the type change.
      expect(text).toMatch(/DROP VIEW post_titles;[\s\S]*ALTER TABLE posts ALTER COLUMN title TYPE character varying\(500\)[\s\S]*CREATE VIEW post_titles/);
      expect(lintErrors(root, db)).toEqual([]);
      expect(cli(root, db, 'verify').status).toBe(0);
      expect(cli(root, db, 'up').status).toBe(0);
      expect(await pgSchemaOf(db.url)).toEqual(await pgSchemaOfSql(desired));
      expect(await db.query(CONTENT)).toEqual(before);
    } finally {
      await db.drop();
    }
  });

  it('refuses drops unless --allow-drop --reason, which goes into -- cairn:allow; down brings the column back', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const desired = INIT.split('-- migrate:up\n')[1]!.split('\n\n')[0]!.replace(', legacy text', '');
    const { db, root } = await project(desired);
    try {
      const refused = cli(root, db, 'diff', 'drop_legacy', '--to', 'schema.sql');
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain('drops column posts.legacy');
      expect(files(root)).toEqual(['0001_create_users_posts.sql']);
      expect(cli(root, db, 'diff', 'drop_legacy', '--to', 'schema.sql', '--allow-drop').stderr).toContain('--reason');

      const old = await pgSchemaOf(db.url);
      expect(cli(root, db, 'diff', 'drop_legacy', '--to', 'schema.sql', '--allow-drop', '--reason', 'unused since v2').status).toBe(0);
      const text = read(root, '0002_drop_legacy.sql');
      expect(text).toContain('-- cairn:allow drop-column unused since v2');
      expect(text).toContain('-- Type: destructive');
      // The view reads posts, whose columns change: recreated around the drop.
      expect(text).toMatch(/DROP VIEW post_titles;\nALTER TABLE posts DROP COLUMN legacy;\nCREATE VIEW post_titles/);
      expect(lintErrors(root, db)).toEqual([]);
      expect(cli(root, db, 'verify').status).toBe(0);
      expect(cli(root, db, 'up', '--no-backup').status).toBe(0);
      expect(await pgSchemaOf(db.url)).toEqual(await pgSchemaOfSql(desired));
      expect(cli(root, db, 'down').status).toBe(0);
      expect(await pgSchemaOf(db.url)).toEqual(old);
    } finally {
      await db.drop();
    }
  });

  it('a new NOT NULL column with no default needs --fill: the error names the column and the flag; with it, added nullable, filled in batches, then NOT NULL', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const desired = INIT.split('-- migrate:up\n')[1]!.split('\n\n')[0]!.replace('feeling mood)', 'feeling mood, plan text NOT NULL)').replace('title text', 'title text NOT NULL');
    const { db, root } = await project(desired);
    try {
      const refused = cli(root, db, 'diff', 'add_plan', '--to', 'schema.sql');
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain('column users.plan is new, NOT NULL and without a default');
      expect(refused.stderr).toContain('--fill users.plan=');
      expect(files(root)).toEqual(['0001_create_users_posts.sql']);
      // A name that matches nothing is refused too, rather than silently ignored.
      expect(cli(root, db, 'diff', 'add_plan', '--to', 'schema.sql', '--fill', "users.plan='free'", '--fill', "users.plann='x'").stderr).toContain('--fill users.plann');

      const old = await pgSchemaOf(db.url);
      const result = cli(root, db, 'diff', 'add_plan', '--to', 'schema.sql', '--fill', "users.plan='free'", '--fill', "posts.title='untitled'");
      expect(result.stderr).toBe('');
      expect(files(root)).toEqual(['0001_create_users_posts.sql', '0002_add_plan.sql', '0003_add_plan_backfill.sql', '0004_add_plan_validate.sql']);
      expect(read(root, '0002_add_plan.sql')).toContain('ALTER TABLE users ADD COLUMN plan text;');
      const backfill = read(root, '0003_add_plan_backfill.sql');
      expect(backfill).toContain("-- cairn:batch size=1000\nUPDATE users SET plan = 'free' WHERE plan IS NULL;");
      expect(backfill).toContain("UPDATE posts SET title = 'untitled' WHERE title IS NULL;");
      expect(read(root, '0004_add_plan_validate.sql')).toMatch(/ALTER TABLE users ALTER COLUMN plan SET NOT NULL;/);
      expect(lintErrors(root, db)).toEqual([]);
      expect(cli(root, db, 'verify').status).toBe(0);

      await db.query("INSERT INTO posts (user_id, title) VALUES (2, NULL)");
      const up = cli(root, db, 'up');
      expect(up.stderr).not.toContain('error');
      expect(up.status).toBe(0);
      expect(await pgSchemaOf(db.url)).toEqual(await pgSchemaOfSql(desired));
      expect(await db.query('SELECT email, plan FROM users ORDER BY id')).toEqual([{ email: 'ada@example.com', plan: 'free' }, { email: 'bob@example.com', plan: 'free' }]);
      expect(await db.query("SELECT count(*)::int AS n FROM posts WHERE title = 'untitled'")).toEqual([{ n: 1 }]);
      expect(cli(root, db, 'down', '--to', '0001').status).toBe(0);
      expect(await pgSchemaOf(db.url)).toEqual(old);
    } finally {
      await db.drop();
    }
  });

  it('creates extensions (IF NOT EXISTS) and standalone sequences, alters a sequence, and refuses dropping one without --allow-drop', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const base = INIT.split('-- migrate:up\n')[1]!.split('\n\n')[0]!;
    const desired = `CREATE EXTENSION IF NOT EXISTS citext;\nCREATE SEQUENCE invoice_numbers START 1000 INCREMENT 10;\n${base.replace('feeling mood)', 'feeling mood, handle citext)')}\nCREATE TABLE invoices (number bigint PRIMARY KEY DEFAULT nextval('invoice_numbers'), total integer);`;
    const { db, root } = await project(desired);
    try {
      const old = await pgSchemaOf(db.url);
      const result = cli(root, db, 'diff', 'add_handles', '--to', 'schema.sql');
      expect(result.stderr).toBe('');
      const text = read(root, '0002_add_handles.sql');
      expect(text).toContain('CREATE EXTENSION IF NOT EXISTS "citext" SCHEMA public;');
      expect(text).toMatch(/CREATE SEQUENCE invoice_numbers AS bigint INCREMENT BY 10 .*START WITH 1000/);
      expect(text).toContain('DROP EXTENSION IF EXISTS "citext";');
      expect(lintErrors(root, db)).toEqual([]);
      expect(cli(root, db, 'verify').status).toBe(0);
      expect(cli(root, db, 'up').status).toBe(0);
      expect(await pgSchemaOf(db.url)).toEqual(await pgSchemaOfSql(desired));
      expect(await db.query('INSERT INTO invoices (total) VALUES (1), (2) RETURNING number')).toEqual([{ number: '1000' }, { number: '1010' }]);

      // Changed options are an ALTER SEQUENCE; a sequence left out of schema.sql is a drop, refused unless asked for.
      writeFileSync(join(root, 'schema.sql'), desired.replace('INCREMENT 10', 'INCREMENT 5'));
      expect(cli(root, db, 'diff', 'step_by_five', '--to', 'schema.sql', '--print').stdout).toMatch(/ALTER SEQUENCE invoice_numbers AS bigint INCREMENT BY 5 /);
      writeFileSync(join(root, 'schema.sql'), desired.replace(/CREATE SEQUENCE[^\n]*\n/, '').replace(" DEFAULT nextval('invoice_numbers')", ''));
      await db.query('DELETE FROM invoices');
      expect(cli(root, db, 'diff', 'drop_numbers', '--to', 'schema.sql').stderr).toContain('sequence invoice_numbers');
      expect(cli(root, db, 'down').status).toBe(0);
      expect(await pgSchemaOf(db.url)).toEqual(old);
    } finally {
      await db.drop();
    }
  });

  it('--rename renames instead of dropping and adding, and says it is the first phase of expand–contract', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const desired = INIT.split('-- migrate:up\n')[1]!.split('\n\n')[0]!.replace('name text', 'display_name text');
    const { db, root } = await project(desired);
    try {
      expect(cli(root, db, 'diff', 'rename_name', '--to', 'schema.sql').stderr).toContain('drops column users.name');
      const renamed = cli(root, db, 'diff', 'rename_name', '--to', 'schema.sql', '--rename', 'users.name=display_name');
      expect(renamed.status).toBe(0);
      const text = read(root, '0002_rename_name.sql');
      expect(text).toContain('ALTER TABLE users RENAME COLUMN "name" TO "display_name";');
      expect(text).toContain('expand–contract');
      expect(text).toContain('-- cairn:allow rename-column');
      expect(lintErrors(root, db)).toEqual([]);
      expect(cli(root, db, 'up').status).toBe(0);
      expect(await db.query('SELECT display_name FROM users ORDER BY id')).toEqual([{ display_name: 'Ada' }, { display_name: 'Bob' }]);
    } finally {
      await db.drop();
    }
  });

  it('adds enum values in a file of their own; removing one is an error that names the enum and what to write', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const base = INIT.split('-- migrate:up\n')[1]!.split('\n\n')[0]!;
    const desired = base.replace("('happy', 'sad')", "('happy', 'calm', 'sad', 'angry')").replace(', feeling mood', ", feeling mood DEFAULT 'calm'");
    const { db, root } = await project(desired);
    try {
      expect(cli(root, db, 'diff', 'add_moods', '--to', 'schema.sql').status).toBe(0);
      expect(files(root)).toEqual(['0001_create_users_posts.sql', '0002_add_moods_enum_values.sql', '0003_add_moods.sql']);
      const values = read(root, '0002_add_moods_enum_values.sql');
      expect(values).toContain("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'calm' BEFORE 'sad';");
      expect(values).toContain("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'angry';");
      expect(values).toContain('-- no down: PostgreSQL cannot remove a value from an enum type');
      expect(read(root, '0003_add_moods.sql')).toContain("ALTER COLUMN feeling SET DEFAULT 'calm'::mood;");
      expect(lintErrors(root, db)).toEqual([]);
      expect(cli(root, db, 'verify').status).toBe(0);
      expect(cli(root, db, 'up').status).toBe(0);
      expect(await pgSchemaOf(db.url)).toEqual(await pgSchemaOfSql(desired));

      writeFileSync(join(root, 'schema.sql'), desired.replace(", 'angry'", ''));
      const refused = cli(root, db, 'diff', 'drop_angry', '--to', 'schema.sql');
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain('enum mood: values removed or reordered');
      expect(refused.stderr).toContain('CREATE TYPE mood_new AS ENUM');
    } finally {
      await db.drop();
    }
  });

  it('a schema.sql that PostgreSQL rejects is an error naming its line; nothing is written', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const { db, root } = await project(`${DESIRED}\nCREATE TABLE broken (id integer REFERENCES nowhere (id));\n`);
    try {
      const result = cli(root, db, 'diff', 'add_contacts', '--to', 'schema.sql');
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/schema\.sql:9 does not load in PostgreSQL: relation "nowhere" does not exist/);
      expect(files(root)).toEqual(['0001_create_users_posts.sql']);
    } finally {
      await db.drop();
    }
  });

  it('on PGlite (embedded PostgreSQL, no server) writes the same files, and they apply', async () => {
    const root = tempDir();
    roots.push(root);
    writeMigrations(root, { '0001_create_users_posts.sql': INIT });
    writeFileSync(join(root, 'schema.sql'), DESIRED);
    const url = `pglite:${join(root, 'db')}`;
    expect(runCli(['up', '--url', url], { cwd: root }).status).toBe(0);
    const result = runCli(['diff', 'add_contacts', '--to', 'schema.sql', '--url', url], { cwd: root });
    expect(result.stderr).toBe('');
    expect(files(root)).toEqual(['0001_create_users_posts.sql', '0002_add_contacts.sql', '0003_add_contacts_indexes.sql', '0004_add_contacts_validate.sql']);
    expect(read(root, '0003_add_contacts_indexes.sql')).toContain('CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_user_id_idx');
    expect(runCli(['up', '--url', url], { cwd: root }).status).toBe(0);
    expect(runCli(['diff', 'again', '--to', 'schema.sql', '--from-db', '--url', url], { cwd: root }).stdout).toContain('No changes');
  });

  it('renames an index whose definition is unchanged, replaces functions and triggers, changes defaults and drops NOT NULL; what it cannot write is named', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const base = `${INIT.split('-- migrate:up\n')[1]!.split('\n\n')[0]!}
CREATE INDEX users_email_idx ON users (email);
CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.title := coalesce(NEW.title, 'untitled'); RETURN NEW; END $$;`;
    const desired = `${base.replace('users_email_idx', 'users_by_email').replace("'untitled'", "'(none)'").replace('email text NOT NULL', "email text DEFAULT ''").replace('title text', "title text DEFAULT 'draft'")}
CREATE TRIGGER posts_stamp BEFORE INSERT ON posts FOR EACH ROW EXECUTE FUNCTION stamp();`;
    const db = await createPgDatabase();
    const root = tempDir();
    roots.push(root);
    try {
      writeMigrations(root, { '0001_create_users_posts.sql': `-- migrate:up\n${base}\n` });
      writeFileSync(join(root, 'schema.sql'), desired);
      expect(cli(root, db, 'up').status).toBe(0);
      expect(cli(root, db, 'diff', 'tidy_users', '--to', 'schema.sql').status).toBe(0);
      expect(files(root)).toEqual(['0001_create_users_posts.sql', '0002_tidy_users.sql']);
      const text = read(root, '0002_tidy_users.sql');
      expect(text).toContain('ALTER INDEX users_email_idx RENAME TO "users_by_email";');
      expect(text).toContain('ALTER TABLE users ALTER COLUMN email DROP NOT NULL;');
      expect(text).toContain("ALTER TABLE posts ALTER COLUMN title SET DEFAULT 'draft'::text;");
      expect(text).toMatch(/CREATE OR REPLACE FUNCTION public\.stamp\(\)[\s\S]*'\(none\)'/);
      expect(text).toContain('CREATE TRIGGER posts_stamp BEFORE INSERT ON public.posts FOR EACH ROW EXECUTE FUNCTION stamp();');
      expect(text).not.toMatch(/CREATE INDEX|DROP INDEX/);
      expect(lintErrors(root, db)).toEqual([]);
      expect(cli(root, db, 'verify').status).toBe(0);
      expect(cli(root, db, 'up').status).toBe(0);
      expect(await pgSchemaOf(db.url)).toEqual(await pgSchemaOfSql(desired));
      await db.query('INSERT INTO posts (user_id) VALUES (NULL)');
      expect(await db.query('SELECT title FROM posts')).toEqual([{ title: 'draft' }]);

      // A composite type is not something the planner writes: the check run names it, and nothing is written.
      writeFileSync(join(root, 'schema.sql'), `${desired}\nCREATE TYPE pair AS (a integer, b integer);`);
      const refused = cli(root, db, 'diff', 'add_pair', '--to', 'schema.sql');
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toMatch(/\+ type pair/);
      expect(refused.stderr).toContain('write those changes by hand');
      expect(files(root)).toEqual(['0001_create_users_posts.sql', '0002_tidy_users.sql']);
    } finally {
      await db.drop();
    }
  });
});
