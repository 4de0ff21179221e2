import { join } from 'node:path';
import { expect } from 'vitest';
import { createCairn } from '../src/index.js';
import { runCli, tempDir, writeMigrations } from './support/databases.js';
import { CREATE_USERS } from './support/fixtures.js';
import { describeEachDatabase, it } from './support/each-database.js';

/**
 * A database built before Cairn (tables, no history) must not get every
 * migration replayed from 0001: `up` refuses and points at `cairn baseline`.
 */
const ADD_POSTS = '-- migrate:up\nCREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);\n-- migrate:down\nDROP TABLE posts;\n';

describeEachDatabase(
  'up on a database with tables and no history',
  (current, kind) => {
    const project = () => {
      const root = tempDir();
      const dir = writeMigrations(root, { '0001_create_users.sql': CREATE_USERS, '0002_create_posts.sql': ADD_POSTS });
      return { root, dir, cairn: createCairn({ url: current().url, dir, cwd: root, envVars: {} }) };
    };
    const recorded = async () => (await current().query<{ version: string }>('SELECT version FROM cairn_migrations ORDER BY version')).map((row) => row.version);

    it('refuses with NON_EMPTY_DATABASE naming the tables; nothing applied', async () => {
      await current().query('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)');
      await current().query("INSERT INTO users (id, email) VALUES (1, 'ada@example.com')");
      const { cairn } = project();
      const refusal = await cairn.up().catch((error: unknown) => error);
      expect(refusal).toMatchObject({ code: 'NON_EMPTY_DATABASE', exitCode: 6, details: { tables: ['users'] } });
      expect((refusal as Error).message).toContain('already has 1 table (users) but no migration history');
      expect((refusal as { hint: string }).hint).toContain('cairn baseline --to <version>');
      expect(await recorded()).toEqual([]);
      expect(await current().query('SELECT email FROM users')).toEqual([{ email: 'ada@example.com' }]);

      // A dry run shows the plan and says what a real run would do.
      const notices: string[] = [];
      const dry = await createCairn({ url: current().url, dir: join(project().root, 'migrations'), envVars: {}, onEvent: (e) => e.type === 'notice' && notices.push(e.message) }).up({ dryRun: true });
      expect(dry.plan).toHaveLength(2);
      expect(notices.join('\n')).toContain('a real run refuses (NON_EMPTY_DATABASE)');

      // baseline, then up applies only what follows.
      await cairn.baseline({ to: '0001' });
      expect((await cairn.up()).applied.map((step) => step.version)).toEqual(['0002']);
    });

    it('--allow-non-empty runs every migration anyway', async () => {
      await current().query('CREATE TABLE legacy (id INTEGER PRIMARY KEY)');
      const { cairn } = project();
      expect((await cairn.up({ allowNonEmpty: true })).applied.map((step) => step.version)).toEqual(['0001', '0002']);
    });

    it("counts wrangler's d1_migrations as history", async () => {
      await current().query('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)');
      await current().query("CREATE UNIQUE INDEX users_email ON users (email)");
      await current().query(
        kind === 'postgres'
          ? 'CREATE TABLE d1_migrations (id SERIAL PRIMARY KEY, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)'
          : 'CREATE TABLE d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)',
      );
      await current().query("INSERT INTO d1_migrations (name) VALUES ('0001_create_users.sql')");
      const { cairn } = project();
      expect((await cairn.up()).applied.map((step) => step.version)).toEqual(['0002']);
    });

    it('the CLI exits 6 and says how to adopt the database', async () => {
      await current().query('CREATE TABLE legacy (id INTEGER PRIMARY KEY)');
      const { root } = project();
      const refused = runCli(['up', '--url', current().url], { cwd: root });
      expect(refused.status).toBe(6);
      expect(refused.stderr).toContain('cairn baseline');
      expect(refused.stderr).toContain('--allow-non-empty');
      const json = runCli(['up', '--url', current().url, '--json'], { cwd: root });
      expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'NON_EMPTY_DATABASE', details: { tables: ['legacy'] } });
      expect(runCli(['up', '--url', current().url, '--allow-non-empty'], { cwd: root }).status).toBe(0);
    });
  },
  { d1: true },
);
