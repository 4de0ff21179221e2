import { expect } from 'vitest';
import { createCairn } from '../src/index.js';
import { runCli, tempDir, writeMigrations } from './support/databases.js';
import { describeEachDatabase, it } from './support/each-database.js';

/** cairn drift on real engines: hand-made changes show up against the replayed migrations. */
const FILES = {
  '0001_create_users.sql': `-- migrate:up
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, nickname TEXT, plan TEXT NOT NULL DEFAULT 'free');
-- migrate:down
DROP TABLE users;
`,
  '0002_create_posts.sql': `-- migrate:up
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), title TEXT NOT NULL);
-- migrate:down
DROP TABLE posts;
`,
};

describeEachDatabase('cairn drift', (current, kind) => {
  const setup = async () => {
    const root = tempDir();
    const dir = writeMigrations(root, FILES);
    const cairn = createCairn({ url: current().url, dir, cwd: root, envVars: {} });
    await cairn.up();
    return { root, cairn };
  };

  it('finds no drift on a database built by its migrations', async () => {
    const { cairn } = await setup();
    expect(await cairn.drift()).toMatchObject({ drifted: false, replayed: 2, differences: [] });
  });

  it('lists a hand-made index and a column dropped by hand, and exits 3', async () => {
    const { cairn, root } = await setup();
    await current().query('CREATE INDEX posts_title_by_hand ON posts (title)');
    await current().query('ALTER TABLE users DROP COLUMN nickname');
    const report = await cairn.drift();
    expect(report.drifted).toBe(true);
    const lines = report.differences.map((d) => `${d.kind} ${d.key}`);
    expect(lines).toContain('added index posts_title_by_hand');
    expect(lines).toContain('removed column users.nickname');
    const cli = runCli(['drift', '--url', current().url], { cwd: root });
    expect(cli.status).toBe(3);
    expect(cli.stdout).toContain('+ index posts_title_by_hand');
    expect(cli.stdout).toContain('- column users.nickname');
  });

  // SQLite cannot change a default in place, so this one is PostgreSQL's.
  if (kind === 'postgres') it('sees a changed default', async () => {
    const { cairn } = await setup();
    await current().query("ALTER TABLE users ALTER COLUMN plan SET DEFAULT 'trial'");
    const report = await cairn.drift();
    expect(report.differences).toEqual([expect.objectContaining({ kind: 'changed', key: 'column users.plan' })]);
    expect(report.differences[0]!.after).toContain("'trial'");
  });
});
