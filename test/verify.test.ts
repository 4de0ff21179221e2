import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parseDatabaseUrl } from '../src/config/url.js';
import { createScratchDatabase, openDriver } from '../src/drivers/index.js';
import { createCairn } from '../src/index.js';
import { runCli, tempDir, writeMigrations } from './support/databases.js';
import { CREATE_USERS } from './support/fixtures.js';
import { describeEachDatabase, it } from './support/each-database.js';

/** cairn verify on real engines: a scratch database is made, used and dropped; the configured one is never touched. */
const USERS = CREATE_USERS;
const POSTS = `-- migrate:up
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), status TEXT NOT NULL DEFAULT 'draft');
CREATE INDEX posts_status ON posts (status);
-- migrate:down
DROP INDEX posts_status;
DROP TABLE posts;
`;

describeEachDatabase('cairn verify', (current, kind) => {
  const verifyIn = (files: Record<string, string>, options: { generated?: boolean; bail?: boolean } = {}) => {
    const root = tempDir();
    const dir = writeMigrations(root, files);
    return createCairn({ url: current().url, dir, cwd: root, envVars: {} }).verify(options);
  };

  it('passes downs that undo their ups, and leaves the configured database untouched', async () => {
    const report = await verifyIn({ '0001_create_users.sql': USERS, '0002_create_posts.sql': POSTS });
    expect(report.ok).toBe(true);
    expect(report.migrations.map((m) => [m.version, m.ok, m.down, m.steps.join(',')])).toEqual([
      ['0001', true, 'verified', 'up,down,up'],
      ['0002', true, 'verified', 'up,down,up'],
    ]);
    expect(report.scratch).toContain('(scratch)');
    const tables =
      current().kind === 'sqlite'
        ? await current().query("SELECT name FROM sqlite_master WHERE type = 'table'")
        : await current().query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
    expect(tables).toEqual([]);
  });

  it('fails a down that forgets an index, with the difference', async () => {
    const forgetful = `-- migrate:up
ALTER TABLE users ADD COLUMN phone TEXT;
CREATE INDEX users_phone ON users (phone);
-- migrate:down
ALTER TABLE users DROP COLUMN phone;
`;
    const report = await verifyIn({ '0001_create_users.sql': USERS, '0002_add_phone.sql': forgetful.replace('ALTER TABLE users DROP COLUMN phone;', 'DROP INDEX users_phone;') });
    expect(report.ok).toBe(false);
    const failed = report.migrations[1]!;
    expect(failed).toMatchObject({ version: '0002', ok: false, down: 'failed' });
    expect(failed.problems[0]!.message).toBe('down does not restore the schema from before up');
    expect(failed.problems[0]!.differences.map((d) => [d.kind, d.key])).toContainEqual(['added', 'column users.phone']);
  });

  it('reports an up that fails with its file and line, and stops there', async () => {
    const broken = '-- migrate:up\nCREATE TABLE a (id INTEGER);\nINSERT INTO nowhere VALUES (1);\n';
    const report = await verifyIn({ '0001_create_users.sql': USERS, '0002_broken.sql': broken, '0003_create_posts.sql': POSTS });
    expect(report.ok).toBe(false);
    expect(report.migrations[1]!.problems[0]!.message).toMatch(/^up fails at migrations\/0002_broken.sql:3: .*nowhere/);
    expect(report.notReached).toEqual(['0003']);
  });

  // On a PostgreSQL scratch a step's statements go to the server together (drivers/postgres/statements.ts: batchedAtomic); a failure is still located one by one.
  it('locates a failure in any step: a later statement, a line inside it, a down, after statements that end in comments', async () => {
    const up = "-- migrate:up\nCREATE TABLE a (id INTEGER); -- a comment after the statement\nINSERT INTO a VALUES (1) -- and one before its semicolon\n;\nINSERT INTO a\n  SELECT id FROM nowhere;\n";
    const upReport = await verifyIn({ '0001_create_users.sql': USERS, '0002_broken.sql': up });
    // PostgreSQL gives the position of `nowhere` (line 6); SQLite only names the statement (line 5).
    expect(upReport.migrations[1]!.problems[0]!.message).toMatch(new RegExp(`^up fails at migrations/0002_broken.sql:${kind === 'postgres' ? 6 : 5}: .*nowhere`));
    expect(upReport.migrations[1]!.steps).toEqual(['up']);

    // Neither engine gives a position for a missing table in DROP: the statement's first line.
    const down = "-- migrate:up\nCREATE TABLE b (id INTEGER); -- made\n-- migrate:down\nDROP TABLE b; -- gone\nDROP TABLE\n  nowhere;\n";
    const downReport = await verifyIn({ '0001_create_users.sql': USERS, '0002_broken_down.sql': down, '0003_create_posts.sql': POSTS });
    expect(downReport.migrations[1]!.problems[0]!.message).toMatch(/^down fails at migrations\/0002_broken_down.sql:5: .*nowhere/);
    expect(downReport.migrations.map((m) => [m.version, m.ok])).toEqual([['0001', true], ['0002', false], ['0003', true]]);

    // The same files without the mistakes pass: the rolled-back attempt left nothing behind.
    const fixed = await verifyIn({ '0001_create_users.sql': USERS, '0002_fixed.sql': up.replace('nowhere', 'a'), '0003_create_posts.sql': POSTS });
    expect(fixed.migrations.map((m) => [m.version, m.ok])).toEqual([['0001', true], ['0002', true], ['0003', true]]);
  });

  it('goes on after a failing down (rolled back) and reports every failure in one run; --bail stops at the first', async () => {
    const brokenDown = (table: string) => `-- migrate:up\nCREATE TABLE ${table} (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE ${table};\nDROP TABLE nowhere_${table};\n`;
    const leavesTable = '-- migrate:up\nCREATE TABLE IF NOT EXISTS c (id INTEGER);\n-- migrate:down\nSELECT 1;\n';
    const files = {
      '0001_create_users.sql': USERS,
      '0002_create_a.sql': brokenDown('a'),
      '0003_create_c.sql': leavesTable,
      '0004_create_b.sql': brokenDown('b'),
      '0005_create_posts.sql': POSTS.replace('posts (id', 'posts (a_id INTEGER REFERENCES a (id), b_id INTEGER REFERENCES b (id), id'),
    };
    const report = await verifyIn(files);
    expect(report.migrations.map((m) => [m.version, m.ok, m.problems.map((p) => p.kind).join(',')])).toEqual([
      ['0001', true, ''],
      ['0002', false, 'down-fails'],
      ['0003', false, 'down-differs'],
      ['0004', false, 'down-fails'],
      ['0005', true, ''],
    ]);
    expect(report.summary).toEqual({ total: 5, checked: 5, ok: 2, failed: 3, notReached: 0, problems: { 'down-fails': 2, 'down-differs': 1 } });

    const bailed = await verifyIn(files, { bail: true });
    expect(bailed.migrations.map((m) => m.version)).toEqual(['0001', '0002']);
    expect(bailed.summary).toEqual({ total: 5, checked: 2, ok: 1, failed: 1, notReached: 3, problems: { 'down-fails': 1 } });

    const root = tempDir();
    writeMigrations(root, files);
    const env = { DATABASE_URL: current().url };
    const cli = runCli(['verify'], { cwd: root, env });
    expect(cli.status).toBe(1);
    expect(cli.stdout).toMatch(/✗ 0004_create_b +up, down\n +down fails at migrations\/0004_create_b.sql:5: .*nowhere_b/);
    expect(cli.stdout).toContain('Checked 5 of 5: 2 ok, 3 failed (down fails: 2, down does not restore the schema: 1), 0 not reached.');
    const json = JSON.parse(runCli(['verify', '--json'], { cwd: root, env }).stdout);
    expect(json).toMatchObject({ ok: false, summary: report.summary });
    const bailCli = runCli(['verify', '--bail'], { cwd: root, env });
    expect(bailCli.stdout).toContain('not replayed after that failure: 0003, 0004, 0005');
    expect(bailCli.stdout).toContain('Checked 2 of 5: 1 ok, 1 failed (down fails: 1), 3 not reached.');
  });

  it('tells a down that is not needed (additive) from one that is missing, and runs idempotent files twice', async () => {
    const additive = 'CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);\n';
    const destructive = "-- migrate:up\n-- cairn:allow unbatched-data-change test data\nDELETE FROM users;\n";
    const idempotent = '-- cairn:idempotent\n-- migrate:up\nCREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY);\n';
    const notIdempotent = '-- cairn:idempotent\n-- migrate:up\nCREATE TABLE audit (id INTEGER PRIMARY KEY);\n';
    // Without generated downs (test/generated-down.test.ts covers those), as a team that turns them off sees it.
    const files = { '0001_create_users.sql': USERS, '0002_create_tags.sql': additive, '0003_clear_users.sql': destructive, '0004_create_notes.sql': idempotent, '0005_create_audit.sql': notIdempotent };
    const report = await verifyIn(files, { generated: false });
    expect(report.migrations.map((m) => [m.version, m.ok, m.down])).toEqual([
      ['0001', true, 'verified'],
      ['0002', true, 'not-needed'],
      ['0003', true, 'missing'],
      ['0004', true, 'not-needed'],
      ['0005', false, 'not-needed'],
    ]);
    expect(report.migrations[3]!.steps).toEqual(['up', 'up again']);
    expect(report.migrations[4]!.problems[0]!.message).toMatch(/^marked -- cairn:idempotent, but a second up fails: .*audit.*already exists/);
  });
});

describeEachDatabase('cairn verify with schema.sql and --from', (current) => {
  const TAGS = '-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);\n-- migrate:down\nDROP TABLE tags;\n';
  const project = () => {
    const root = tempDir();
    writeMigrations(root, { '0001_create_users.sql': USERS, '0002_create_posts.sql': POSTS, '0003_create_tags.sql': TAGS });
    return { root, env: { DATABASE_URL: current().url } };
  };

  it('passes when schema.sql matches the final schema, and fails with the differences when it does not', async () => {
    const { root, env } = project();
    expect(runCli(['up'], { cwd: root, env }).status).toBe(0);
    expect(runCli(['dump'], { cwd: root, env }).status).toBe(0);

    const ok = runCli(['verify'], { cwd: root, env });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/✓ schema\.sql matches the schema after the last migration/);

    // A fourth migration nobody dumped: the committed schema.sql is behind.
    writeFileSync(join(root, 'migrations', '0004_add_phone.sql'), '-- migrate:up\nALTER TABLE users ADD COLUMN phone TEXT;\n-- migrate:down\nALTER TABLE users DROP COLUMN phone;\n');
    const stale = runCli(['verify'], { cwd: root, env });
    expect(stale.status).toBe(1);
    expect(stale.stdout).toMatch(/✗ schema\.sql does not match the schema the migrations produce \(it is as of 0003_create_tags; the newest migration is 0004_add_phone\)/);
    expect(stale.stdout).toMatch(/- column users\.phone: /);
    expect(stale.stdout).toMatch(/run `cairn dump` against a database migrated to the newest version, or fix the migrations/);
    expect(stale.stdout).toMatch(/All 4 migrations verified, but schema\.sql does not match/);

    const json = JSON.parse(runCli(['verify', '--json'], { cwd: root, env }).stdout);
    expect(json.ok).toBe(false);
    expect(json.schema).toMatchObject({ file: 'schema.sql', ok: false, asOf: '0003_create_tags' });
    expect(json.schema.differences).toContainEqual(expect.objectContaining({ key: 'column users.phone', kind: 'removed' }));

    expect(runCli(['verify', '--no-schema'], { cwd: root, env }).status).toBe(0);
    const elsewhere = runCli(['verify', '--schema', 'nowhere.sql'], { cwd: root, env });
    expect(elsewhere.status).toBe(2);
    expect(elsewhere.stderr).toMatch(/--schema .*nowhere\.sql does not exist/);
  });

  it('--from applies the earlier migrations up only and verifies from there', async () => {
    const { root } = project();
    const report = await createCairn({ url: current().url, cwd: root, envVars: {} }).verify({ from: '0003' });
    expect(report.ok).toBe(true);
    expect(report.from).toEqual({ version: '0003', baseline: null, baselined: 0, applied: 2 });
    expect(report.migrations.map((m) => [m.version, m.steps.join(',')])).toEqual([['0003', 'up,down,up']]);
  });

  it('--from with --baseline starts from a dump and applies only what lies between', async () => {
    const { root, env } = project();
    expect(runCli(['up', '--to', '0001'], { cwd: root, env }).status).toBe(0);
    expect(runCli(['dump', '--output', 'baseline.sql'], { cwd: root, env }).status).toBe(0);
    expect(readFileSync(join(root, 'baseline.sql'), 'utf8')).toMatch(/^-- cairn: schema as of 0001_create_users\n/);

    const cli = runCli(['verify', '--from', '0003', '--baseline', 'baseline.sql'], { cwd: root, env });
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    expect(cli.stdout).toMatch(/from 0003: the 2 migrations before it brought in unverified \(baseline\.sql loaded, 1 recorded as baselined, then 1 applied up only\)/);
    expect(cli.stdout).toMatch(/✓ 0003_create_tags/);
    expect(cli.stdout).not.toMatch(/0002_create_posts/);

    const newer = runCli(['verify', '--from', '0001', '--baseline', 'baseline.sql'], { cwd: root, env });
    expect(newer.status).toBe(2);
    expect(newer.stderr).toMatch(/--baseline baseline\.sql is as of 0001_create_users, not older than --from 0001/);
  });

  it('refuses an unknown --from, naming the versions there are', async () => {
    const { root, env } = project();
    const result = runCli(['verify', '--from', '0042'], { cwd: root, env });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--from 0042: there is no migration with that version/);
    expect(result.stderr).toMatch(/known versions: 0001 … 0003/);
  });
});

it('says so, without the password, when the scratch database cannot be created', async () => {
  const root = tempDir();
  writeMigrations(root, { '0001_create_users.sql': USERS });
  const cairn = createCairn({ url: 'postgres://nobody:pw@127.0.0.1:1/none', dir: join(root, 'migrations'), cwd: root, envVars: {} });
  await expect(cairn.verify()).rejects.toMatchObject({ code: 'CONNECTION', message: expect.stringContaining('postgres://nobody:***@127.0.0.1:1/none') });
});

/**
 * What each comparison must still catch now that a replay re-reads only what
 * a step changed (PostgreSQL) and keeps its scratch database off the disk
 * (SQLite): every faulty migration comes after a history, so the schema
 * it is compared in was read piece by piece, not from scratch.
 */
describeEachDatabase('cairn verify catches what a down gets wrong, after a history', (current, kind) => {
  const pg = kind === 'postgres';
  const history: Record<string, string> = {
    '0001_create_users.sql': USERS,
    '0002_create_posts.sql': POSTS,
    '0003_create_published.sql': "-- migrate:up\nCREATE VIEW published AS SELECT id FROM posts WHERE status = 'published';\n-- migrate:down\nDROP VIEW published;\n",
    '0004_create_tags.sql': '-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);\n-- migrate:down\nDROP TABLE tags;\n',
  };
  const failing = async (name: string, migration: string, url = current().url) => {
    const root = tempDir();
    const dir = writeMigrations(root, { ...history, [name]: migration, '0099_create_notes.sql': '-- migrate:up\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE notes;\n' });
    const report = await createCairn({ url, dir, cwd: root, envVars: {} }).verify();
    expect(report.migrations.filter((m) => !m.ok).map((m) => m.version)).toEqual([name.slice(0, 4)]);
    const failed = report.migrations.find((m) => !m.ok)!;
    expect(failed.down).toBe('failed');
    expect(failed.problems[0]!.message).toBe('down does not restore the schema from before up');
    return failed.problems[0]!.differences.map((d) => [d.kind, d.key]);
  };

  // A role that may not create event triggers: each comparison finds what changed by scanning the catalogs (xmin) instead.
  if (pg) it('catches the same mistakes without superuser rights', async () => {
    await current().query("DO $$ BEGIN CREATE ROLE cairn_test_nosuper LOGIN CREATEDB; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    const url = new URL(current().url);
    url.username = 'cairn_test_nosuper';
    const index = 'CREATE TABLE labels (id INTEGER PRIMARY KEY, name TEXT);\nCREATE INDEX tags_label ON tags (label);';
    expect(await failing('0005_create_labels.sql', `-- migrate:up\n${index}\n-- migrate:down\nDROP TABLE labels;\n`, url.toString())).toContainEqual(['added', 'index tags_label']);
    const elsewhere = 'ALTER TABLE posts ALTER COLUMN status DROP DEFAULT;';
    expect(await failing('0005_create_labels.sql', `-- migrate:up\nCREATE TABLE labels (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE labels;\n${elsewhere}\n`, url.toString())).toEqual([['changed', 'column posts.status']]);
  });

  it('passes the same history when every down is right', async () => {
    const root = tempDir();
    const report = await createCairn({ url: current().url, dir: writeMigrations(root, history), cwd: root, envVars: {} }).verify();
    expect(report.migrations.map((m) => [m.version, m.down])).toEqual([
      ['0001', 'verified'],
      ['0002', 'verified'],
      ['0003', 'verified'],
      ['0004', 'verified'],
    ]);
  });

  it('a down that forgets an index', async () => {
    const up = 'CREATE TABLE labels (id INTEGER PRIMARY KEY, name TEXT);\nCREATE INDEX tags_label ON tags (label);';
    expect(await failing('0005_create_labels.sql', `-- migrate:up\n${up}\n-- migrate:down\nDROP TABLE labels;\n`)).toContainEqual(['added', 'index tags_label']);
  });

  it('a down that leaves a column', async () => {
    const migration = '-- migrate:up\nALTER TABLE users ADD COLUMN phone TEXT;\nALTER TABLE users ADD COLUMN fax TEXT;\n-- migrate:down\nALTER TABLE users DROP COLUMN fax;\n';
    expect(await failing('0005_add_phone.sql', migration)).toEqual([['added', 'column users.phone'], ['changed', 'columns users']]);
  });

  it('a down that changes an unrelated table', async () => {
    // PostgreSQL: drops a default elsewhere; SQLite (no ALTER COLUMN): drops an index elsewhere.
    const elsewhere = pg ? 'ALTER TABLE posts ALTER COLUMN status DROP DEFAULT;' : 'DROP INDEX posts_status;';
    const differences = await failing('0005_create_labels.sql', `-- migrate:up\nCREATE TABLE labels (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE labels;\n${elsewhere}\n`);
    expect(differences).toEqual([pg ? ['changed', 'column posts.status'] : ['removed', 'index posts_status']]);
  });

  it('a down that restores a different default', async () => {
    const rebuild = (fallback: string) =>
      pg
        ? `ALTER TABLE posts ALTER COLUMN status SET DEFAULT '${fallback}';`
        : `CREATE TABLE posts_new (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), status TEXT NOT NULL DEFAULT '${fallback}');
INSERT INTO posts_new SELECT id, user_id, status FROM posts;
DROP VIEW published;
DROP TABLE posts;
ALTER TABLE posts_new RENAME TO posts;
CREATE INDEX posts_status ON posts (status);
CREATE VIEW published AS SELECT id FROM posts WHERE status = 'published';`;
    const differences = await failing('0005_default_new.sql', `-- migrate:up\n${rebuild('new')}\n-- migrate:down\n${rebuild('drafted')}\n`);
    expect(differences).toContainEqual(['changed', 'column posts.status']);
  });

  it('a down that puts back a different view', async () => {
    const view = (columns: string, status: string) => `DROP VIEW published;\nCREATE VIEW published AS SELECT ${columns} FROM posts WHERE status = '${status}';`;
    const differences = await failing('0005_widen_published.sql', `-- migrate:up\n${view('id, user_id', 'published')}\n-- migrate:down\n${view('id', 'live')}\n`);
    expect(differences).toEqual([['changed', 'view published']]);
  });

  it('a down that forgets a trigger', async () => {
    const trigger = pg
      ? "CREATE FUNCTION note_post() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit (id) VALUES (NEW.id); RETURN NEW; END $$;\nCREATE TRIGGER posts_audit AFTER INSERT ON posts FOR EACH ROW EXECUTE FUNCTION note_post();"
      : 'CREATE TRIGGER posts_audit AFTER INSERT ON posts BEGIN INSERT INTO audit (id) VALUES (NEW.id); END;';
    const down = pg ? 'DROP TABLE audit;\nDROP FUNCTION note_post() CASCADE;\nCREATE FUNCTION note_post() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;' : 'DROP TABLE audit;';
    const differences = await failing('0005_audit_posts.sql', `-- migrate:up\nCREATE TABLE audit (id INTEGER PRIMARY KEY);\n${trigger}\n-- migrate:down\n${down}\n`);
    // PostgreSQL: the trigger went with CASCADE, and the function that stayed behind is another one.
    expect(differences).toEqual(pg ? [['added', 'function note_post()']] : [['added', 'trigger posts_audit']]);
  });

  // PostgreSQL only (functions): not registered for SQLite, rather than skipped.
  if (pg) it('a down that forgets a function', async () => {
    const fn = "CREATE FUNCTION answer() RETURNS integer LANGUAGE sql AS 'SELECT 42';";
    expect(await failing('0005_answer.sql', `-- migrate:up\nCREATE TABLE labels (id INTEGER PRIMARY KEY);\n${fn}\n-- migrate:down\nDROP TABLE labels;\n`)).toEqual([['added', 'function answer()']]);
  });

  // PostgreSQL only (DDL that depends on data needs a DO block): the second up must be compared with the first, not taken for it.
  if (pg) it('an up that gives another schema the second time', async () => {
    const root = tempDir();
    // A row the down leaves (data, not schema) decides whether the up creates the index.
    const up = `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM tags WHERE label = 'seen') THEN CREATE INDEX tags_label ON tags (label); END IF; END $$;
INSERT INTO tags (id, label) SELECT coalesce(max(id), 0) + 1, 'seen' FROM tags;`;
    const files = { ...history, '0005_once.sql': `-- migrate:up\n${up}\n-- migrate:down\nDROP INDEX IF EXISTS tags_label;\n`, '0006_create_notes.sql': '-- migrate:up\nCREATE TABLE notes (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE notes;\n' };
    const report = await createCairn({ url: current().url, dir: writeMigrations(root, files), cwd: root, envVars: {} }).verify();
    const once = report.migrations.find((m) => m.version === '0005')!;
    expect(once.problems.map((p) => [p.kind, p.differences.map((d) => [d.kind, d.key])])).toEqual([['redo-differs', [['removed', 'index tags_label']]]]);
    expect(report.migrations.find((m) => m.version === '0006')!.ok).toBe(true);
  });

  it('a down that renames a table others refer to back under another name', async () => {
    // The view and the foreign key name posts: SQLite rewrites their stored SQL in place on a rename (other rows of sqlite_master change).
    const renamed = await failing('0005_rename_posts.sql', '-- migrate:up\nALTER TABLE posts RENAME TO articles;\n-- migrate:down\nALTER TABLE articles RENAME TO articles_old;\n');
    expect(renamed).toContainEqual(['removed', 'table posts']);
    expect(renamed).toContainEqual(['added', 'table articles_old']);
    if (!pg) expect(renamed).toContainEqual(['changed', 'view published']);
  });

  it('passes renames that the down undoes, however many objects they rewrite', async () => {
    const root = tempDir();
    const renames = {
      ...history,
      '0005_rename_posts.sql': '-- migrate:up\nALTER TABLE posts RENAME TO articles;\nALTER TABLE articles RENAME COLUMN status TO state;\n-- migrate:down\nALTER TABLE articles RENAME COLUMN state TO status;\nALTER TABLE articles RENAME TO posts;\n',
    };
    const report = await createCairn({ url: current().url, dir: writeMigrations(root, renames), cwd: root, envVars: {} }).verify();
    expect(report.migrations.map((m) => [m.version, m.down, m.problems.map((p) => p.message)])).toContainEqual(['0005', 'verified', []]);
    expect(report.ok).toBe(true);
  });

  it('a down that renames a column back under another name', async () => {
    const migration = '-- migrate:up\nALTER TABLE tags RENAME COLUMN label TO name;\n-- migrate:down\nALTER TABLE tags RENAME COLUMN name TO title;\n';
    expect(await failing('0005_rename_label.sql', migration)).toEqual([['removed', 'column tags.label'], ['added', 'column tags.title'], ['changed', 'columns tags']]);
  });

  it('a down that leaves a view behind', async () => {
    const migration = "-- migrate:up\nCREATE TABLE labels (id INTEGER PRIMARY KEY);\nCREATE VIEW drafts AS SELECT id FROM posts WHERE status = 'draft';\n-- migrate:down\nDROP TABLE labels;\n";
    expect(await failing('0005_create_drafts.sql', migration)).toEqual([['added', 'view drafts']]);
  });

  it('a down that puts a table back with another definition under the same name', async () => {
    // SQLite gives the new table the row the dropped one had in sqlite_master: the same rowid, another text.
    const tags = (label: string) => `DROP TABLE tags;\nCREATE TABLE tags (id INTEGER PRIMARY KEY, ${label});`;
    const differences = await failing('0005_retag.sql', `-- migrate:up\n${tags('label TEXT NOT NULL')}\n-- migrate:down\n${tags('label VARCHAR(20)')}\n`);
    expect(differences).toEqual([['changed', 'column tags.label']]);
  });
});

describeEachDatabase('a scratch database dumps what cairn dump writes', (current) => {
  // PostgreSQL re-reads only what each step changed; the text must be the one a fresh dump gives, after any kind of change.
  it('after every step of a varied history', async () => {
    const scratch = await createScratchDatabase(parseDatabaseUrl(current().url, process.cwd()));
    const driver = await openDriver(scratch.url, { create: true });
    try {
      const postgres = current().kind === 'postgres';
      const steps = [
        'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, status TEXT DEFAULT \'new\')',
        'CREATE UNIQUE INDEX users_email ON users (email)',
        'CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), title TEXT)',
        "CREATE VIEW titles AS SELECT id, title FROM posts",
        'CREATE VIEW first_titles AS SELECT id FROM titles WHERE id < 10',
        'ALTER TABLE posts RENAME COLUMN title TO headline',
        'ALTER TABLE users RENAME TO people',
        'DROP INDEX users_email',
        'ALTER TABLE posts ADD COLUMN body TEXT',
        'DROP VIEW first_titles',
        ...(postgres
          ? [
              "ALTER TABLE people ALTER COLUMN status SET DEFAULT 'old'",
              'ALTER TABLE people ALTER COLUMN status DROP DEFAULT',
              'CREATE TABLE counters (id serial PRIMARY KEY, n integer GENERATED ALWAYS AS IDENTITY)',
              'ALTER SEQUENCE counters_id_seq RENAME TO counters_seq',
              'ALTER TABLE counters ALTER COLUMN n SET INCREMENT BY 5',
              "CREATE TYPE mood AS ENUM ('ok', 'sad')",
              'ALTER TABLE counters ADD COLUMN mood mood',
              'ALTER TYPE mood RENAME TO feeling',
              'CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$',
              'CREATE TRIGGER posts_touch BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION touch()',
              'ALTER TABLE posts DROP CONSTRAINT posts_user_id_fkey',
              'CREATE SCHEMA app',
              'ALTER TABLE counters SET SCHEMA app',
              'DROP TRIGGER posts_touch ON posts',
              'DROP TABLE app.counters',
              // What a change log (event triggers, when the user is a superuser) reports only in part.
              'CREATE TABLE owners (id integer PRIMARY KEY, name text)',
              'CREATE TABLE pets (id integer PRIMARY KEY, owner_id integer CONSTRAINT pets_owner REFERENCES owners (id), kind text CHECK (kind <> \'\'))',
              'CREATE INDEX pets_kind ON pets (kind)',
              'CREATE VIEW owner_names AS SELECT id, name FROM owners',
              'CREATE VIEW owner_names_short AS SELECT id FROM owner_names WHERE length(name) < 5',
              'DROP TABLE owners CASCADE',
              'ALTER INDEX pets_kind RENAME TO pets_by_kind',
              'DROP INDEX pets_by_kind',
              'ALTER TABLE pets RENAME CONSTRAINT pets_kind_check TO pets_kind_nonempty',
              "CREATE TYPE size AS ENUM ('s', 'm')",
              'ALTER TABLE pets ADD COLUMN size size',
              "ALTER TYPE size RENAME VALUE 'm' TO 'medium'",
              "ALTER TYPE size ADD VALUE 'l'",
              "COMMENT ON TABLE pets IS 'animals'",
              'GRANT SELECT ON pets TO PUBLIC',
              'CREATE FUNCTION pet_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM pets $$',
              'ALTER TABLE pets ADD COLUMN n bigint DEFAULT pet_count()',
              'CREATE OR REPLACE FUNCTION pet_count() RETURNS bigint LANGUAGE sql AS $$ SELECT 42::bigint $$',
              'DROP FUNCTION pet_count() CASCADE',
              'CREATE SEQUENCE tickets',
              'ALTER TABLE pets ALTER COLUMN id SET DEFAULT nextval(\'tickets\')',
              'ALTER SEQUENCE tickets RENAME TO tickets_seq',
              'DROP SEQUENCE tickets_seq CASCADE',
              'CREATE TABLE events (at date NOT NULL, what text DEFAULT \'x\') PARTITION BY RANGE (at)',
              "CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
              'ALTER TABLE events ADD COLUMN who text',
              'ALTER TABLE events DETACH PARTITION events_2024',
              "ALTER TABLE events ATTACH PARTITION events_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
              'CREATE TABLE base (id integer, note text DEFAULT \'b\')',
              'CREATE TABLE derived (extra text) INHERITS (base)',
              'ALTER TABLE base ALTER COLUMN note SET DEFAULT \'c\'',
              'ALTER TABLE derived NO INHERIT base',
              'CREATE DOMAIN positive AS integer CHECK (VALUE > 0)',
              'ALTER DOMAIN positive ADD CONSTRAINT small CHECK (VALUE < 100)',
              'ALTER TABLE pets ADD COLUMN legs positive',
              'ALTER DOMAIN positive DROP CONSTRAINT small',
              'CREATE TYPE pair AS (a integer, b integer)',
              'ALTER TYPE pair ADD ATTRIBUTE c integer',
              'DROP TYPE pair',
              'CREATE MATERIALIZED VIEW pet_kinds AS SELECT DISTINCT kind FROM pets',
              'ALTER TABLE pets RENAME COLUMN kind TO species',
              'DROP MATERIALIZED VIEW pet_kinds',
              'ALTER TABLE pets ENABLE ROW LEVEL SECURITY',
              'CREATE POLICY pets_mine ON pets USING (true)',
              'DROP POLICY pets_mine ON pets',
              "SET session_replication_role = replica",
              'CREATE TABLE while_replica (id integer)',
              'ALTER TABLE while_replica ADD COLUMN b text',
              "SET session_replication_role = DEFAULT",
              // The dump's prepared statements (dump.ts: runPrepared) gone: the next dump prepares them again.
              'DEALLOCATE ALL',
              'CREATE TABLE after_deallocate (id integer)',
              'DISCARD ALL',
              'ALTER TABLE after_deallocate ADD COLUMN b text',
              'DROP SCHEMA app CASCADE',
            ]
          : [
              'CREATE TRIGGER posts_touch AFTER UPDATE ON posts BEGIN UPDATE people SET status = 1 WHERE id = new.user_id; END',
              // Rewrites the trigger's and the foreign key's SQL (other rows), not only the table's.
              'ALTER TABLE people RENAME TO persons',
              'ALTER TABLE persons RENAME COLUMN status TO state',
              'CREATE VIRTUAL TABLE notes USING fts5(body)',
              'CREATE TABLE after_virtual (id INTEGER PRIMARY KEY)',
              'DROP TABLE notes',
              // The same name, and the same rowid in sqlite_master, for another table.
              'DROP TABLE after_virtual',
              'CREATE TABLE after_virtual (id INTEGER PRIMARY KEY, b TEXT)',
              'DROP TRIGGER posts_touch',
              'ALTER TABLE persons DROP COLUMN state',
              'DROP TABLE posts',
            ]),
      ];
      for (const sql of steps) {
        await driver.query({ sql });
        // The same database, opened the way `cairn dump` opens a user's.
        const fresh = await openDriver(parseDatabaseUrl(scratch.url.scheme === 'postgres' ? scratch.url.url : `sqlite:${scratch.url.scheme === 'sqlite' ? scratch.url.path : ''}`, process.cwd()), { create: false });
        try {
          expect([sql, await driver.dump({ exclude: [] })]).toEqual([sql, await fresh.dump({ exclude: [] })]);
        } finally {
          await fresh.close();
        }
      }
    } finally {
      await driver.close();
      await scratch.drop();
    }
  });
});
