import { expect } from 'vitest';
import { test } from './fixture.js';
import { sql } from './sql.js';

// Each test writes its own user into its own database: it never sees another test's row,
// whichever tests (in this file or in grace.test.ts) run at the same time.
for (const n of [1, 2, 3]) {
  test.concurrent(`ada ${n} sees only the row it wrote`, async ({ db }) => {
    const email = `ada${n}@example.com`;
    await sql(db.url, 'INSERT INTO users (id, email, display_name, created_at) VALUES ($1, $2, $3, $4)', [1, email, 'ada', '2024-01-01T00:00:00Z']);
    const rows = await sql(db.url, 'SELECT email FROM users');
    expect(rows.map((row) => row.email)).toEqual([email]);
  });
}
