import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lintMigrations } from '../src/lint/linter.js';
import { parsePostgres } from '../src/lint/parse/postgres.js';
import { shapeOf } from '../src/lint/parse/shape.js';
import { parseSqlite } from '../src/lint/parse/sqlite.js';
import type { LintStatement, LintTarget } from '../src/lint/types.js';
import { readMigrations } from '../src/source/files.js';
import type { Migration } from '../src/source/migration.js';
import { splitStatements } from '../src/source/split.js';

/**
 * The fast path (parse/shape.ts) parses one data statement of each shape and
 * lets the others of that shape borrow its facts, parsing their own trees
 * only when a rule reads them. Whatever it skips, the findings must be the
 * ones a full parse of every statement gives: checked on the lint corpus and
 * on examples/, each data statement followed by a copy with other constants
 * (so that the copy takes the fast path).
 */
const here = fileURLToPath(new URL('.', import.meta.url));
const target = (dialect: LintTarget['dialect'], d1 = false): LintTarget => ({ dialect, d1, postgresVersion: 15, sqliteVersion: '3.45.0' });

const folders = [
  ['corpus/postgres/migrations', target('postgres')],
  ['corpus/sqlite/migrations', target('sqlite')],
  ['corpus/d1/migrations', target('sqlite', true)],
  ['../examples/migrations', target('postgres')],
  ['../examples/migrations', target('sqlite')],
] as const;

/** The same constants, changed: numbers grow a digit, strings a letter. */
function otherConstants(sql: string): string {
  return sql.replace(/'((?:[^']|'')*)'|\b\d+\b/g, (match, text: string | undefined) => (text === undefined ? `${match}7` : `'${text}x'`));
}

/** Each data statement twice: as written, then with other constants. */
function withCopies(migration: Migration): Migration {
  const statements = migration.up.statements.flatMap((s) => (shapeOf(s.sql) === null ? [s] : [s, { ...s, sql: otherConstants(s.sql) }]));
  return { ...migration, up: { ...migration.up, statements } };
}

describe('lint fast path', () => {
  it.each(folders)('gives the same report as a full parse on %s (%o)', async (folder, lintTarget) => {
    const dir = join(here, folder);
    const migrations = readMigrations(dir, join(dir, '..')).map(withCopies);
    expect(migrations.some((m) => m.up.statements.some((s) => shapeOf(s.sql) !== null))).toBe(true);
    const fast = await lintMigrations(migrations, { target: lintTarget });
    const full = await lintMigrations(migrations, { target: lintTarget, fastPath: false });
    expect(fast).toEqual(full);
  });

  // Statements the shapes must keep apart: each is followed by one of the same shape, and each pair parses alike or not at all.
  const tricky = [
    'INSERT INTO items (id, label) VALUES (1, \'one\')',
    'INSERT INTO items (id, label) VALUES (1.5, \'it\'\'s\')',
    'INSERT INTO items (id, label) VALUES (1e5, "label")',
    'INSERT INTO items VALUES (-1, NULL), (2, TRUE)',
    "INSERT INTO items VALUES (X'00', x'0')",
    "INSERT INTO items VALUES (E'a\\nb', 1)",
    'INSERT INTO "Items" ("Id") VALUES (3)',
    'INSERT INTO [items] (`id`) VALUES (4)',
    'INSERT INTO main.items VALUES (5)',
    'INSERT INTO order VALUES (6)',
    'INSERT INTO items VALUES (7',
    'INSERT INTO items VALUES (1.)',
    'INSERT OR IGNORE INTO items VALUES (8)',
    'REPLACE INTO items VALUES (9)',
    "UPDATE items SET label = 'x' WHERE id = 10",
    'UPDATE items SET label = NULL',
    'DELETE FROM items WHERE id IN (11, 12)',
    'DELETE FROM items',
    'INSERT INTO items VALUES ($1, ?, :name)',
    'INSERT INTO items -- note\nVALUES (1)',
    "INSERT INTO items SELECT 1, 'a' FROM other WHERE x > 0.5",
  ];
  const statements = splitStatements(tricky.flatMap((sql) => [sql, otherConstants(sql)]).join(';\n'));

  it.each([
    ['sqlite', parseSqlite],
    ['postgres', parsePostgres],
  ] as const)('parses every %s statement of a shape as a full parse does', async (_dialect, parse) => {
    // Field by field: the tree of a statement that took the fast path is a getter.
    const plain = (parsed: readonly LintStatement[]) => parsed.map(({ index, sql, line, column, fact, parseError, pg, sqlite }) => ({ index, sql, line, column, fact, parseError, pg, sqlite }));
    const fast = await parse(statements);
    const full = await parse(statements, { fastPath: false });
    expect(plain(fast)).toEqual(plain(full));
    expect(fast.filter((s) => Object.getOwnPropertyDescriptor(s, parse === parseSqlite ? 'sqlite' : 'pg') === undefined).length).toBeGreaterThan(5);
  });
});
