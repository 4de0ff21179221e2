import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli, tempDir, writeMigrations } from './support/databases.js';
import { describeEachDatabase, it } from './support/each-database.js';

/**
 * `cairn plan rename-column`: the three files it writes, applied one phase at
 * a time while an "old application" (writing name) and a "new application"
 * (writing display_name) both keep working, on real databases.
 */

const ROWS = 3000;

describeEachDatabase('cairn plan', (current, kind) => {
  it('rename-column: expand, both apps see each other, backfill, contract: no row lost, and the files pass lint and verify', async () => {
    const db = current();
    const cwd = tempDir();
    const fill =
      kind === 'postgres'
        ? `INSERT INTO users (id, name) SELECT g, 'user ' || g FROM generate_series(1, ${ROWS}) AS g;`
        : `INSERT INTO users (id, name) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS}) SELECT x, 'user ' || x FROM c;`;
    writeMigrations(cwd, {
      '0001_create_users.sql': `-- Migration: create users\n-- Type: additive\n-- Rollback: drops users\n-- migrate:up\nCREATE TABLE users (id integer PRIMARY KEY, name text);\n${fill}\n-- migrate:down\nDROP TABLE users;\n`,
    });
    const cli = (...args: string[]) => runCli([...args, '--url', db.url], { cwd });
    expect(cli('up').status).toBe(0);

    const planned = cli('plan', 'rename-column', 'users.name', 'display_name');
    expect(planned.status, planned.stderr).toBe(0);
    expect(planned.stdout).toMatch(/expand +migrations\/0002_expand_users_name_to_display_name\.sql/);
    expect(planned.stdout).toMatch(/backfill +migrations\/0003_backfill_users_display_name\.sql/);
    expect(planned.stdout).toMatch(/contract +migrations\/0004_contract_users_drop_name\.sql/);
    const contract = readFileSync(join(cwd, 'migrations/0004_contract_users_drop_name.sql'), 'utf8');
    expect(contract).toMatch(/^-- cairn:contract 0002$/m);
    expect(contract).toMatch(/^-- Phase: contract of rename-column users\.name display_name$/m);
    const lint = cli('lint');
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    const verify = cli('verify');
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);

    expect(cli('up', '--to', '0002').status).toBe(0);
    // The old app writes name only; the new app writes display_name only.
    await db.query(`INSERT INTO users (id, name) VALUES (${ROWS + 1}, 'old app')`);
    await db.query(`UPDATE users SET name = 'renamed by old app' WHERE id = 1`);
    await db.query(`INSERT INTO users (id, display_name) VALUES (${ROWS + 2}, 'new app')`);
    await db.query(`UPDATE users SET display_name = 'renamed by new app' WHERE id = 2`);
    const both = await db.query<{ id: number; name: string | null; display_name: string | null }>(`SELECT id, name, display_name FROM users WHERE id IN (1, 2, ${ROWS + 1}, ${ROWS + 2}) ORDER BY id`);
    expect(both.map((r) => [Number(r.id), r.name, r.display_name])).toEqual([
      [1, 'renamed by old app', 'renamed by old app'],
      [2, 'renamed by new app', 'renamed by new app'],
      [ROWS + 1, 'old app', 'old app'],
      [ROWS + 2, 'new app', 'new app'],
    ]);

    const backfill = cli('up', '--to', '0003', '--no-backup');
    expect(backfill.status, backfill.stderr).toBe(0);
    const behind = await db.query<{ n: number | string }>('SELECT count(*) AS n FROM users WHERE display_name IS NULL OR display_name <> name');
    expect(Number(behind[0]!.n)).toBe(0);

    const last = cli('up');
    expect(last.status, last.stderr).toBe(0);
    const rows = await db.query<{ n: number | string; named: number | string }>(`SELECT count(*) AS n, count(display_name) AS named FROM users`);
    expect([Number(rows[0]!.n), Number(rows[0]!.named)]).toEqual([ROWS + 2, ROWS + 2]);
    await expect(db.query('SELECT name FROM users')).rejects.toThrow(/name/);
    const sample = await db.query<{ display_name: string }>('SELECT display_name FROM users WHERE id = 42');
    expect(sample[0]!.display_name).toBe('user 42');
  }, 180_000);

  it("rename-column carries name's indexes and default over to display_name, and the contract keeps them", async () => {
    const db = current();
    const cwd = tempDir();
    writeMigrations(cwd, {
      '0001_create_users.sql': `-- Migration: create users\n-- Type: additive\n-- Rollback: drops users\n-- migrate:up\nCREATE TABLE users (id integer PRIMARY KEY, team text, name text DEFAULT 'anonymous');\nCREATE INDEX users_name_idx ON users (name);\nCREATE UNIQUE INDEX users_team_name ON users (team, name);\nINSERT INTO users (id, name, team) VALUES (1, 'ann', 'a'), (2, 'bob', 'a');\n-- migrate:down\nDROP TABLE users;\n`,
    });
    const cli = (...args: string[]) => runCli([...args, '--url', db.url], { cwd });
    expect(cli('up').status).toBe(0);
    const planned = cli('plan', 'rename-column', 'users.name', 'display_name');
    expect(planned.status, planned.stderr).toBe(0);
    // SQLite fills display_name with the default when adding it: the unique index waits for the contract.
    if (kind === 'postgres') expect(planned.stdout).not.toMatch(/note:/);
    else expect(planned.stdout).toMatch(/note: the unique index users_team_display_name on display_name is built by the contract/);
    const lint = cli('lint');
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    const verify = cli('verify');
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    const indexes = async () => {
      const rows =
        kind === 'postgres'
          ? await db.query<{ name: string; sql: string }>(`SELECT indexname AS name, indexdef AS sql FROM pg_indexes WHERE tablename = 'users' AND indexname <> 'users_pkey' ORDER BY 1`)
          : await db.query<{ name: string; sql: string }>(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'users' AND sql IS NOT NULL ORDER BY 1`);
      return rows.map((r) => `${r.name}: ${r.sql.replace(/^.* ON (public\.)?users (USING btree )?/, '').replace(/"/g, '')}`);
    };
    const [expand, backfill] = kind === 'postgres' ? ['0003', '0004'] : ['0002', '0003'];
    expect(cli('up', '--to', expand).status).toBe(0);
    expect(await indexes()).toEqual(['users_display_name_idx: (display_name)', 'users_name_idx: (name)', ...(kind === 'postgres' ? ['users_team_display_name: (team, display_name)'] : []), 'users_team_name: (team, name)']);
    // The new app leaves name out (it gets its default): name follows display_name all the same.
    await db.query(`INSERT INTO users (id, display_name, team) VALUES (3, 'new app', 'b')`);
    await db.query(`INSERT INTO users (id, team) VALUES (4, 'b')`);
    await expect(db.query(`INSERT INTO users (id, display_name, team) VALUES (5, 'ann', 'a')`)).rejects.toThrow(/unique|duplicate/i);
    expect(cli('up', '--to', backfill).status).toBe(0);
    const last = cli('up');
    expect(last.status, last.stderr).toBe(0);
    expect(await indexes()).toEqual(['users_display_name_idx: (display_name)', 'users_team_display_name: (team, display_name)']);
    await db.query(`INSERT INTO users (id, team) VALUES (6, 'c')`);
    const rows = await db.query<{ id: number; display_name: string }>('SELECT id, display_name FROM users ORDER BY id');
    expect(rows.map((r) => [Number(r.id), r.display_name])).toEqual([[1, 'ann'], [2, 'bob'], [3, 'new app'], [4, 'anonymous'], [6, 'anonymous']]);
    await expect(db.query(`INSERT INTO users (id, display_name, team) VALUES (7, 'bob', 'a')`)).rejects.toThrow(/unique|duplicate/i);
  }, 180_000);

  it('rename-table: the old app through the view and the new app through the table see each other; contract drops the view', async () => {
    const db = current();
    const cwd = tempDir();
    writeMigrations(cwd, {
      '0001_create_customers.sql': `-- Migration: create customers\n-- Type: additive\n-- Rollback: drops customers\n-- migrate:up\nCREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL);\nINSERT INTO customers (id, name) VALUES (1, 'ann'), (2, 'bob'), (3, 'cy');\n-- migrate:down\nDROP TABLE customers;\n`,
    });
    const cli = (...args: string[]) => runCli([...args, '--url', db.url], { cwd });
    expect(cli('up').status).toBe(0);
    const planned = cli('plan', 'rename-table', 'customers', 'clients');
    expect(planned.status, planned.stderr).toBe(0);
    expect(planned.stdout).toMatch(/expand +migrations\/0002_expand_rename_customers_to_clients\.sql\n +contract +migrations\/0003_contract_drop_customers_view\.sql/);
    expect(cli('lint').status).toBe(0);
    const verify = cli('verify');
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    expect(cli('up').status).toBe(3); // expand and contract in one run: refused

    expect(cli('up', '--to', '0002').status).toBe(0);
    await db.query(`INSERT INTO customers (id, name) VALUES (10, 'old app')`);
    await db.query(`UPDATE customers SET name = 'ann (old app)' WHERE id = 1`);
    await db.query(`DELETE FROM customers WHERE id = 3`);
    await db.query(`INSERT INTO clients (id, name) VALUES (11, 'new app')`);
    await db.query(`UPDATE clients SET name = 'bob (new app)' WHERE id = 2`);
    const seenByOld = await db.query<{ id: number; name: string }>('SELECT id, name FROM customers ORDER BY id');
    const seenByNew = await db.query<{ id: number; name: string }>('SELECT id, name FROM clients ORDER BY id');
    const expected = [[1, 'ann (old app)'], [2, 'bob (new app)'], [10, 'old app'], [11, 'new app']];
    expect(seenByOld.map((r) => [Number(r.id), r.name])).toEqual(expected);
    expect(seenByNew.map((r) => [Number(r.id), r.name])).toEqual(expected);

    const contract = cli('up');
    expect(contract.status, contract.stderr).toBe(0);
    await expect(db.query('SELECT * FROM customers')).rejects.toThrow(/customers/);
    expect((await db.query<{ n: number | string }>('SELECT count(*) AS n FROM clients'))[0]!.n).toSatisfy((n: number | string) => Number(n) === 4);
  }, 120_000);

  it('set-not-null --fill: writes leaving it NULL are filled from the expand on, old rows by the backfill, then NULL is refused', async () => {
    const db = current();
    const cwd = tempDir();
    writeMigrations(cwd, {
      '0001_create_orders.sql': `-- Migration: create orders\n-- Type: additive\n-- Rollback: drops orders\n-- migrate:up\nCREATE TABLE orders (id integer PRIMARY KEY, currency text);\nINSERT INTO orders (id, currency) VALUES (1, 'USD'), (2, NULL), (3, NULL);\n-- migrate:down\nDROP TABLE orders;\n`,
    });
    const cli = (...args: string[]) => runCli([...args, '--url', db.url], { cwd });
    expect(cli('up').status).toBe(0);
    const planned = cli('plan', 'set-not-null', 'orders.currency', '--fill', "'EUR'");
    expect(planned.status, planned.stderr).toBe(0);
    expect(planned.stdout).toMatch(/expand +migrations\/0002_expand_orders_currency_not_null\.sql\n +backfill +migrations\/0003_backfill_orders_currency\.sql\n +contract +migrations\/0004_contract_orders_currency_not_null\.sql/);
    const lint = cli('lint');
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    // The CHECK validated right before SET NOT NULL spares the scan, and the linter knows it: no allow needed, none left unused.
    expect(lint.stdout + lint.stderr).not.toMatch(/set-not-null-scan|unused-allow/);
    const verify = cli('verify');
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);

    expect(cli('up', '--to', '0002').status).toBe(0);
    await db.query(`INSERT INTO orders (id) VALUES (4)`); // the old app does not know the column must be set
    await db.query(`UPDATE orders SET currency = NULL WHERE id = 1`);
    expect(cli('up', '--to', '0003', '--no-backup').status).toBe(0);
    const rows = await db.query<{ id: number; currency: string }>('SELECT id, currency FROM orders ORDER BY id');
    expect(rows.map((r) => [Number(r.id), r.currency])).toEqual([[1, 'EUR'], [2, 'EUR'], [3, 'EUR'], [4, 'EUR']]);

    const contract = cli('up');
    expect(contract.status, contract.stderr).toBe(0);
    await expect(db.query(`INSERT INTO orders (id, currency) VALUES (5, NULL)`)).rejects.toThrow(/null/i);
    expect((await db.query<{ n: number | string }>('SELECT count(*) AS n FROM orders'))[0]!.n).toSatisfy((n: number | string) => Number(n) === 4);
  }, 120_000);
}, { d1: true });
