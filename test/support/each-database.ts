import { afterEach, beforeAll, beforeEach, describe, it } from 'vitest';
import { DATABASES, DATABASES_WITH_D1, postgresUnavailable, REQUIRE_PG, type TestDatabase } from './databases.js';

/**
 * Runs one suite against every database. Each test gets a fresh, empty
 * database (`current()`), dropped afterwards. PostgreSQL suites skip with
 * their reason when the server is down, or fail when CAIRN_REQUIRE_PG=1.
 */
export function describeEachDatabase(title: string, suite: (current: () => TestDatabase, kind: 'sqlite' | 'postgres') => void): void;
/** With `{ d1: true }`, also against a local D1 (miniflare). */
export function describeEachDatabase(title: string, suite: (current: () => TestDatabase, kind: TestDatabase['kind']) => void, options: { readonly d1: true }): void;
export function describeEachDatabase(title: string, suite: (current: () => TestDatabase, kind: never) => void, options: { readonly d1?: boolean } = {}): void {
  for (const database of options.d1 ? DATABASES_WITH_D1 : DATABASES) {
    describe(`${title} [${database.kind}]`, () => {
      let db: TestDatabase | undefined;
      let unavailable: string | null = null;
      beforeAll(async () => {
        if (database.kind !== 'postgres') return;
        unavailable = await postgresUnavailable();
        if (unavailable && REQUIRE_PG) throw new Error(`PostgreSQL is required (CAIRN_REQUIRE_PG=1) but unreachable: ${unavailable}`);
        if (unavailable) console.warn(`skipping PostgreSQL tests: ${unavailable} (set CAIRN_REQUIRE_PG=1 to fail instead)`);
      });
      beforeEach(async (context) => {
        if (unavailable) return context.skip();
        db = await database.create();
      });
      afterEach(async () => {
        await db?.drop();
        db = undefined;
      });
      suite(() => {
        if (!db) throw new Error('no test database');
        return db;
      }, database.kind as never);
    });
  }
}

export { it };
