import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCairn } from '../src/index.js';
import { createPostgresDatabase, postgresUnavailable, REQUIRE_PG, tempDir, writeMigrations, type TestDatabase } from './support/databases.js';

/**
 * The linter in front of `up`: what it says about files adopted from other
 * tools, about files already applied, and what it prints when it refuses.
 * Real SQLite files; the findings are what the user would read.
 */
const DBMATE_USERS = '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n-- migrate:down\nDROP TABLE users;\n';
const DBMATE_POSTS = '-- migrate:up\nCREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);\n-- migrate:down\nDROP TABLE posts;\n';

function project(files: Record<string, string>, config?: unknown, url?: string) {
  const root = tempDir('cairn-lintgate-');
  const dir = writeMigrations(root, files);
  if (config) writeFileSync(join(root, 'cairn.config.json'), JSON.stringify(config));
  return { root, dir, cairn: createCairn({ url: url ?? `sqlite:${join(root, 'app.db')}`, dir, cwd: root, envVars: {} }) };
}

describe('lint before up', () => {
  it('says nothing about the header of files adopted from dbmate, and keeps their risk low', async () => {
    const { cairn } = project({ '0001_create_users.sql': DBMATE_USERS, '0002_create_posts.sql': DBMATE_POSTS });
    const report = await cairn.lint();
    expect(report.files.flatMap((f) => f.findings.map((x) => x.rule))).not.toContain('header-template');
    expect(report.files.map((f) => f.classification.risk)).toEqual(['low', 'low']);
    const plan = await cairn.up({ dryRun: true });
    expect(plan.lint.flatMap((f) => f.findings)).toEqual([]);
  });

  it("checks every file's header under lint.header: 'required'", async () => {
    const { cairn } = project({ '0001_create_users.sql': DBMATE_USERS }, { lint: { header: 'required' } });
    const report = await cairn.lint();
    expect(report.files[0]!.findings.map((f) => f.rule)).toEqual(['header-template', 'header-template', 'header-template']);
  });

  it('rejects an unknown lint.header value', async () => {
    const { cairn } = project({ '0001_create_users.sql': DBMATE_USERS }, { lint: { header: 'always' } });
    await expect(cairn.lint()).rejects.toMatchObject({ code: 'CONFIG', message: expect.stringContaining('lint.header must be "opt-in" or "required"') });
  });

  it('does not repeat the findings of files already applied', async () => {
    const noisy = '-- Migration: users\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n';
    const { root, cairn } = project({ '0001_create_users.sql': noisy });
    const first = await cairn.up();
    expect(first.lint.flatMap((f) => f.findings.map((x) => `${f.version} ${x.rule}`))).toContain('0001 header-template');
    writeMigrations(root, { '0002_create_posts.sql': DBMATE_POSTS });
    const second = await cairn.up();
    expect(second.filesExecuted).toBe(1);
    expect(second.lint.map((f) => f.version)).toEqual(['0002']);
    expect(second.lint.flatMap((f) => f.findings)).toEqual([]);
  });

  it('shows the unused allows of a refused file next to its errors', async () => {
    // The allow sits above the wrong statement: it suppresses nothing, and that is why up refuses.
    const misplaced = '-- migrate:up\n-- cairn:allow drop-column the column was never read\nCREATE INDEX posts_title ON posts (title);\nALTER TABLE posts DROP COLUMN title;\n-- migrate:down\nALTER TABLE posts ADD COLUMN title TEXT;\n';
    const { cairn } = project({ '0001_create_posts.sql': DBMATE_POSTS, '0002_drop_title.sql': misplaced });
    const refusal = await cairn.up().catch((error: unknown) => error);
    expect(refusal).toMatchObject({ code: 'LINT', details: { unusedAllows: [expect.objectContaining({ rule: 'unused-allow', line: 2 })] } });
    const message = (refusal as Error).message;
    expect(message).toContain('0002_drop_title.sql:4:');
    expect(message).toMatch(/0002_drop_title\.sql:2:1 warning unused-allow/);
  });
});

/** The linter's verdicts on PostgreSQL, checked against PostgreSQL itself. */
describe('lint before up [postgres]', () => {
  let skip: string | null = null;
  let db: TestDatabase | null = null;
  beforeAll(async () => {
    skip = await postgresUnavailable();
    if (skip && REQUIRE_PG) throw new Error(`PostgreSQL is required (CAIRN_REQUIRE_PG=1) but unreachable: ${skip}`);
    if (!skip) db = await createPostgresDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });
  const ORDERS = "-- migrate:up\nSET lock_timeout = '5s';\nCREATE TYPE order_status AS ENUM ('open', 'paid');\nCREATE TABLE orders (id bigint PRIMARY KEY, status order_status NOT NULL, email text);\nINSERT INTO orders VALUES (1, 'open', 'a@example.com');\n";

  it('applies SET NOT NULL after a validated CHECK (col IS NOT NULL): no false alarm', async (context) => {
    if (skip) return context.skip();
    await db!.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
    const check = "-- migrate:up\nSET lock_timeout = '5s';\nALTER TABLE orders ADD CONSTRAINT orders_email_not_null CHECK (email IS NOT NULL) NOT VALID;\n";
    const validate = "-- migrate:up\nSET lock_timeout = '5s';\nALTER TABLE orders VALIDATE CONSTRAINT orders_email_not_null;\nALTER TABLE orders ALTER COLUMN email SET NOT NULL;\nALTER TABLE orders DROP CONSTRAINT orders_email_not_null;\n";
    const { cairn } = project({ '0001_orders.sql': ORDERS, '0002_email_check.sql': check, '0003_email_not_null.sql': validate }, { lint: { dialect: 'postgres' } }, db!.url);
    const result = await cairn.up();
    expect(result.lint.flatMap((f) => f.findings.filter((x) => x.severity === 'error'))).toEqual([]);
    expect(result.filesExecuted).toBe(3);
    expect(await db!.query("SELECT is_nullable FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'email'")).toEqual([{ is_nullable: 'NO' }]);
  });

  it('refuses a new enum value used in the transaction that added it (PostgreSQL would reject it)', async (context) => {
    if (skip) return context.skip();
    await db!.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
    const cancel = "-- migrate:up\nSET lock_timeout = '5s';\nALTER TYPE order_status ADD VALUE 'cancelled';\nUPDATE orders SET status = 'cancelled' WHERE id = 1;\n";
    const { cairn } = project({ '0001_orders.sql': ORDERS, '0002_cancel.sql': cancel }, { lint: { dialect: 'postgres' } }, db!.url);
    await expect(cairn.up()).rejects.toMatchObject({ code: 'LINT', message: expect.stringContaining('0002_cancel.sql:4:28 error enum-value-ordering') });
    expect(await db!.query("SELECT to_regclass('orders') AS t")).toEqual([{ t: null }]);
    // What the linter predicts is what PostgreSQL does: --unsafe applies 0001, then 0002 fails and rolls back.
    const outcome = await cairn.up({ unsafe: true }).catch((e: unknown) => e);
    expect(outcome instanceof Error ? outcome.message : JSON.stringify(outcome)).toContain('unsafe use of new value');
    expect(await db!.query("SELECT count(*)::int AS n FROM orders WHERE status::text = 'cancelled'")).toEqual([{ n: 0 }]);
  });
});
