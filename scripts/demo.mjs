#!/usr/bin/env node
// First-run demo: the real CLI over a copy of examples/migrations on a fresh SQLite file,
// with rows in it: a dangerous migration caught before it runs, and rows backed up and
// restored around a destructive one. Run with `npm run demo` (builds first). The database
// is left at .cairn/demo.db, so you can look inside: sqlite3 .cairn/demo.db .schema
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'bin', 'cairn.js');
const database = '.cairn/demo.db';
const migrations = '.cairn/demo-migrations';
const global = ['--url', `sqlite:${database}`, '--dir', migrations];

if (!existsSync(cli)) {
  console.error('dist/bin/cairn.js is missing: run `npm run build` first (or `npm run demo`, which builds).');
  process.exit(2);
}
mkdirSync(join(root, '.cairn'), { recursive: true });
for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(join(root, `${database}${suffix}`), { force: true });
// Backups of earlier demo runs' databases would pile up in the listing below.
rmSync(join(root, '.cairn', 'backups'), { recursive: true, force: true });
// A copy of the examples, so the migrations this demo writes never land in examples/.
rmSync(join(root, migrations), { recursive: true, force: true });
cpSync(join(root, 'examples', 'migrations'), join(root, migrations), { recursive: true });

const bold = (text) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const dim = (text) => (process.stdout.isTTY ? `\x1b[2m${text}\x1b[0m` : text);
// The demo must not pick up a CAIRN_ENV or DATABASE_URL meant for another project.
const env = { ...process.env };
delete env.CAIRN_ENV;
delete env.DATABASE_URL;

const DROP_TEAMS = `-- Migration: drop teams (we are moving to organizations)
-- Type: destructive
-- Rollback: none

-- migrate:up
DROP TABLE teams;
`;

const DROP_COMMENTS = `-- Migration: drop comments (they move to the new discussion service)
-- Type: destructive
-- Rollback: recreates the table; \`cairn restore 0009\` puts the rows back from the backup
-- cairn:allow drop-table comments live in the discussion service now; up backs the rows up first

-- migrate:up
DROP INDEX comments_post_id_idx;
DROP TABLE comments;

-- migrate:down
CREATE TABLE comments (
  id INTEGER PRIMARY KEY,
  post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  author_id INTEGER NOT NULL REFERENCES users (id),
  body TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX comments_post_id_idx ON comments (post_id, created_at);
`;

function seed() {
  const db = new Database(join(root, database));
  const now = '2026-12-01T09:00:00Z';
  db.transaction(() => {
    for (let i = 1; i <= 100; i++) db.prepare('INSERT INTO users (id, email, display_name, created_at) VALUES (?, ?, ?, ?)').run(i, `user${i}@example.com`, `User ${i}`, now);
    for (let t = 1; t <= 5; t++) {
      db.prepare('INSERT INTO teams (id, slug, name, created_at) VALUES (?, ?, ?, ?)').run(t, `team-${t}`, `Team ${t}`, now);
      for (let u = t; u <= 100; u += 5) db.prepare('INSERT INTO memberships (team_id, user_id) VALUES (?, ?)').run(t, u);
    }
    for (let p = 1; p <= 50; p++) db.prepare("INSERT INTO posts (id, team_id, author_id, slug, title, status, created_at) VALUES (?, ?, ?, ?, ?, 'published', ?)").run(p, (p % 5) + 1, p, `post-${p}`, `Post ${p}`, now);
    for (let c = 1; c <= 300; c++) db.prepare('INSERT INTO comments (id, post_id, author_id, body, created_at) VALUES (?, ?, ?, ?, ?)').run(c, (c % 50) + 1, (c % 100) + 1, `Comment ${c}`, now);
  })();
  db.close();
  return count();
}

function count() {
  const db = new Database(join(root, database), { readonly: true });
  const tables = ['users', 'teams', 'memberships', 'posts', 'comments'];
  const exists = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all());
  const line = tables.map((t) => `${t} ${exists.has(t) ? db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() : '(no table)'}`).join(', ');
  db.close();
  console.log(`rows: ${line}`);
}

const write = (file, text) => () => (writeFileSync(join(root, migrations, file), text), console.log(`wrote ${migrations}/${file}`));
const remove = (file) => () => (rmSync(join(root, migrations, file)), console.log(`removed ${migrations}/${file}`));

// [title, cairn arguments or a function, the exit code this step shows]
const steps = [
  ['A fresh database: every migration is pending', ['status']],
  ['Lint them: each migration classified, findings with the safe alternative (none here)', ['lint']],
  ['Preview the first two migrations: the plan and its SQL, nothing applied', ['up', '--dry-run', '--to', '0002']],
  ['Lint what is pending, then apply it all, each migration in its own transaction', ['up']],
  ['All applied, with checksums recorded', ['status']],
  ['The application writes rows', seed],
  ['A teammate writes 0009: DROP TABLE teams', write('0009_drop_teams.sql', DROP_TEAMS)],
  ['Lint catches it: the drop would cascade through memberships, posts and comments', ['lint', `${migrations}/0009_drop_teams.sql`], 1],
  ['And up refuses to apply it: nothing runs, no row is lost', ['up'], 1],
  ['Every row is still there', count],
  ['Withdraw it; the team decides to retire comments instead, and says so in the file', remove('0009_drop_teams.sql')],
  ['0009 drops comments, on purpose (-- cairn:allow drop-table <why>)', write('0009_drop_comments.sql', DROP_COMMENTS)],
  ['Apply it: Cairn backs up the 300 comments before the table goes', ['up']],
  ['The comments table is gone', count],
  ['The backups Cairn keeps', ['backups']],
  ['Changed our mind: roll 0009 back with its down section (the table returns, empty)', ['down', '--steps', '1']],
  ['Put the saved rows back', ['restore', '0009']],
  ['All 300 comments are back', count],
  ['Check file names, markers and checksums (what CI would run)', ['validate']],
  ['Prove each down undoes its up, in a scratch database Cairn makes and drops', ['verify']],
  ['The schema as SQL, sorted and diff-friendly (commit it as schema.sql; verify then checks it)', ['dump', '--output', '-']],
];

console.log(bold(`Cairn demo: ${steps.length} steps on ${database}, migrations copied from examples/migrations to ${migrations}`));
for (const [index, [title, action, expected = 0]] of steps.entries()) {
  console.log(`\n${bold(`[${index + 1}/${steps.length}] ${title}`)}`);
  if (typeof action === 'function') {
    action();
    continue;
  }
  console.log(dim(`$ cairn ${action.join(' ')}`));
  const result = spawnSync(process.execPath, [cli, ...global, ...action], { cwd: root, stdio: 'inherit', env });
  if (result.status !== expected) {
    const why = result.error ? result.error.message : result.signal ? `signal ${result.signal}` : `exit code ${result.status}, expected ${expected}`;
    console.error(`\nDemo step ${index + 1} (cairn ${action.join(' ')}) failed: ${why}`);
    process.exit(result.status || 1);
  }
  if (expected !== 0) console.log(dim(`(exit ${expected}, as it should)`));
}

console.log(`\n${bold('Done.')} The database is at ${database}; try:`);
console.log(`  node dist/bin/cairn.js ${global.join(' ')} down --to 0 --dry-run`);
console.log(`  sqlite3 ${database} 'SELECT version, name, checksum FROM cairn_migrations'`);
