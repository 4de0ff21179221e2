import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli, tempDir, writeMigrations } from './support/databases.js';
import { describeEachDatabase, it } from './support/each-database.js';

/**
 * `cairn plan change-type`: euros kept as text become integer cents, one phase
 * at a time, while an "old application" (writing amount, text) and a "new
 * application" (writing amount_new, cents) both keep working, on real databases.
 */

const ROWS = 2500;

describeEachDatabase('cairn plan change-type', (current, kind) => {
  it('expand, both apps see each other, backfill, contract: amount holds integer cents, no row lost, files pass lint and verify', async () => {
    const db = current();
    const cwd = tempDir();
    const fill =
      kind === 'postgres'
        ? `INSERT INTO orders (id, amount) SELECT g, (g % 100)::text FROM generate_series(1, ${ROWS}) AS g;`
        : `INSERT INTO orders (id, amount) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${ROWS}) SELECT x, CAST(x % 100 AS text) FROM c;`;
    writeMigrations(cwd, {
      '0001_create_orders.sql': `-- Migration: create orders\n-- Type: additive\n-- Rollback: drops orders\n-- migrate:up\nCREATE TABLE orders (id integer PRIMARY KEY, note text, amount text);\n${fill}\nINSERT INTO orders (id, amount) VALUES (${ROWS + 10}, NULL);\n-- migrate:down\nDROP TABLE orders;\n`,
    });
    const cli = (...args: string[]) => runCli([...args, '--url', db.url], { cwd });
    expect(cli('up').status).toBe(0);

    const planned = cli('plan', 'change-type', 'orders.amount', 'integer', '--using', 'CAST(amount AS integer) * 100', '--back', 'CAST(amount / 100 AS text)');
    expect(planned.status, planned.stderr).toBe(0);
    expect(planned.stdout).not.toMatch(/note:/);
    expect(planned.stdout).toMatch(/expand +migrations\/0002_expand_orders_amount_to_integer\.sql\n +backfill +migrations\/0003_backfill_orders_amount_new\.sql\n +contract +migrations\/0004_contract_orders_amount_to_integer\.sql/);
    const contract = readFileSync(join(cwd, 'migrations/0004_contract_orders_amount_to_integer.sql'), 'utf8');
    expect(contract).toMatch(/^-- cairn:contract 0002$/m);
    expect(contract).toMatch(/^-- Phase: contract of change-type orders\.amount integer$/m);
    const lint = cli('lint');
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    const verify = cli('verify');
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    expect(cli('up').status).toBe(3); // expand and contract in one run: refused

    expect(cli('up', '--to', '0002').status).toBe(0);
    // The old app writes euros as text in amount; the new app writes cents in amount_new.
    await db.query(`INSERT INTO orders (id, amount) VALUES (${ROWS + 1}, '5')`);
    await db.query(`UPDATE orders SET amount = '9' WHERE id = 1`);
    await db.query(`INSERT INTO orders (id, amount_new) VALUES (${ROWS + 2}, 700)`);
    await db.query(`UPDATE orders SET amount_new = 1200 WHERE id = 2`);
    await db.query(`UPDATE orders SET note = 'untouched amount' WHERE id = 3`);
    const both = await db.query<{ id: number; amount: string | null; amount_new: number | null }>(`SELECT id, amount, amount_new FROM orders WHERE id IN (1, 2, 3, ${ROWS + 1}, ${ROWS + 2}) ORDER BY id`);
    expect(both.map((r) => [Number(r.id), r.amount, r.amount_new === null ? null : Number(r.amount_new)])).toEqual([
      [1, '9', 900],
      [2, '12', 1200],
      [3, '3', null], // written before the expand, amount untouched: the backfill's job
      [ROWS + 1, '5', 500],
      [ROWS + 2, '7', 700],
    ]);

    const backfill = cli('up', '--to', '0003', '--no-backup');
    expect(backfill.status, backfill.stderr).toBe(0);
    const behind = await db.query<{ n: number | string }>(`SELECT count(*) AS n FROM orders WHERE amount IS NOT NULL AND (amount_new IS NULL OR amount_new <> CAST(amount AS integer) * 100)`);
    expect(Number(behind[0]!.n)).toBe(0);
    // The backfill went through the triggers without rewriting amount.
    const texts = await db.query<{ amount: string }>(`SELECT amount FROM orders WHERE id = 42`);
    expect(texts[0]!.amount).toBe('42');

    const last = cli('up');
    expect(last.status, last.stderr).toBe(0);
    const rows = await db.query<{ n: number | string; filled: number | string; total: number | string }>(`SELECT count(*) AS n, count(amount) AS filled, sum(amount) AS total FROM orders`);
    const expectedTotal = Array.from({ length: ROWS }, (_, i) => ((i + 1) % 100) * 100).reduce((a, b) => a + b, 0) - 100 + 900 - 200 + 1200 + 500 + 700;
    expect([Number(rows[0]!.n), Number(rows[0]!.filled), Number(rows[0]!.total)]).toEqual([ROWS + 3, ROWS + 2, expectedTotal]);
    await expect(db.query('SELECT amount_new FROM orders')).rejects.toThrow(/amount_new/);
    const type =
      kind === 'postgres'
        ? await db.query<{ t: string }>(`SELECT data_type AS t FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'amount'`)
        : await db.query<{ t: string }>(`SELECT typeof(amount) AS t FROM orders WHERE id = 42`);
    expect(type[0]!.t).toBe('integer');
    // Writes after the contract go straight into the integer column.
    await db.query(`INSERT INTO orders (id, amount) VALUES (${ROWS + 3}, 4200)`);
    const after = await db.query<{ amount: number }>(`SELECT amount FROM orders WHERE id = ${ROWS + 3}`);
    expect(Number(after[0]!.amount)).toBe(4200);
  }, 180_000);

  it('refuses a column that is not there, a key column, and a taken shadow name, writing nothing; notes the column order and the indexes the contract affects', async () => {
    const db = current();
    const cwd = tempDir();
    writeMigrations(cwd, {
      '0001_create_orders.sql': `-- migrate:up\nCREATE TABLE orders (id integer PRIMARY KEY, amount text, amount_new text, note text, sku text);\nCREATE INDEX orders_sku_idx ON orders (sku);\n-- migrate:down\nDROP TABLE orders;\n`,
    });
    const cli = (...args: string[]) => runCli([...args, '--url', db.url], { cwd });
    expect(cli('up').status).toBe(0);
    const missing = cli('plan', 'change-type', 'orders.price', 'integer');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/table orders has no column price[\s\S]*its columns: id, amount, amount_new, note, sku/);
    const key = cli('plan', 'change-type', 'orders.id', 'bigint');
    expect(key.status).toBe(2);
    expect(key.stderr).toMatch(/orders\.id is part of the table's key/);
    const taken = cli('plan', 'change-type', 'orders.amount', 'integer');
    expect(taken.status).toBe(2);
    expect(taken.stderr).toMatch(/already has a column amount_new/);
    expect(cli('status', '--json').stdout).not.toMatch(/0002/);
    // A column in the middle of the table: the contract's down cannot put it back in its place, and plan says so.
    const notLast = cli('plan', 'change-type', 'orders.note', 'integer');
    expect(notLast.status, notLast.stderr).toBe(0);
    expect(notLast.stdout).toMatch(/note: note is not the last column of orders: the contract's down adds it back after sku/);
    expect(notLast.stdout).not.toMatch(/is used by/);
    // An index on the column is carried over by the plan itself: no note about it but, on SQLite, the name it keeps.
    const indexed = cli('plan', 'change-type', 'orders.sku', 'integer');
    expect(indexed.status, indexed.stderr).toBe(0);
    expect(indexed.stdout).not.toMatch(/is used by/);
    if (kind !== 'postgres') expect(indexed.stdout).toMatch(/note: the indexes on sku are built on sku_new as orders_sku_new_idx and keep those names/);
  }, 60_000);

  it("carries the column's indexes and default over: expand builds them on amount_new, the contract keeps them, and an INSERT that leaves amount out gets the converted default", async () => {
    const db = current();
    const cwd = tempDir();
    writeMigrations(cwd, {
      '0001_create_orders.sql': `-- Migration: create orders\n-- Type: additive\n-- Rollback: drops orders\n-- migrate:up\nCREATE TABLE orders (id integer PRIMARY KEY, note text, amount text DEFAULT '3');\nCREATE INDEX orders_amount_idx ON orders (amount);\nCREATE INDEX orders_note_amount ON orders (note, amount) WHERE amount IS NOT NULL;\nCREATE INDEX orders_note_idx ON orders (note);\nINSERT INTO orders (id, note, amount) VALUES (1, 'a', '1'), (2, 'b', '2'), (3, 'c', NULL);\n-- migrate:down\nDROP TABLE orders;\n`,
    });
    const cli = (...args: string[]) => runCli([...args, '--url', db.url], { cwd });
    expect(cli('up').status).toBe(0);
    const planned = cli('plan', 'change-type', 'orders.amount', 'integer', '--using', 'CAST(amount AS integer) * 100', '--back', 'CAST(amount / 100 AS text)');
    expect(planned.status, planned.stderr).toBe(0);
    const lint = cli('lint');
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    const verify = cli('verify');
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    const indexes = async () => {
      const rows =
        kind === 'postgres'
          ? await db.query<{ name: string; sql: string }>(`SELECT indexname AS name, indexdef AS sql FROM pg_indexes WHERE tablename = 'orders' AND indexname <> 'orders_pkey' ORDER BY 1`)
          : await db.query<{ name: string; sql: string }>(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders' AND sql IS NOT NULL ORDER BY 1`);
      return rows.map((r) => `${r.name}: ${r.sql.replace(/^.* ON (public\.)?orders (USING btree )?/, '').replace(/"/g, '')}`);
    };

    // Expand (and, on PostgreSQL, the expand's own file that builds the indexes CONCURRENTLY).
    const expandTo = kind === 'postgres' ? '0003' : '0002';
    expect(cli('up', '--to', expandTo).status).toBe(0);
    expect(await indexes()).toEqual(
      kind === 'postgres'
        ? ['orders_amount_idx: (amount)', 'orders_amount_new_idx: (amount_new)', 'orders_note_amount: (note, amount) WHERE (amount IS NOT NULL)', 'orders_note_amount_new: (note, amount_new) WHERE (amount_new IS NOT NULL)', 'orders_note_idx: (note)']
        : ['orders_amount_idx: (amount)', 'orders_amount_new_idx: (amount_new)', 'orders_note_amount: (note, amount) WHERE amount IS NOT NULL', 'orders_note_amount_new: (note, amount_new) WHERE amount_new IS NOT NULL', 'orders_note_idx: (note)'],
    );
    // The new app leaves amount out (it gets its default '3'): amount follows amount_new all the same; the old app leaves amount_new out.
    await db.query(`INSERT INTO orders (id, note, amount_new) VALUES (10, 'new app', 700)`);
    await db.query(`INSERT INTO orders (id, note, amount) VALUES (11, 'old app', '5')`);
    await db.query(`INSERT INTO orders (id, note) VALUES (12, 'neither')`);
    const both = await db.query<{ id: number; amount: string | null; amount_new: number | null }>(`SELECT id, amount, amount_new FROM orders WHERE id >= 10 ORDER BY id`);
    expect(both.map((r) => [Number(r.id), r.amount, r.amount_new === null ? null : Number(r.amount_new)])).toEqual([
      [10, '7', 700],
      [11, '5', 500],
      [12, '3', 300],
    ]);

    expect(cli('up', '--to', kind === 'postgres' ? '0004' : '0003').status).toBe(0); // the backfill
    const last = cli('up');
    expect(last.status, last.stderr).toBe(0);
    expect(await indexes()).toEqual(
      kind === 'postgres'
        ? ['orders_amount_idx: (amount)', 'orders_note_amount: (note, amount) WHERE (amount IS NOT NULL)', 'orders_note_idx: (note)']
        : ['orders_amount_new_idx: (amount)', 'orders_note_amount_new: (note, amount) WHERE amount IS NOT NULL', 'orders_note_idx: (note)'],
    );
    await db.query(`INSERT INTO orders (id, note) VALUES (13, 'after the contract')`);
    const after = await db.query<{ id: number; amount: number | null }>(`SELECT id, amount FROM orders ORDER BY id`);
    expect(after.map((r) => [Number(r.id), r.amount === null ? null : Number(r.amount)])).toEqual([
      [1, 100],
      [2, 200],
      [3, null],
      [10, 700],
      [11, 500],
      [12, 300],
      [13, 300],
    ]);
    // Back down through the contract: amount is text again, with its default and its indexes.
    const down = cli('down');
    expect(down.status, down.stderr).toBe(0);
    expect((await indexes()).filter((i) => !i.includes('amount_new'))).toEqual(
      kind === 'postgres'
        ? ['orders_amount_idx: (amount)', 'orders_note_amount: (note, amount) WHERE (amount IS NOT NULL)', 'orders_note_idx: (note)']
        : ['orders_amount_idx: (amount)', 'orders_note_amount: (note, amount) WHERE amount IS NOT NULL', 'orders_note_idx: (note)'],
    );
    await db.query(`INSERT INTO orders (id, note, amount_new) VALUES (14, 'new app again', 900)`);
    const again = await db.query<{ amount: string }>(`SELECT amount FROM orders WHERE id = 14`);
    expect(again[0]!.amount).toBe('9');
  }, 180_000);
}, { d1: true });
