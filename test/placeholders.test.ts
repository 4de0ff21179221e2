import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createCairn } from '../src/index.js';
import { runCli, tempDir, writeMigrations } from './support/databases.js';
import { describeEachDatabase } from './support/each-database.js';

/** Files that hold no statement: a `cairn new` left unfilled blocks applying only; a comment-only up (diesel's placeholders) is a recorded no-op. */
const ITEMS = '-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO items (name) VALUES (\'a\'), (\'b\'), (\'c\');\n-- migrate:down\nDROP TABLE items;\n';
const PRUNE = '-- migrate:up\nDELETE FROM items WHERE id > 1;\n-- migrate:down\nSELECT 1;\n';
const DIESEL = fileURLToPath(new URL('./fixtures/diesel-sqlite/migrations', import.meta.url));

describe('a `cairn new` file left unfilled', () => {
  it('blocks up, verify and baseline, but not status, lint <file>, restore or validate reporting it', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_items.sql': ITEMS, '0002_prune_items.sql': PRUNE });
    const cli = (...args: string[]) => runCli(['--url', 'sqlite:app.db', ...args], { cwd: root });
    expect(cli('up').status).toBe(0);
    expect(cli('new', 'add_price').stdout).toContain('Created migrations/0003_add_price.sql');
    const refusal = 'migrations/0003_add_price.sql: has no up statements (add SQL after "-- migrate:up", or delete the file)';

    const status = cli('status');
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/0003 +add_price +pending .*no SQL under -- migrate:up yet: `cairn up` refuses it until it has some/);
    expect(cli('lint', 'migrations/0003_add_price.sql').status).toBe(0);
    const restore = cli('restore', '0002');
    expect(restore.status).toBe(0);
    expect(restore.stdout).toContain('items: 2 rows that were missing inserted');

    for (const args of [['up'], ['up', '--dry-run'], ['verify'], ['baseline', '--to', '0003', '--yes']]) {
      const refused = cli(...args);
      expect(refused.status, args.join(' ')).not.toBe(0);
      expect(refused.stderr, args.join(' ')).toContain(refusal);
    }
    const validate = cli('validate');
    expect(validate.status).not.toBe(0);
    expect(validate.stdout + validate.stderr).toContain('0003_add_price.sql');
    expect(cli('status').stdout).toMatch(/0003 +add_price +pending/);
  });
});

describe("diesel's layout and its placeholder migrations", () => {
  it('applies migrations/<version>_<name>/up.sql in diesel order, records comment-only ups as no-ops, verifies them, and reads an empty down.sql as no down', () => {
    const root = tempDir();
    cpSync(DIESEL, join(root, 'migrations'), { recursive: true });
    const cli = (...args: string[]) => runCli(['--url', 'sqlite:app.db', ...args], { cwd: root });

    const up = cli('up');
    expect(up.status).toBe(0);
    // 20240314 orders after 2024-03-13-180000 as diesel orders it (as text): numerically it would come first and fail on a missing table.
    expect(up.stdout).toMatch(/00000000000000_diesel_initial_setup[^]*20240313170000_create_users[^]*20240313180000_placeholder[^]*20240314_add_email_to_users/);
    expect(up.stdout).toContain('Applied 4 migrations');
    expect(up.stderr).toContain('notice: 20240313180000_placeholder has no statements, only comments: it is recorded as applied, nothing runs');
    expect(up.stderr).toContain('notice: 00000000000000_diesel_initial_setup has no statements, only comments');
    const status = JSON.parse(cli('status', '--json').stdout) as { migrations: { version: string; state: string }[] };
    expect(status.migrations.map((m) => [m.version, m.state])).toEqual([
      ['00000000000000', 'applied'],
      ['20240313170000', 'applied'],
      ['20240313180000', 'applied'],
      ['20240314', 'applied'],
    ]);
    expect(cli('up').stdout).toContain('Nothing to apply');
    expect(cli('status').stdout).toMatch(/20240313180000 +placeholder +applied .*no statements, only comments: a no-op, recorded when applied/);

    const verify = cli('verify');
    expect(verify.status).toBe(0);
    expect(verify.stdout).toMatch(/✓ 20240313180000_placeholder +up, down, up/);
    expect(verify.stdout).toContain('All 4 migrations verified');

    // The empty down.sql is no down; the placeholder's comment-only down rolls back its record and nothing else.
    const down = cli('down');
    expect(down.status).toBe(2);
    expect(down.stderr).toContain('error[NO_DOWN]');
    expect(down.stderr).toContain('migrations/20240314_add_email_to_users/up.sql');
    expect(cli('down', '--generated').status).toBe(0);
    expect(cli('down').status).toBe(0);
    const after = JSON.parse(cli('status', '--json').stdout) as { migrations: { version: string; state: string }[] };
    expect(after.migrations.filter((m) => m.state === 'pending').map((m) => m.version)).toEqual(['20240313180000', '20240314']);
    expect(readFileSync(join(root, 'migrations', '20240314_add_email_to_users', 'down.sql'), 'utf8')).toBe('');
  });
});

describeEachDatabase(
  'a comment-only up on every database',
  (current) => {
    it('is applied as a recorded no-op next to real migrations, and rolled back as one', async () => {
      const root = tempDir();
      writeMigrations(root, {
        '0001_items.sql': '-- migrate:up\nCREATE TABLE items (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE items;\n',
        '0002_placeholder.up.sql': '-- Your SQL goes here\n',
        '0002_placeholder.down.sql': '',
        '0003_tags.sql': '-- migrate:up\nCREATE TABLE tags (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE tags;\n',
      });
      const notices: string[] = [];
      const cairn = createCairn({ cwd: root, url: current().url, onEvent: (event) => void (event.type === 'notice' && notices.push(event.message)) });
      const result = await cairn.up();
      expect(result.applied.map((step) => step.version)).toEqual(['0001', '0002', '0003']);
      expect(notices).toContain('0002_placeholder has no statements, only comments: it is recorded as applied, nothing runs');
      expect(await current().query('SELECT version FROM cairn_migrations ORDER BY version')).toEqual([{ version: '0001' }, { version: '0002' }, { version: '0003' }]);
      expect((await cairn.down({ steps: 2 })).applied.map((step) => step.version)).toEqual(['0003', '0002']);
      expect(await current().query('SELECT version FROM cairn_migrations ORDER BY version')).toEqual([{ version: '0001' }]);
      expect((await cairn.up()).filesExecuted).toBe(2);
    });
  },
  { d1: true },
);
