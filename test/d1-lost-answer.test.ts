import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startD1ApiServer, type D1ApiServer } from './support/d1-api-server.js';
import { tempDir, writeMigrations } from './support/databases.js';
import { killLeftovers, startCli, type Exit } from './support/processes.js';

/**
 * Remote D1 never retries a write, and an answer can be lost after D1 applied
 * the batch (a timeout, a reset connection, a 5xx). The test API server cuts
 * the connection of a chosen request, after running it or before: Cairn must
 * learn from its history (written in the same batch) whether the migration
 * committed, never apply it twice, never call it failed blindly.
 */
const TOKEN = 'cf-test-token-lost-answers';
let server: D1ApiServer;
beforeEach(async () => {
  server = await startD1ApiServer({ token: TOKEN });
});
afterEach(async () => {
  await killLeftovers();
  await server.close();
  for (const name of ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_API_BASE_URL']) delete process.env[name];
});

async function cairn(args: readonly string[], cwd: string): Promise<Exit> {
  Object.assign(process.env, { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_API_BASE_URL: server.base });
  return startCli(args, cwd).exited;
}

const USERS = '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n';
const TAGS = "-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT NOT NULL);\nINSERT INTO tags (label) VALUES ('new');\n";
const project = () => {
  const root = tempDir('cairn-lost-');
  return { root, dir: writeMigrations(root, { '0001_users.sql': USERS, '0002_tags.sql': TAGS }) };
};
const url = () => `d1://${server.accountId}/${server.databaseId}`;
const versions = async () => (await server.query<{ version: string }>('SELECT version FROM cairn_migrations ORDER BY version')).map((r) => r.version);

describe('remote D1: an answer lost after D1 applied the batch', () => {
  it('a shared batch that committed is found in the history and not sent again', { timeout: 60_000 }, async () => {
    const { root, dir } = project();
    server.loseAnswer({ match: /CREATE TABLE tags/, commit: true });
    const up = await cairn(['up', '--url', url(), '--dir', dir], root);
    expect(up.code, up.stderr).toBe(0);
    expect(server.lost()).toBe(1);
    expect(up.stderr).toContain('the D1 API did not answer, but the history shows 0001_users, 0002_tags committed: not sending them again');
    expect(await versions()).toEqual(['0001', '0002']);
    expect(await server.query('SELECT label FROM tags')).toEqual([{ label: 'new' }]); // once, not twice
  });

  it('a batch that did not commit is found missing in the history and sent once more', { timeout: 60_000 }, async () => {
    const { root, dir } = project();
    expect((await cairn(['up', '--to', '0001', '--url', url(), '--dir', dir], root)).code).toBe(0);
    server.loseAnswer({ match: /CREATE TABLE tags/, commit: false });
    const up = await cairn(['up', '--url', url(), '--dir', dir], root);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stderr).toContain('the D1 API did not answer, and the history shows 0002_tags did not commit: sending it again');
    expect(await versions()).toEqual(['0001', '0002']);
    expect(await server.query('SELECT label FROM tags')).toEqual([{ label: 'new' }]);
  });

  it('when the history cannot be read either, it stops with NO_ANSWER and a hint; the next run learns from the history that it was applied', { timeout: 60_000 }, async () => {
    const { root, dir } = project();
    expect((await cairn(['up', '--to', '0001', '--url', url(), '--dir', dir], root)).code).toBe(0);
    server.loseAnswer({ match: /CREATE TABLE tags/, commit: true, then: 1 });
    const up = await cairn(['up', '--url', url(), '--dir', dir, '--json'], root);
    expect(up.code).toBe(3);
    const error = JSON.parse(up.stdout).error as { code: string; message: string; hint: string };
    expect(error.code).toBe('NO_ANSWER');
    expect(error.message).toMatch(/did not answer .*whether the batch was applied is unknown, and the history could not be read to learn whether 0002_tags was applied/);
    expect(error.hint).toContain('run `cairn status`');
    expect(up.stdout + up.stderr).not.toContain(TOKEN);

    const status = await cairn(['status', '--url', url(), '--dir', dir, '--json'], root);
    expect(JSON.parse(status.stdout).migrations.map((m: { version: string; state: string }) => `${m.version}:${m.state}`)).toEqual(['0001:applied', '0002:applied']);
    const again = await cairn(['up', '--url', url(), '--dir', dir], root);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Nothing to apply');
    expect(await server.query('SELECT label FROM tags')).toEqual([{ label: 'new' }]);
  });
});
