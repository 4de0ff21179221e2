#!/usr/bin/env node
// Writes N small, portable migrations (CREATE TABLE + CREATE INDEX, with a down
// section) in Cairn's format, which is also dbmate's: `-- migrate:up` / `-- migrate:down`.
//
//   node bench/generate.mjs [N] [--out DIR]     (default N=1000, DIR a new temp dir)
//
// Prints the directory. apply.mjs imports generate() and upSection() from here.
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The text of migration `i` (1-based), versions zero-padded to `width` digits. */
export function migrationText(i, width) {
  const t = `t_${String(i).padStart(width, '0')}`;
  return `-- Migration: create ${t}
-- Type: additive
-- Rollback: drops ${t} and its rows

-- migrate:up
CREATE TABLE ${t} (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  score INTEGER NOT NULL DEFAULT 0,
  created_at TEXT
);
CREATE INDEX ${t}_name_idx ON ${t} (name);

-- migrate:down
DROP INDEX ${t}_name_idx;
DROP TABLE ${t};
`;
}

/** Version digits for a set of n migrations: at least 4, so `0001`, like `cairn new`. */
export const widthFor = (n) => Math.max(4, String(n).length);

/** Writes migration `i` into `dir`; returns its file name. */
export function writeMigration(dir, i, width) {
  const name = `${String(i).padStart(width, '0')}_create_t_${String(i).padStart(width, '0')}.sql`;
  writeFileSync(join(dir, name), migrationText(i, width));
  return name;
}

/** Writes migrations 1..n into `dir` (created if needed; must hold no .sql files). Returns the file names. */
export function generate(dir, n, width = widthFor(n)) {
  if (!Number.isInteger(n) || n < 1) throw new Error(`N must be a positive whole number, got ${n}`);
  mkdirSync(dir, { recursive: true });
  if (readdirSync(dir).some((f) => f.endsWith('.sql'))) throw new Error(`${dir} already holds .sql files`);
  const files = [];
  for (let i = 1; i <= n; i++) files.push(writeMigration(dir, i, width));
  return files;
}

/** The SQL between `-- migrate:up` and `-- migrate:down`, for feeding a raw engine. */
export function upSection(text) {
  const up = text.split(/^--\s*migrate:up.*$/m)[1];
  if (up === undefined) throw new Error('no -- migrate:up marker');
  return up.split(/^--\s*migrate:down.*$/m)[0].trim();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const dir = outAt >= 0 ? resolve(args[outAt + 1] ?? '') : mkdtempSync(join(tmpdir(), 'cairn-bench-'));
  const positional = args.filter((a, i) => !a.startsWith('--') && (outAt < 0 || i !== outAt + 1));
  const n = positional[0] === undefined ? 1000 : Number(positional[0]);
  try {
    generate(dir, n);
  } catch (error) {
    console.error(`generate: ${error.message}`);
    process.exit(2);
  }
  console.log(dir);
}
