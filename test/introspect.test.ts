import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect } from 'vitest';
import { introspectPostgres } from '../src/drivers/postgres/introspect.js';
import { introspectSqlite, normalizeSql, queryOf } from '../src/drivers/sqlite/introspect.js';
import { diffSnapshots, formatDifference, type Snapshot } from '../src/drivers/snapshot.js';
import { createPostgresDatabase, createSqliteDatabase, type TestDatabase } from './support/databases.js';
import { describeEachDatabase, it } from './support/each-database.js';

/** Schema snapshots over real databases: equal for equal schemas, one readable line per change. */

const EXCLUDE = ['cairn_migrations', 'cairn_migrations_lock', 'app.cairn_history'];

const SQLITE = {
  tables: [
    `CREATE TABLE users (
       id INTEGER PRIMARY KEY,
       email TEXT NOT NULL UNIQUE,
       name TEXT, -- shown to others
       age INTEGER CHECK (age >= 0),
       status TEXT NOT NULL DEFAULT 'active',
       created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
       email_lower TEXT GENERATED ALWAYS AS (lower(email)) STORED,
       CONSTRAINT status_known CHECK (status IN ('active', 'banned'))
     )`,
    `CREATE TABLE posts (
       id INTEGER PRIMARY KEY AUTOINCREMENT,
       user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
       title TEXT NOT NULL,
       published INTEGER NOT NULL DEFAULT 0,
       updated_at TEXT,
       UNIQUE (user_id, title)
     )`,
    `CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT NOT NULL DEFAULT 'new')`,
    `CREATE TABLE cairn_migrations (version TEXT PRIMARY KEY, name TEXT NOT NULL)`,
    `CREATE TABLE cairn_migrations_lock (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT)`,
  ],
  indexes: [
    'CREATE INDEX posts_published_idx ON posts (user_id) WHERE published = 1',
    'CREATE INDEX users_email_lower_idx ON users (lower(email))',
    'CREATE INDEX posts_title_idx ON posts (title)',
    'CREATE INDEX cairn_migrations_name_idx ON cairn_migrations (name)',
  ],
  rest: [
    "CREATE VIEW active_users AS SELECT id, email FROM users WHERE status = 'active'",
    `CREATE TRIGGER posts_touch AFTER UPDATE ON posts BEGIN
       UPDATE posts SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id;
     END`,
  ],
};

function postgresSchema(pgcrypto: boolean) {
  return {
    tables: [
      ...(pgcrypto ? ['CREATE EXTENSION pgcrypto'] : []),
      'CREATE SCHEMA app',
      "CREATE TYPE order_state AS ENUM ('pending', 'paid', 'shipped')",
      'CREATE SEQUENCE invoice_numbers START 1000 INCREMENT 10',
      `CREATE TABLE users (
         id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         email text NOT NULL UNIQUE,
         name varchar(100),
         age integer CHECK (age >= 0),
         status text NOT NULL DEFAULT 'active',
         created_at timestamptz NOT NULL DEFAULT now(),
         email_lower text GENERATED ALWAYS AS (lower(email)) STORED
       )`,
      `CREATE TABLE posts (
         id serial PRIMARY KEY,
         user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
         title text NOT NULL,
         published boolean NOT NULL DEFAULT false,
         updated_at timestamptz,
         UNIQUE (user_id, title)
       )`,
      `CREATE TABLE app.orders (
         id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
         state order_state NOT NULL DEFAULT 'pending',
         user_id bigint REFERENCES users (id),
         invoice integer NOT NULL DEFAULT nextval('invoice_numbers')
       )`,
      'CREATE TABLE cairn_migrations (id serial, version text PRIMARY KEY, name text NOT NULL)',
      'CREATE TABLE app.cairn_history (version text PRIMARY KEY)',
    ],
    indexes: [
      'CREATE INDEX posts_published_idx ON posts (user_id) WHERE published',
      'CREATE INDEX users_email_lower_idx ON users (lower(email))',
      'CREATE INDEX orders_state_idx ON app.orders (state)',
      'CREATE INDEX cairn_migrations_name_idx ON cairn_migrations (name)',
    ],
    rest: [
      "CREATE VIEW active_users AS SELECT id, email FROM users WHERE status = 'active'",
      `CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         NEW.updated_at := now();
         RETURN NEW;
       END $$`,
      'CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION touch()',
      'CREATE TRIGGER cairn_touch BEFORE UPDATE ON cairn_migrations FOR EACH ROW EXECUTE FUNCTION touch()',
    ],
  };
}

async function execute(db: TestDatabase, statements: readonly string[]): Promise<void> {
  if (db.kind === 'sqlite') {
    const sqlite = new Database(sqlitePath(db.url));
    try {
      for (const statement of statements) sqlite.exec(statement);
    } finally {
      sqlite.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

async function snapshotOf(db: TestDatabase, exclude: readonly string[] = EXCLUDE): Promise<Snapshot> {
  if (db.kind === 'sqlite') {
    const sqlite = new Database(sqlitePath(db.url), { readonly: true });
    try {
      return await introspectSqlite(queryOf(sqlite), { exclude });
    } finally {
      sqlite.close();
    }
  }
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return await introspectPostgres(client, { exclude });
  } finally {
    await client.end();
  }
}

function sqlitePath(url: string): string {
  return url.replace(/^sqlite:/, '');
}

async function schemaFor(db: TestDatabase) {
  if (db.kind === 'sqlite') return SQLITE;
  const rows = await db.query("SELECT 1 FROM pg_available_extensions WHERE name = 'pgcrypto'");
  return postgresSchema(rows.length > 0);
}

async function build(db: TestDatabase): Promise<void> {
  const schema = await schemaFor(db);
  await execute(db, [...schema.tables, ...schema.indexes, ...schema.rest]);
}

describeEachDatabase('schema snapshot', (current, kind) => {
  it('is the same for two databases built by the same statements, whatever the OIDs and index order', async () => {
    const db = current();
    await build(db);
    const other = kind === 'sqlite' ? await createSqliteDatabase() : await createPostgresDatabase();
    try {
      const schema = await schemaFor(other);
      // Shift OIDs and creation order: a throwaway table first, indexes in reverse.
      await execute(other, ['CREATE TABLE scratch (x integer)', 'CREATE INDEX scratch_x ON scratch (x)', 'DROP TABLE scratch']);
      await execute(other, [...schema.tables, ...[...schema.indexes].reverse(), ...schema.rest]);
      const one = await snapshotOf(db);
      const two = await snapshotOf(other);
      expect(diffSnapshots(one, two)).toEqual([]);
      expect(two).toEqual(one);
      expect(JSON.stringify(two)).toBe(JSON.stringify(one));
    } finally {
      await other.drop();
    }
  });

  it('describes each object compactly', async () => {
    const db = current();
    await build(db);
    const { objects } = await snapshotOf(db);
    if (kind === 'sqlite') {
      expect(objects).toMatchObject({
        'table users': 'table',
        'columns users': 'id, email, name, age, status, created_at, email_lower',
        'column users.id': 'integer',
        'column users.status': "text not null default 'active'",
        'column users.created_at': 'text not null default current_timestamp',
        'column users.email_lower': 'text generated always as (lower(email)) stored',
        'primary key users': 'primary key (id)',
        'primary key posts': 'primary key (id) autoincrement',
        'unique users (email)': 'unique (email)',
        'unique posts (user_id, title)': 'unique (user_id, title)',
        'foreign key posts (user_id)': '(user_id) → users (id) on delete cascade on update no action',
        'check users age >= 0': 'check (age >= 0)',
        'check users status_known': "constraint status_known check (status in ('active', 'banned'))",
        'index posts_published_idx': 'create index posts_published_idx on posts(user_id) where published = 1',
        'index users_email_lower_idx': 'create index users_email_lower_idx on users(lower(email))',
        'view active_users': "create view active_users as select id, email from users where status = 'active'",
        'trigger posts_touch': 'create trigger posts_touch after update on posts begin update posts set updated_at = current_timestamp where id = new.id; end',
      });
      // The UNIQUE constraints' auto-indexes and SQLite's own tables are not objects of their own.
      expect(Object.keys(objects).filter((key) => key.includes('sqlite_'))).toEqual([]);
    } else {
      const pgcrypto = (await db.query("SELECT 1 FROM pg_available_extensions WHERE name = 'pgcrypto'")).length > 0;
      expect(objects).toMatchObject({
        'schema app': 'schema',
        'enum order_state': "'pending', 'paid', 'shipped'",
        'sequence invoice_numbers': 'bigint start 1000 increment 10 min 1 max 9223372036854775807 cache 1',
        'sequence posts_id_seq': 'integer start 1 increment 1 min 1 max 2147483647 cache 1 owned by posts.id',
        'sequence users_id_seq': 'bigint start 1 increment 1 min 1 max 9223372036854775807 cache 1 owned by users.id (identity)',
        'table app.orders': 'table',
        'columns app.orders': 'id, state, user_id, invoice',
        'column app.orders.state': "order_state not null default 'pending'::order_state",
        'column users.id': 'bigint not null generated always as identity',
        'column users.name': 'character varying(100)',
        'column users.status': "text not null default 'active'::text",
        'column users.email_lower': 'text generated always as (lower(email)) stored',
        'primary key users': 'constraint users_pkey PRIMARY KEY (id)',
        'unique users (email)': 'constraint users_email_key UNIQUE (email)',
        'foreign key posts (user_id)': 'constraint posts_user_id_fkey (user_id) → users (id) on delete cascade on update no action',
        'foreign key app.orders (user_id)': 'constraint orders_user_id_fkey (user_id) → users (id) on delete no action on update no action',
        'check users users_age_check': 'CHECK ((age >= 0))',
        'index posts_published_idx': 'CREATE INDEX posts_published_idx ON public.posts USING btree (user_id) WHERE published',
        'index users_email_lower_idx': 'CREATE INDEX users_email_lower_idx ON public.users USING btree (lower(email))',
        'index app.orders_state_idx': 'CREATE INDEX orders_state_idx ON app.orders USING btree (state)',
        'view active_users': "SELECT users.id, users.email FROM users WHERE users.status = 'active'::text",
        'trigger posts_touch on posts': 'CREATE TRIGGER posts_touch BEFORE UPDATE ON public.posts FOR EACH ROW EXECUTE FUNCTION touch()',
        'function touch()':
          'CREATE OR REPLACE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $function$ BEGIN NEW.updated_at := now(); RETURN NEW; END $function$',
      });
      if (pgcrypto) expect(objects['extension pgcrypto']).toBe('schema public');
      // Indexes behind constraints are the constraints' business; pgcrypto's functions are the extension's.
      expect(objects['index users_pkey']).toBeUndefined();
      expect(objects['index users_email_key']).toBeUndefined();
      expect(Object.keys(objects).filter((key) => key.startsWith('function ') && key !== 'function touch()')).toEqual([]);
    }
  });

  it('shows a dropped index as exactly one removed line', async () => {
    const db = current();
    await build(db);
    const before = await snapshotOf(db);
    await execute(db, ['DROP INDEX users_email_lower_idx']);
    const differences = diffSnapshots(before, await snapshotOf(db));
    expect(differences).toEqual([{ key: 'index users_email_lower_idx', kind: 'removed', before: before.objects['index users_email_lower_idx'], after: null }]);
    expect(formatDifference(differences[0]!)).toBe(
      kind === 'sqlite'
        ? '- index users_email_lower_idx: create index users_email_lower_idx on users(lower(email))'
        : '- index users_email_lower_idx: CREATE INDEX users_email_lower_idx ON public.users USING btree (lower(email))',
    );
  });

  it('shows an added column as one added column plus the changed column order', async () => {
    const db = current();
    await build(db);
    const before = await snapshotOf(db);
    await execute(db, ['ALTER TABLE users ADD COLUMN phone text']);
    const differences = diffSnapshots(before, await snapshotOf(db));
    expect(differences.map(formatDifference)).toEqual([
      '+ column users.phone: text',
      '~ columns users: id, email, name, age, status, created_at, email_lower → id, email, name, age, status, created_at, email_lower, phone',
    ]);
  });

  it('shows a changed default as one changed column', async () => {
    const db = current();
    await build(db);
    const before = await snapshotOf(db);
    if (kind === 'sqlite') {
      // SQLite cannot alter a default: rebuild the table, as a migration would.
      await execute(db, [
        "CREATE TABLE tags_new (id INTEGER PRIMARY KEY, label TEXT NOT NULL DEFAULT 'fresh')",
        'INSERT INTO tags_new SELECT * FROM tags',
        'DROP TABLE tags',
        'ALTER TABLE tags_new RENAME TO tags',
      ]);
      expect(diffSnapshots(before, await snapshotOf(db)).map(formatDifference)).toEqual([
        "~ column tags.label: text not null default 'new' → text not null default 'fresh'",
      ]);
    } else {
      await execute(db, ["ALTER TABLE users ALTER COLUMN status SET DEFAULT 'pending'"]);
      expect(diffSnapshots(before, await snapshotOf(db)).map(formatDifference)).toEqual([
        "~ column users.status: text not null default 'active'::text → text not null default 'pending'::text",
      ]);
    }
  });

  it('sees a column dropped and added back as one change of order', async () => {
    const db = current();
    await build(db);
    const before = await snapshotOf(db);
    await execute(db, ['ALTER TABLE users DROP COLUMN name', `ALTER TABLE users ADD COLUMN name ${kind === 'sqlite' ? 'TEXT' : 'varchar(100)'}`]);
    expect(diffSnapshots(before, await snapshotOf(db)).map(formatDifference)).toEqual([
      '~ columns users: id, email, name, age, status, created_at, email_lower → id, email, age, status, created_at, email_lower, name',
    ]);
  });

  if (kind === 'postgres') {
    it('reads the same whatever search_path the connection has, and puts it back', async () => {
      const db = current();
      await build(db);
      const expected = await snapshotOf(db);
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        await client.query('SET search_path = app, public');
        // `cairn_migrations` resolves through the caller's search_path, as Cairn resolves its history table.
        expect(await introspectPostgres(client, { exclude: EXCLUDE })).toEqual(expected);
        expect((await client.query('SHOW search_path')).rows[0].search_path).toBe('app, public');
      } finally {
        await client.end();
      }
    });
  }

  it('leaves out the excluded tables with everything they own', async () => {
    const db = current();
    await build(db);
    const everything = await snapshotOf(db, []);
    expect(Object.keys(everything.objects).some((key) => key.includes('cairn_migrations'))).toBe(true);

    const { objects } = await snapshotOf(db);
    const mentions = Object.entries(objects).filter(([key, description]) => /cairn_(migrations|history)|cairn_touch/.test(`${key} ${description}`));
    expect(mentions).toEqual([]);
    // And the difference is only theirs.
    const differences = diffSnapshots(await snapshotOf(db), everything);
    expect(differences.every((d) => d.kind === 'added' && /cairn_(migrations|history)|cairn_touch/.test(`${d.key} ${d.after}`))).toBe(true);
  });
});

describe('SQLite introspection details', () => {
  const snapshot = async (statements: string, exclude: readonly string[] = []) => {
    const db = new Database(':memory:');
    try {
      db.exec(statements);
      return (await introspectSqlite(queryOf(db), { exclude })).objects;
    } finally {
      db.close();
    }
  };

  it('reads CHECK clauses past strings, comments and quoted names that look like syntax', async () => {
    const objects = await snapshot(`CREATE TABLE "odd table" (
      "a,b" TEXT CHECK ("a,b" <> 'CHECK (x'), -- CHECK (not this one)
      c INTEGER /* CHECK (nor this) */ CONSTRAINT c_positive CHECK (c > 0) COLLATE NOCASE,
      d TEXT DEFAULT ')',
      CHECK (length(d) < 10 AND (c IS NULL OR c < 5))
    )`);
    expect(Object.entries(objects).filter(([key]) => key.startsWith('check '))).toEqual([
      ['check odd table "a,b" <> \'CHECK (x\'', 'check ("a,b" <> \'CHECK (x\')'],
      ['check odd table c_positive', 'constraint c_positive check (c > 0)'],
      ['check odd table length(d) < 10 and (c is null or c < 5)', 'check (length(d) < 10 and (c is null or c < 5))'],
    ]);
    expect(objects['column odd table.c']).toBe('integer collate nocase');
    expect(objects['column odd table.d']).toBe("text default ')'");
  });

  it('normalizes spelling that SQLite ignores: case, quoting, spacing, comments', async () => {
    const one = await snapshot('CREATE TABLE t (a INTEGER, b TEXT); CREATE INDEX i ON t (a, lower(b)) WHERE a > -1');
    const two = await snapshot('create table "T" ("A" integer, [B] text); create   index "i" on t(a,LOWER( "b" )) /* partial */ where A>-1');
    expect(one['index i']).toBe('create index i on t(a, lower(b)) where a > -1');
    expect(two['index i']).toBe(one['index i']);
    // Names in keys stay as SQLite stores them: renaming `t` to `T` is a change worth seeing.
    expect(two).toMatchObject({ 'table T': 'table', 'columns T': 'A, B', 'column T.A': 'integer', 'column T.B': 'text' });
    expect(normalizeSql("SELECT  x'AB', \"two words\",  'Keep  Case' FROM [t]")).toBe(`select x'AB', "two words", 'Keep  Case' from t`);
  });

  it('groups multi-column foreign keys, resolves REFERENCES without columns, and reads table options', async () => {
    const objects = await snapshot(`
      CREATE TABLE pairs (a INTEGER, b INTEGER, PRIMARY KEY (a, b)) WITHOUT ROWID, STRICT;
      CREATE TABLE refs (x INTEGER, y INTEGER, z INTEGER REFERENCES pairs, FOREIGN KEY (x, y) REFERENCES pairs (a, b) ON UPDATE SET NULL);
    `);
    expect(objects['table pairs']).toBe('table without rowid, strict');
    expect(objects['primary key pairs']).toBe('primary key (a, b)');
    expect(objects['foreign key refs (x, y)']).toBe('(x, y) → pairs (a, b) on delete no action on update set null');
    expect(objects['foreign key refs (z)']).toBe('(z) → pairs on delete no action on update no action'); // one column cannot match a two-column key
  });

  it('stands a virtual table for its shadow tables', async () => {
    const objects = await snapshot('CREATE VIRTUAL TABLE docs USING fts5(title, body)');
    expect(Object.keys(objects).filter((key) => key.startsWith('table '))).toEqual(['table docs']);
    expect(objects['table docs']).toBe('virtual table using fts5(title, body)');
  });

  it('matches excluded names without regard to case or a main. prefix', async () => {
    const objects = await snapshot('CREATE TABLE History (v TEXT); CREATE INDEX history_v ON History (v); CREATE TABLE keep (v TEXT)', ['main.history']);
    expect(Object.keys(objects)).toEqual(['column keep.v', 'columns keep', 'table keep']);
  });
});
