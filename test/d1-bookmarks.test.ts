import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCairn } from '../src/cairn.js';
import { startD1ApiServer, type D1ApiServer } from './support/d1-api-server.js';
import { tempDir, writeMigrations } from './support/databases.js';
import { killLeftovers, startCli, type Exit } from './support/processes.js';

/**
 * D1 Time Travel: before a remote run applies anything, Cairn asks D1 for the
 * bookmark of the moment and records it with every migration of the run;
 * `cairn restore <version> --bookmark` returns the whole database to it after a
 * confirmation, and prints the bookmark that undoes the restore. The test API
 * server serves D1's two Time Travel endpoints (a bookmark is a file copy).
 */
const TOKEN = 'cf-test-token-time-travel';
let server: D1ApiServer;
beforeEach(async () => {
  server = await startD1ApiServer({ token: TOKEN });
  Object.assign(process.env, { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_API_BASE_URL: server.base });
});
afterEach(async () => {
  await killLeftovers();
  await server.close();
  for (const name of ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_API_BASE_URL']) delete process.env[name];
});

const cairn = (args: readonly string[], cwd: string): Promise<Exit> => startCli(args, cwd).exited;
const url = () => `d1://${server.accountId}/${server.databaseId}`;
const FILES = {
  '0001_users.sql': "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\nINSERT INTO users (email) VALUES ('ada@example.com');\n",
  '0002_tags.sql': 'CREATE TABLE tags (id INTEGER PRIMARY KEY);\n',
};
const DROP = '-- cairn:allow drop-table replaced by accounts\nDROP TABLE users;\n';

interface Status { migrations: { version: string; state: string; bookmark: string | null }[] }

describe('remote D1 Time Travel bookmarks', () => {
  it('records the bookmark of each run, restores to it after --yes, and prints the bookmark that undoes it', { timeout: 90_000 }, async () => {
    const root = tempDir('cairn-bookmark-');
    const dir = writeMigrations(root, FILES);
    const first = await cairn(['up', '--url', url(), '--dir', dir], root);
    expect(first.code, first.stderr).toBe(0);
    expect(server.timeTravel()).toEqual(['GET bookmark']);
    const bookmark1 = /D1 Time Travel bookmark before this run: (\S+)/.exec(first.stderr)?.[1];
    expect(bookmark1).toMatch(/^00000001-00000002-[0-9a-f]{8}-[0-9a-f]{32}$/);

    writeMigrations(root, { '0003_drop_users.sql': DROP });
    const second = await cairn(['up', '--url', url(), '--dir', dir, '--no-backup'], root);
    expect(second.code, second.stderr).toBe(0);
    const status = JSON.parse((await cairn(['status', '--url', url(), '--dir', dir, '--json'], root)).stdout) as Status;
    const [b1, b2, b3] = status.migrations.map((m) => m.bookmark);
    expect([b1, b2]).toEqual([bookmark1, bookmark1]); // one bookmark per run, with each of its migrations
    expect(b3).not.toBe(bookmark1);
    expect(b3! > bookmark1!).toBe(true); // bookmarks sort oldest to newest

    const listed = await cairn(['backups', '--url', url(), '--dir', dir], root);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(`D1 Time Travel bookmark ${bookmark1}  before `);
    expect(listed.stdout).toMatch(new RegExp(`${b3}  before .* 0003_drop_users`));
    expect(listed.stdout).toContain('2 bookmarks; `cairn restore <version> --bookmark` returns the whole database to one.');

    // No terminal and no --yes: refused, nothing restored.
    const refused = await cairn(['restore', '0003', '--bookmark', '--url', url(), '--dir', dir], root);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('loses everything written since');
    expect(server.timeTravel()).not.toContain('POST restore');

    const restored = await cairn(['restore', '0003', '--bookmark', '--yes', '--url', url(), '--dir', dir], root);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`to D1 Time Travel bookmark ${b3} (before 0003_drop_users was applied`);
    const undo = /--bookmark=(\S+)/.exec(restored.stdout)?.[1];
    expect(undo).toBeDefined();
    expect(await server.query('SELECT email FROM users')).toEqual([{ email: 'ada@example.com' }]);
    const after = JSON.parse((await cairn(['status', '--url', url(), '--dir', dir, '--json'], root)).stdout) as Status;
    expect(after.migrations.map((m) => m.state)).toEqual(['applied', 'applied', 'pending']);
    // The lock row of the restored moment's run was cleared: the next run does not wait for it.
    expect(await server.query('SELECT * FROM cairn_migrations_lock')).toEqual([]);

    // The printed bookmark undoes the restore (as `wrangler d1 time-travel restore --bookmark` would send it).
    const response = await fetch(`${server.base}/accounts/${server.accountId}/d1/database/${server.databaseId}/time_travel/restore?bookmark=${undo}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(await server.query("SELECT name FROM sqlite_master WHERE name = 'users'")).toEqual([]);
    expect((JSON.parse((await cairn(['status', '--url', url(), '--dir', dir, '--json'], root)).stdout) as Status).migrations.map((m) => m.state)).toEqual(['applied', 'applied', 'applied']);
  });

  it('a destructive migration is backed up by the bookmark, not by copying its rows; up says so, in text and --json', { timeout: 90_000 }, async () => {
    const root = tempDir('cairn-bookmark-');
    const dir = writeMigrations(root, FILES);
    expect((await cairn(['up', '--url', url(), '--dir', dir], root)).code).toBe(0);
    writeMigrations(root, { '0003_drop_users.sql': DROP });

    const plan = await cairn(['up', '--dry-run', '--url', url(), '--dir', dir], root);
    expect(plan.stderr).toContain('0003_drop_users can destroy rows: a real run copies none; the D1 Time Travel bookmark it takes before applying anything is their backup');

    const up = await cairn(['up', '--url', url(), '--dir', dir], root);
    expect(up.code, up.stderr).toBe(0);
    const bookmark = /D1 Time Travel bookmark before this run: (\S+)/.exec(up.stderr)?.[1];
    expect(up.stderr).toContain('rows at risk in 0003_drop_users (users) are not copied: the D1 Time Travel bookmark taken before this run is their backup');
    expect(up.stdout).toContain(`Backup: D1 Time Travel bookmark ${bookmark}, taken before this run; the rows at risk in 0003_drop_users were not copied`);
    expect(existsSync(join(root, '.cairn', 'backups'))).toBe(false); // no rows went over the API
    const [row] = await server.query<{ details: string }>("SELECT details FROM cairn_migrations WHERE version = '0003'");
    expect(JSON.parse(row!.details)).toMatchObject({ bookmark, backup: { bookmark, tables: ['users'] } });

    // `cairn restore 0003` (rows) has nothing to put back and says where the backup is.
    const rows = await cairn(['restore', '0003', '--url', url(), '--dir', dir], root);
    expect(rows.code).not.toBe(0);
    expect(rows.stderr).toContain('`cairn restore 0003 --bookmark` returns the database to it');

    // --json carries the same: the bookmark, and which migrations it is the backup of.
    writeMigrations(root, { '0004_drop_tags.sql': '-- cairn:allow drop-table tested\nDROP TABLE tags;\n' });
    const json = await cairn(['up', '--json', '--url', url(), '--dir', dir], root);
    expect(json.code, json.stderr).toBe(0);
    const document = JSON.parse(json.stdout) as { timeTravel: { bookmark: string; backupOf: string[] } };
    expect(document.timeTravel).toEqual({ bookmark: expect.stringMatching(/^00000001-/), backupOf: ['0004_drop_tags'] });
  });

  it("copies the rows too with `backup: 'rows'` in the config, or --backup-rows", { timeout: 90_000 }, async () => {
    const root = tempDir('cairn-bookmark-');
    const dir = writeMigrations(root, FILES);
    expect((await cairn(['up', '--url', url(), '--dir', dir], root)).code).toBe(0);
    writeFileSync(join(root, 'cairn.config.json'), JSON.stringify({ backup: 'rows' }));
    writeMigrations(root, { '0003_drop_users.sql': DROP });
    const configured = await cairn(['up', '--url', url(), '--dir', dir], root);
    expect(configured.code, configured.stderr).toBe(0);
    expect(configured.stderr).toMatch(/backed up users \(1 row\) to \.cairn\/backups\/0003_drop_users-/);
    expect(configured.stdout).not.toContain('Backup: D1 Time Travel bookmark');
    const restored = await cairn(['restore', '0003', '--url', url(), '--dir', dir], root);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await server.query('SELECT email FROM users')).toEqual([{ email: 'ada@example.com' }]);

    writeFileSync(join(root, 'cairn.config.json'), JSON.stringify({}));
    writeMigrations(root, { '0004_drop_tags.sql': '-- cairn:allow drop-table tested\nDROP TABLE tags;\n' });
    await server.query('INSERT INTO tags (id) VALUES (7)');
    const flagged = await cairn(['up', '--backup-rows', '--url', url(), '--dir', dir], root);
    expect(flagged.code, flagged.stderr).toBe(0);
    expect(flagged.stderr).toMatch(/backed up tags \(1 row\) to \.cairn\/backups\/0004_drop_tags-/);

    writeFileSync(join(root, 'cairn.config.json'), JSON.stringify({ backup: 'all' }));
    const wrong = await cairn(['status', '--url', url(), '--dir', dir], root);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`backup must be 'auto' or 'rows', got "all"`);
  });

  it('the confirmation names the bookmark, the moment and what will be lost; answering no restores nothing', { timeout: 60_000 }, async () => {
    const root = tempDir('cairn-bookmark-');
    writeMigrations(root, FILES);
    const lib = createCairn({ url: url(), cwd: root });
    expect((await lib.up()).success).toBe(true);
    let question = '';
    await expect(lib.restoreBookmark('0001', { confirm: async (q) => ((question = q), false) })).rejects.toMatchObject({ code: 'CONFIRMATION_REQUIRED' });
    expect(question).toMatch(/^Restore d1 remote .* to D1 Time Travel bookmark 00000001-\S+, the moment before 0001_users was applied \(\d{4}-.*\)\? Everything written to it since is lost: the migrations 0001_users, 0002_tags and every row anyone wrote since\. Type "restore" to confirm:$/);
    expect(server.timeTravel()).toEqual(['GET bookmark']);
    await expect(lib.restoreBookmark('0009', { yes: true })).rejects.toMatchObject({ code: 'BACKUP', message: '0009 has no Time Travel bookmark in cairn_migrations' });
  });
});
