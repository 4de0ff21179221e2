import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCairn } from '../src/index.js';
import { startCli } from './support/processes.js';
import { createPostgresDatabase, postgresUnavailable, REQUIRE_PG, runCli, tempDir, writeMigrations, type TestDatabase } from './support/databases.js';

/**
 * config statementLockTimeout: Cairn starts each transactional migration with
 * SET LOCAL lock_timeout, retries a migration that gave way, and the lint rule
 * require-lock-timeout speaks only when the setting is off. A real PostgreSQL
 * server, with the blocking lock held by a second connection.
 */
const CREATE = '-- migrate:up\nCREATE TABLE orders (id bigint PRIMARY KEY);\n-- migrate:down\nDROP TABLE orders;\n';
const ALTER = '-- migrate:up\nALTER TABLE orders ADD COLUMN shipped_at timestamptz;\n-- migrate:down\nALTER TABLE orders DROP COLUMN shipped_at;\n';

const unavailable = await postgresUnavailable();
if (unavailable && REQUIRE_PG) throw new Error(`PostgreSQL is required (CAIRN_REQUIRE_PG=1) but unreachable: ${unavailable}`);

describe.skipIf(unavailable !== null)('statementLockTimeout on PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createPostgresDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  function project(config: Record<string, unknown>) {
    const root = tempDir('cairn-stmtlock-');
    const dir = writeMigrations(root, { '0001_create_orders.sql': CREATE, '0002_add_shipped_at.sql': ALTER });
    writeFileSync(join(root, 'cairn.config.json'), JSON.stringify(config));
    const notices: string[] = [];
    const cairn = createCairn({ url: db.url, dir, cwd: root, envVars: {}, onEvent: (e) => e.type === 'notice' && notices.push(e.message) });
    return { root, cairn, notices };
  }

  /** A second connection that holds a lock on orders until released. */
  async function holdLock(): Promise<{ release: () => Promise<void> }> {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query('BEGIN');
    await client.query('LOCK TABLE orders IN ACCESS SHARE MODE');
    return {
      release: async () => {
        await client.query('ROLLBACK');
        await client.end();
      },
    };
  }

  it('gives way on a held lock, retries, and fails naming the lock wait; nothing of the migration remains', async () => {
    await db.query('DROP TABLE IF EXISTS orders; DROP TABLE IF EXISTS cairn_migrations');
    const { cairn, notices } = project({ statementLockTimeout: '200ms', statementLockRetries: 2, statementLockBackoff: '50ms' });
    await cairn.up({ to: '0001' });
    const holder = await holdLock();
    try {
      const result = await cairn.up();
      expect(result.success).toBe(false);
      const failure = result.errors[0]!;
      expect(failure).toMatchObject({ version: '0002', file: expect.stringContaining('0002_add_shipped_at.sql'), line: 2, engineCode: '55P03', rolledBack: true });
      expect(failure.message).toContain('statementLockTimeout');
      expect(failure.hint).toContain('the table was busy');
    } finally {
      await holder.release();
    }
    expect(notices.filter((n) => n.includes('gave way'))).toHaveLength(2);
    expect(notices[0]).toContain('retry 1 of 2');
    const columns = await db.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' ORDER BY column_name");
    expect(columns.map((c) => c.column_name)).toEqual(['id']);
  });

  it('succeeds when the other connection lets go during the retries', async () => {
    await db.query('DROP TABLE IF EXISTS orders; DROP TABLE IF EXISTS cairn_migrations');
    const { cairn, notices } = project({ statementLockTimeout: '200ms', statementLockRetries: 5, statementLockBackoff: '100ms' });
    await cairn.up({ to: '0001' });
    const holder = await holdLock();
    // Let go once Cairn has given way the first time.
    const released = (async () => {
      while (!notices.some((n) => n.includes('gave way'))) await new Promise((r) => setTimeout(r, 20));
      await holder.release();
    })();
    const result = await cairn.up();
    await released;
    expect(result.success).toBe(true);
    expect(result.applied.map((s) => s.version)).toEqual(['0002']);
    const columns = await db.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' ORDER BY column_name");
    expect(columns.map((c) => c.column_name)).toEqual(['id', 'shipped_at']);
  });

  it('cairn up on the command line: says which lock wait ran out, that it retried, that the table was busy; exit 1', async () => {
    await db.query('DROP TABLE IF EXISTS orders; DROP TABLE IF EXISTS cairn_migrations');
    const { root, cairn } = project({ statementLockTimeout: '200ms', statementLockRetries: 1, statementLockBackoff: '50ms' });
    await cairn.up({ to: '0001' });
    const holder = await holdLock();
    try {
      const run = runCli(['up', '--url', db.url], { cwd: root });
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr).toContain('0002_add_shipped_at.sql:2: waited more than 200 ms for a table lock (statementLockTimeout) and gave way; 0002 was rolled back, retry 1 of 1');
      expect(run.stderr).toMatch(/error\[MIGRATION_FAILED\]: .*0002_add_shipped_at\.sql:2:1: waited more than 200 ms for a lock on a table another session holds.*\(tried 2 times\).*\(55P03\)/);
      expect(run.stderr).toContain('hint: the statement is fine, the table was busy');
    } finally {
      await holder.release();
    }
  });

  it('Ctrl-C during the pause before a retry stops at once: rolled back, exit 130', { timeout: 30_000 }, async () => {
    await db.query('DROP TABLE IF EXISTS orders; DROP TABLE IF EXISTS cairn_migrations');
    const { root, cairn } = project({ statementLockTimeout: '200ms', statementLockRetries: 3, statementLockBackoff: '60s' });
    await cairn.up({ to: '0001' });
    const holder = await holdLock();
    try {
      const run = startCli(['up', '--url', db.url], root);
      // Cairn's connection waits on the lock, gives way, then sits idle in the 60 s pause.
      const cairnState = async () => (await db.query<{ state: string; wait: string | null }>("SELECT state, wait_event_type AS wait FROM pg_stat_activity WHERE application_name LIKE 'cairn %'"))[0];
      while ((await cairnState())?.wait !== 'Lock') await new Promise((r) => setTimeout(r, 20));
      while ((await cairnState())?.state !== 'idle') await new Promise((r) => setTimeout(r, 20));
      process.kill(run.pid, 'SIGINT');
      const exit = await run.exited;
      expect(exit.code, exit.stderr).toBe(130);
      expect(exit.stderr).toContain('0002');
    } finally {
      await holder.release();
    }
    const columns = await db.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' ORDER BY column_name");
    expect(columns.map((c) => c.column_name)).toEqual(['id']);
  });

  it('lint: require-lock-timeout is quiet while Cairn sets lock_timeout, and speaks when statementLockTimeout is off', async () => {
    const rule = async (config: Record<string, unknown>) => (await project(config).cairn.lint()).files.flatMap((f) => f.findings.map((x) => `${f.version} ${x.rule}`));
    expect(await rule({})).not.toContain('0002 require-lock-timeout');
    expect(await rule({ statementLockTimeout: false })).toContain('0002 require-lock-timeout');
    expect(await rule({ statementLockTimeout: '0' })).toContain('0002 require-lock-timeout');
  });

  it('rejects a statementLockTimeout that is not a duration', async () => {
    await expect(project({ statementLockTimeout: 'soon' }).cairn.lint()).rejects.toMatchObject({ code: 'CONFIG', message: expect.stringContaining("statementLockTimeout must be a duration such as '5s'") });
  });
});
