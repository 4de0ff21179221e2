import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli, tempDir, writeMigrations } from './support/databases.js';
import { describeEachDatabase, it } from './support/each-database.js';

/**
 * The contract gate on real databases: a `-- cairn:contract` migration is
 * refused in the same run as its expand, before the environment's
 * contractAfter, and without `cairn phase confirm` where confirmContract is
 * set; accepted once all of that holds.
 */
describeEachDatabase('contract gate', (current, kind) => {
  it('refuses the contract in the expand run, before contractAfter and unconfirmed; accepts it after', async () => {
    const db = current();
    const cwd = tempDir();
    writeMigrations(cwd, {
      '0001_create_users.sql': `-- migrate:up\nCREATE TABLE users (id integer PRIMARY KEY, name text);\nINSERT INTO users (id, name) VALUES (1, 'ann'), (2, 'bob');\n-- migrate:down\nDROP TABLE users;\n`,
    });
    writeFileSync(join(cwd, 'cairn.config.json'), JSON.stringify({ environments: { production: { database: db.url, contractAfter: '24h', confirmContract: true } } }));
    const cli = (...args: string[]) => runCli(args, { cwd });
    expect(cli('up', '--url', db.url).status).toBe(0);
    expect(cli('plan', 'rename-column', 'users.name', 'display_name', '--url', db.url).status).toBe(0);

    // Expand, backfill and contract in one run: refused whole, naming both files.
    const together = cli('up', '--url', db.url);
    expect(together.status).toBe(3);
    expect(together.stderr).toContain('error[PHASE]');
    expect(together.stderr).toMatch(/migrations\/0004_contract_users_drop_name\.sql \(contract of migrations\/0002_expand_users_name_to_display_name\.sql\): .*applied in this same run/);
    expect(together.stderr).toMatch(/hint: apply up to the migration before the contract/);
    const status = JSON.parse(cli('status', '--url', db.url, '--json').stdout) as { migrations: { version: string; state: string }[] };
    expect(status.migrations.map((m) => m.state)).toEqual(['applied', 'pending', 'pending', 'pending']);

    expect(cli('up', '--env', 'production', '--to', '0003').status).toBe(0);
    const young = cli('up', '--env', 'production');
    expect(young.status).toBe(3);
    expect(young.stderr).toMatch(/contractAfter says wait until/);
    const inFlight = cli('status', '--env', 'production');
    expect(inFlight.stdout).toMatch(/Changes in flight:\n  rename-column users\.name display_name: expand applied \d{4}-\d\d-\d\d; backfill 100%; contract pending \(waits: .*contractAfter says wait until/);
    const json = JSON.parse(cli('status', '--env', 'production', '--json').stdout) as { changes: { change: string; contractWaitsFor: string | null }[] };
    expect(json.changes).toEqual([expect.objectContaining({ change: 'rename-column users.name display_name', contractWaitsFor: expect.stringContaining('contractAfter') })]);

    // A day later (the expand's applied_at moved back 25 hours): it still waits for the confirmation.
    await db.query(
      kind === 'postgres'
        ? "UPDATE cairn_migrations SET applied_at = now() - interval '25 hours' WHERE version = '0002'"
        : "UPDATE cairn_migrations SET applied_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-25 hours') WHERE version = '0002'",
    );
    const unconfirmed = cli('up', '--env', 'production');
    expect(unconfirmed.status).toBe(3);
    expect(unconfirmed.stderr).toMatch(/confirmContract: true, and nobody has confirmed/);
    expect(unconfirmed.stderr).toMatch(/hint: once every running version .*cairn phase confirm 0002 --env production/);

    const confirm = cli('phase', 'confirm', '0004', '--env', 'production');
    expect(confirm.status, confirm.stderr).toBe(0);
    expect(confirm.stdout).toMatch(/Confirmed on production: the contract of 0002 may run \(by .+@.+ at \d{4}-/);
    const recorded = await db.query<{ details: string }>("SELECT details FROM cairn_migrations WHERE version = '0002'");
    expect(JSON.parse(recorded[0]!.details)).toMatchObject({ contractConfirmed: { by: expect.stringContaining('@'), at: expect.any(String) } });

    const done = cli('up', '--env', 'production');
    expect(done.status, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/0004_contract_users_drop_name/);
    const rows = await db.query<{ id: number; display_name: string }>('SELECT id, display_name FROM users ORDER BY id');
    expect(rows.map((r) => [Number(r.id), r.display_name])).toEqual([[1, 'ann'], [2, 'bob']]);
  }, 120_000);
}, { d1: true });
