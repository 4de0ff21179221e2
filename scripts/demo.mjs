#!/usr/bin/env node
// First-run demo: the real CLI over examples/migrations on a fresh SQLite file.
// Run with `npm run demo` (builds first). The database is left at .cairn/demo.db
// afterwards, so you can look inside: sqlite3 .cairn/demo.db .schema
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const database = '.cairn/demo.db';
const global = ['--url', `sqlite:${database}`, '--dir', 'examples/migrations'];

if (!existsSync(cli)) {
  console.error('dist/cli/main.js is missing: run `npm run build` first (or `npm run demo`, which builds).');
  process.exit(2);
}
mkdirSync(join(root, '.cairn'), { recursive: true });
for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(join(root, `${database}${suffix}`), { force: true });
// Backups of earlier demo runs' databases would pile up in the listing below.
rmSync(join(root, '.cairn', 'backups'), { recursive: true, force: true });

const bold = (text) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const dim = (text) => (process.stdout.isTTY ? `\x1b[2m${text}\x1b[0m` : text);
// The demo must not pick up a CAIRN_ENV meant for another project.
const env = { ...process.env };
delete env.CAIRN_ENV;

const steps = [
  ['A fresh database: every migration is pending', ['status']],
  ['Lint them: each migration classified, findings with the safe alternative (none here)', ['lint']],
  ['Preview the first two migrations: the plan and its SQL, nothing applied', ['up', '--dry-run', '--to', '0002']],
  ['Lint what is pending, then apply it all, each migration in its own transaction', ['up']],
  ['All applied, with checksums recorded', ['status']],
  ['The rows saved before 0007 rewrote posts (cairn restore 0007 would put them back)', ['backups']],
  ['Roll back the newest migration with its down section', ['down', '--steps', '1']],
  ['One pending again', ['status']],
  ['Re-apply it', ['up']],
  ['Check file names, markers and checksums (what CI would run)', ['validate']],
  ['Prove each down undoes its up, in a scratch database Cairn makes and drops', ['verify']],
  ['The schema as SQL, sorted and diff-friendly (commit it as schema.sql; verify then checks it)', ['dump', '--output', '-']],
];

console.log(bold(`Cairn demo: ${steps.length} steps on ${database}, migrations from examples/migrations`));
for (const [index, [title, args]] of steps.entries()) {
  console.log(`\n${bold(`[${index + 1}/${steps.length}] ${title}`)}`);
  console.log(dim(`$ cairn ${args.join(' ')}`));
  const result = spawnSync(process.execPath, [cli, ...global, ...args], { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) {
    const why = result.error ? result.error.message : result.signal ? `signal ${result.signal}` : `exit code ${result.status}`;
    console.error(`\nDemo step ${index + 1} (cairn ${args.join(' ')}) failed: ${why}`);
    process.exit(result.status || 1);
  }
}

console.log(`\n${bold('Done.')} The database is at ${database}; try:`);
console.log(`  node dist/cli/main.js ${global.join(' ')} down --to 0 --dry-run`);
console.log(`  sqlite3 ${database} 'SELECT * FROM cairn_migrations'`);
