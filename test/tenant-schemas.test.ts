import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresUnavailable, REQUIRE_PG, runCli, tempDir, writeMigrations, type TestDatabase } from './support/databases.js';

/**
 * Schema-per-tenant on a real PostgreSQL server (`postgres://…?schema=t1`):
 * drift, dump and fleet verify read the tenant's schema as the database it
 * stands for, not the whole server database with `public` as home.
 */

/** Objects whose definitions the server prints schema-qualified (index, trigger, function) or not (view, default, foreign key). */
const MIGRATIONS: Record<string, string> = {
  '0001_create_users.sql': `-- migrate:up
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL, n serial, feeling mood);
CREATE INDEX users_email ON users (lower(email));
-- migrate:down
DROP TABLE users;
DROP TYPE mood;
`,
  '0002_create_posts.sql': `-- migrate:up
CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION touch();
CREATE VIEW emails AS SELECT email FROM users;
-- migrate:down
DROP VIEW emails;
DROP TABLE posts;
DROP FUNCTION touch();
`,
};

describe('schema-per-tenant PostgreSQL (?schema=): drift, dump and fleet verify', () => {
  let unavailable: string | null = null;
  const dropped: TestDatabase[] = [];
  beforeAll(async () => {
    unavailable = await postgresUnavailable();
    if (unavailable && REQUIRE_PG) throw new Error(`PostgreSQL is required (CAIRN_REQUIRE_PG=1) but unreachable: ${unavailable}`);
  });
  beforeEach((context) => {
    if (unavailable) context.skip();
  });
  afterEach(async () => {
    for (const db of dropped.splice(0)) await db.drop();
  });

  async function tenants(): Promise<{ dir: string; server: TestDatabase; url: (schema: string) => string }> {
    const server = await createPostgresDatabase();
    dropped.push(server);
    // public has a table of its own: not any tenant's.
    await server.query('CREATE SCHEMA t1; CREATE SCHEMA t2; CREATE TABLE public.shared (id int PRIMARY KEY)');
    const dir = tempDir('cairn-tenant-schemas-');
    writeMigrations(dir, MIGRATIONS);
    writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ lint: { dialect: 'postgres' }, fleet: { tenants: { url: server.url, schemas: 't_' } } }));
    const url = (schema: string) => `${server.url}?schema=${schema}`;
    for (const schema of ['t1', 't2']) expect(runCli(['up', '--url', url(schema)], { cwd: dir }).status).toBe(0);
    return { dir, server, url };
  }

  it('a migrated tenant has no drift; a change made by hand in one tenant is that tenant\'s drift alone', async () => {
    const { dir, server, url } = await tenants();
    for (const schema of ['t1', 't2']) {
      const clean = runCli(['drift', '--url', url(schema)], { cwd: dir });
      expect(clean.stdout, clean.stderr).toMatch(/^No drift: .*\?schema=t[12] has exactly the schema its 2 applied migrations produce/);
      expect(clean.status).toBe(0);
    }
    await server.query('CREATE INDEX by_feeling ON t2.users (feeling)');
    const t2 = runCli(['drift', '--url', url('t2'), '--json'], { cwd: dir });
    expect(t2.status).toBe(3);
    expect((JSON.parse(t2.stdout) as { differences: { key: string; kind: string }[] }).differences.map((d) => `${d.kind} ${d.key}`)).toEqual(['added index by_feeling']);
    expect(runCli(['drift', '--url', url('t1')], { cwd: dir }).status).toBe(0);
  });

  it('each tenant dumps the same text as an ordinary database given the same migrations: its schema only, written as public', async () => {
    const { dir, url } = await tenants();
    const plain = await createPostgresDatabase();
    dropped.push(plain);
    expect(runCli(['up', '--url', plain.url], { cwd: dir }).status).toBe(0);
    const dump = (target: string, file: string) => {
      expect(runCli(['dump', '--url', target, '--output', file], { cwd: dir }).status).toBe(0);
      return readFileSync(join(dir, file), 'utf8');
    };
    const [t1, t2, ordinary] = [dump(url('t1'), 't1.sql'), dump(url('t2'), 't2.sql'), dump(plain.url, 'plain.sql')];
    expect(t1).toBe(ordinary);
    expect(t2).toBe(ordinary);
    expect(t1).not.toMatch(/\bt[12]\.|CREATE SCHEMA|shared|cairn_migrations/);
    expect(t1).toMatch(/CREATE INDEX users_email ON public\.users USING btree \(lower\(email\)\);/);
  });

  it('a tenant schema whose name needs quoting ("Acme-Co") reads the same way', async () => {
    const { dir, server } = await tenants();
    await server.query('CREATE SCHEMA "Acme-Co"');
    const acme = `${server.url}?schema=Acme-Co`;
    expect(runCli(['up', '--url', acme], { cwd: dir }).status).toBe(0);
    const drift = runCli(['drift', '--url', acme], { cwd: dir });
    expect([drift.status, drift.stdout]).toEqual([0, expect.stringMatching(/^No drift/)]);
    expect(runCli(['dump', '--url', acme, '--output', 'acme.sql'], { cwd: dir }).status).toBe(0);
    expect(runCli(['dump', '--url', `${server.url}?schema=t1`, '--output', 't1.sql'], { cwd: dir }).status).toBe(0);
    expect(readFileSync(join(dir, 'acme.sql'), 'utf8')).toBe(readFileSync(join(dir, 't1.sql'), 'utf8'));
  });

  it('fleet verify over the tenant schemas: the history once, then each schema against its own history', async () => {
    const { dir, server } = await tenants();
    const clean = runCli(['fleet', 'verify', '--json'], { cwd: dir });
    expect(clean.status, clean.stdout + clean.stderr).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ ok: true, history: [{ engine: 'postgres', targets: 2 }], counts: { 'in-sync': 2, drifted: 0 } });

    await server.query('ALTER TABLE t1.posts ADD COLUMN body text');
    const drifted = runCli(['fleet', 'verify', '--no-history', '--keep-going'], { cwd: dir });
    expect(drifted.status).toBe(3);
    expect(drifted.stdout).toMatch(/Drifted .*:\n\s+\S+\?schema=t1\n\s+\+ column posts\.body: text/);
    expect(drifted.stdout).toMatch(/in-sync\s+1\n\s+drifted\s+1\n/);
  });

  it('fleet down --to over tenant schemas and a list of databases: each rolled back in its own schema, each down once; again: unchanged', async () => {
    const { dir, server } = await tenants();
    const region = await createPostgresDatabase();
    dropped.push(region);
    writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ lint: { dialect: 'postgres' }, fleet: { tenants: { url: server.url, schemas: 't_' }, regions: [region.url] } }));
    expect(runCli(['fleet', 'up'], { cwd: dir }).status).toBe(0);

    const down = runCli(['fleet', 'down', '--to', '0001', '--json'], { cwd: dir });
    expect(down.status, down.stderr).toBe(0);
    const result = JSON.parse(down.stdout) as { counts: Record<string, number>; targets: { target: string; rolledBack: string[] }[] };
    expect(result.counts).toEqual({ 'rolled-back': 3, unchanged: 0, failed: 0, 'not-started': 0 });
    expect(result.targets.map((t) => t.rolledBack)).toEqual([['0002_create_posts'], ['0002_create_posts'], ['0002_create_posts']]);
    for (const schema of ['t1', 't2']) {
      expect(await server.query(`SELECT version FROM ${schema}.cairn_migrations WHERE state = 'applied' ORDER BY version`)).toEqual([{ version: '0001' }]);
      expect(await server.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = '${schema}' AND tablename = 'posts'`)).toEqual([{ n: 0 }]);
    }
    expect(await region.query('SELECT to_regclass(\'posts\') IS NULL AS gone')).toEqual([{ gone: true }]);
    // public's own table was never any tenant's.
    expect(await server.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'")).toEqual([{ n: 1 }]);
    expect(runCli(['fleet', 'down', '--to', '0001'], { cwd: dir }).stdout).toMatch(/unchanged\s+3\n/);
    expect(runCli(['fleet', 'verify'], { cwd: dir }).status).toBe(0);
  });
});
