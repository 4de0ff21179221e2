import { createTestDatabase, type TestDatabase } from 'cairn-migrate/testing';
import { test as base } from 'vitest';

/**
 * `db`: a database of its own for each test, holding the schema (and seed rows)
 * of every migration in ../migrations. The migrations run once, into a template
 * every worker shares; each test gets a copy, removed when the test ends.
 * TEST_DATABASE_URL picks the engine: `sqlite:` (default), `:memory:`, or a
 * PostgreSQL server (postgres://postgres@127.0.0.1:5432/postgres).
 */
export const test = base.extend<{ db: TestDatabase }>({
  db: async ({}, use) => {
    const db = await createTestDatabase({ url: process.env.TEST_DATABASE_URL ?? 'sqlite:', dir: new URL('../migrations', import.meta.url).pathname });
    await use(db);
    await db.close();
  },
});
