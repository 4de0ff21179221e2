import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { tempDir, writeMigrations } from '../../test/support/databases.js';
import { createCairn } from '../cairn.js';
import type { FleetEvent } from './up.js';

/** The library: `cairn.fleet.up()` results and events, on real SQLite files. */
describe('cairn.fleet', () => {
  function project(tenants: number): string {
    const dir = tempDir('cairn-fleet-lib-');
    writeMigrations(dir, {
      '0001_users.sql': 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);',
      '0002_posts.sql': 'CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);',
    });
    mkdirSync(join(dir, 'tenants'));
    for (let i = 1; i <= tenants; i++) new Database(join(dir, 'tenants', `t${String(i).padStart(2, '0')}.db`)).close();
    writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ fleet: { tenants: 'tenants/*.db' } }));
    return dir;
  }

  it('returns each target\'s result, never has more than `concurrency` open, and tells each step through events', async () => {
    const dir = project(12);
    const events: FleetEvent[] = [];
    let open = 0;
    let most = 0;
    const result = await createCairn({ cwd: dir }).fleet.up({
      concurrency: 3,
      onEvent: (event) => {
        events.push(event);
        if (event.type === 'target-start') most = Math.max(most, ++open);
        if (event.type === 'target-done') open--;
      },
    });
    expect(result).toMatchObject({ success: true, total: 12, concurrency: 3, stopped: null, counts: { applied: 12, 'up-to-date': 0, failed: 0, 'not-started': 0 } });
    expect(result.targets[0]).toMatchObject({ target: 'tenants/t01.db', group: 'tenants', outcome: 'applied', applied: ['0001_users', '0002_posts'], error: null });
    expect(most).toBe(3);
    expect(events.filter((e) => e.type === 'target-event' && e.event.type === 'done')).toHaveLength(24);
    expect(events.at(-1)).toMatchObject({ type: 'target-done', done: 12, total: 12, failed: 0 });

    const again = await createCairn({ cwd: dir }).fleet.up();
    expect(again.counts).toEqual({ applied: 0, 'up-to-date': 12, failed: 0, 'not-started': 0 });
    const status = await createCairn({ cwd: dir }).fleet.status();
    expect(status.versions).toEqual([
      { version: '0001', name: 'users', applied: 12 },
      { version: '0002', name: 'posts', applied: 12 },
    ]);
  });

  it('a failing target is a result with its error; by default nothing new starts after it', async () => {
    const dir = project(6);
    writeFileSync(join(dir, 'tenants', 't03.db'), 'not a database');
    const result = await createCairn({ cwd: dir }).fleet.up({ concurrency: 1 });
    expect(result.success).toBe(false);
    expect(result.stopped).toBe('failure');
    expect(result.targets.map((t) => t.outcome)).toEqual(['applied', 'applied', 'failed', 'not-started', 'not-started', 'not-started']);
    expect(result.targets[2]!.error).toMatchObject({ code: expect.any(String), message: expect.stringMatching(/not a database/) });
  });
});

describe('cairn.fleet.down, verify and lint', () => {
  it('down returns each target\'s rolled-back versions; verify each target\'s differences; lint one report per engine', async () => {
    const dir = tempDir('cairn-fleet-lib-more-');
    writeMigrations(dir, {
      '0001_create_users.sql': '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE users;\n',
      '0002_create_posts.sql': '-- migrate:up\nCREATE TABLE posts (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE posts;\n',
    });
    mkdirSync(join(dir, 'tenants'));
    for (const name of ['a', 'b', 'c']) new Database(join(dir, 'tenants', `${name}.db`)).close();
    writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ fleet: { tenants: 'tenants/*.db' } }));
    const cairn = createCairn({ cwd: dir });
    await cairn.fleet.up();

    const db = new Database(join(dir, 'tenants', 'b.db'));
    db.exec('CREATE TABLE notes (body TEXT)');
    db.close();
    const events: FleetEvent[] = [];
    const verified = await cairn.fleet.verify({ keepGoing: true, concurrency: 2, onEvent: (event) => events.push(event) });
    expect(verified).toMatchObject({ ok: false, counts: { 'in-sync': 2, drifted: 1, failed: 0, 'not-started': 0 }, history: [{ engine: 'sqlite', targets: 3, report: { ok: true } }] });
    expect(verified.targets[1]).toMatchObject({ target: 'tenants/b.db', outcome: 'drifted', differences: expect.arrayContaining([expect.objectContaining({ key: 'table notes', kind: 'added', before: null })]) });
    expect(events.filter((e) => e.type === 'target-done')).toHaveLength(3);

    const down = await cairn.fleet.down({ to: '0001', concurrency: 1 });
    expect(down).toMatchObject({ success: true, counts: { 'rolled-back': 3, unchanged: 0 } });
    expect(down.targets.map((t) => t.rolledBack)).toEqual([['0002_create_posts'], ['0002_create_posts'], ['0002_create_posts']]);
    await expect(cairn.fleet.down({ to: '0001', retries: -1 })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/retries must be a whole number/) });

    const lint = await cairn.fleet.lint();
    expect(lint).toMatchObject({ errors: 0, engines: [{ engine: 'sqlite', groups: ['tenants'] }] });
    expect(lint.engines[0]!.report.files).toHaveLength(2);
  });
});

describe('backups in a fleet', () => {
  it('restore on one tenant takes that tenant\'s backup, not the newest of the same migration from another tenant', async () => {
    const dir = tempDir('cairn-fleet-backup-');
    writeMigrations(dir, { '0001_items.sql': 'CREATE TABLE items (id INTEGER PRIMARY KEY, owner TEXT NOT NULL);' });
    mkdirSync(join(dir, 'tenants'));
    writeFileSync(join(dir, 'cairn.config.json'), JSON.stringify({ fleet: { tenants: 'tenants/*.db' } }));
    for (const tenant of ['a', 'b']) new Database(join(dir, 'tenants', `${tenant}.db`)).close();
    await createCairn({ cwd: dir }).fleet.up();
    for (const tenant of ['a', 'b']) {
      const db = new Database(join(dir, 'tenants', `${tenant}.db`));
      db.prepare('INSERT INTO items (owner) VALUES (?)').run(`row of ${tenant}`);
      db.close();
    }
    writeMigrations(dir, { '0002_drop_items.sql': '-- cairn:allow drop-table items move elsewhere\nDROP TABLE items;' });
    expect((await createCairn({ cwd: dir }).fleet.up({ concurrency: 1 })).counts.applied).toBe(2);

    const notices: string[] = [];
    const restored = await createCairn({ cwd: dir, url: 'sqlite:tenants/a.db', onEvent: (e) => e.type === 'notice' && notices.push(e.message) }).restore('0002');
    expect(restored.tables[0]).toMatchObject({ table: 'items', inserted: 1 });
    const db = new Database(join(dir, 'tenants', 'a.db'));
    expect(db.prepare('SELECT owner FROM items').all()).toEqual([{ owner: 'row of a' }]);
    db.close();
    expect(notices).toEqual([]);
  });
});

describe('the progress bar on a terminal', () => {
  it('shows done/total, failures, rate and what is left', async () => {
    const { progressBar } = await import('../cli/commands/fleet.js');
    expect(progressBar(100, 400, 1, 50)).toBe('[█████░░░░░░░░░░░░░░░] 100/400 · 1 failed · 50.0 db/s · ETA 6 s');
    expect(progressBar(400, 400, 0, 80)).toBe('[████████████████████] 400/400 · 0 failed · 80.0 db/s');
  });
});
