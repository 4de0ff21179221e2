#!/usr/bin/env node
import type { Command } from 'commander';
import * as nodeModule from 'node:module';
import { cairnVersion } from './version.js';

// Node 22.1 and later keep V8's compiled code of the modules a run loads, so the next run does not compile them again
// (Node's own cache, in the OS temp directory; NODE_DISABLE_COMPILE_CACHE=1 turns it off). Node 20 has none: a no-op.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const version = cairnVersion();

/**
 * Each command's module, loaded only when the command runs (or for help): `cairn --version`
 * and `cairn status` do not load the linter, the planner of `cairn plan`, fleet's threads …
 * The order is the order of `cairn --help`.
 */
const COMMANDS: readonly (readonly [name: string, load: () => Promise<(program: Command) => void>])[] = [
  ['init', async () => (await import('./commands/init.js')).registerInit],
  ['new', async () => (await import('./commands/new.js')).registerNew],
  ['lint', async () => (await import('./commands/lint.js')).registerLint],
  ['status', async () => (await import('./commands/status.js')).registerStatus],
  ['up', async () => (await import('./commands/up.js')).registerUp],
  ['down', async () => (await import('./commands/down.js')).registerDown],
  ['verify', async () => (await import('./commands/verify.js')).registerVerify],
  ['dump', async () => (await import('./commands/dump.js')).registerDump],
  ['diff', async () => (await import('./commands/diff.js')).registerDiff],
  ['drift', async () => (await import('./commands/drift.js')).registerDrift],
  ['plan', async () => (await import('./commands/plan.js')).registerPlan],
  ['phase', async () => (await import('./commands/phase.js')).registerPhase],
  ['validate', async () => (await import('./commands/validate.js')).registerValidate],
  ['baseline', async () => (await import('./commands/baseline.js')).registerBaseline],
  ['repair', async () => (await import('./commands/repair.js')).registerRepair],
  ['backups', async () => (await import('./commands/backups.js')).registerBackups],
  ['restore', async () => (await import('./commands/restore.js')).registerRestore],
  ['fleet', async () => (await import('./commands/fleet.js')).registerFleet],
  ['codegen', async () => (await import('./commands/codegen.js')).registerCodegen],
  ['create', async () => (await import('./commands/create.js')).registerCreate],
  ['drop', async () => (await import('./commands/drop.js')).registerDrop],
  ['schema', async () => (await import('./commands/schema.js')).registerSchema],
  ['report', async () => (await import('./commands/report.js')).registerReport],
];

/** Global options that take a value: the word after one is not the command. */
const VALUE_OPTIONS = new Set(['--url', '--env', '--d1', '--persist-to', '--config', '--dir', '--table', '--lock-timeout']);

/** The command argv names (the first word that is not a global option or its value), if Cairn has it. */
function commandOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') return undefined;
    if (VALUE_OPTIONS.has(word)) i++;
    else if (!word.startsWith('-')) return COMMANDS.some(([name]) => name === word) ? word : undefined;
  }
  return undefined;
}

/** The program with the command of `argv` registered, or every command (help, an unknown command, `cairn help …`). */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const { Command } = await import('commander');
  const program = new Command('cairn')
    .description('Safe schema migrations for SQLite, Cloudflare D1 and PostgreSQL')
    .version(version)
    .option('--url <url>', 'database: sqlite:path/to.db, postgres://user@host/db, pglite:./dir, d1://local/<database_id> or d1://<account_id>/<database_id> (default: DATABASE_URL, then cairn.config.ts, then sqlite:cairn.db)')
    .option('--env <name>', 'use a named environment from cairn.config.ts (or CAIRN_ENV); with --d1, wrangler\'s [env.<name>] when cairn.config.ts has no such environment')
    .option('--d1 <binding>', 'the D1 database of this binding in wrangler.toml / wrangler.json(c): its local database, migrations_dir and d1_migrations table')
    .option('--remote', 'with --d1: the database on Cloudflare instead of the local one (account_id or CLOUDFLARE_ACCOUNT_ID, token in CLOUDFLARE_API_TOKEN)')
    .option('--local', 'with --d1: the local database (the default; accepted as wrangler spells it)')
    .option('--persist-to <dir>', 'with --d1: where wrangler keeps local state, as wrangler\'s --persist-to (default .wrangler/state)')
    .option('--config <path>', 'config file (default: cairn.config.{ts,mts,js,mjs,json} in this directory)')
    .option('--dir <path>', 'migrations directory (default: migrations)')
    .option('--table <name>', 'history table (default: cairn_migrations)')
    .option('--lock-timeout <seconds>', "seconds to wait for Cairn's own migration lock while another cairn holds it (default 60); not PostgreSQL's lock_timeout, see statementLockTimeout in the config")
    .option('--json', 'machine-readable output on stdout')
    .option('--no-cache', 'read and lint every file again: neither read nor write the lint and file caches (node_modules/.cache/cairn, or CAIRN_CACHE_DIR; also CAIRN_NO_CACHE=1)')
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (text, write) => write(withSuggestion(text)) })
    .exitOverride()
    .addHelpText(
      'after',
      `
A day with cairn:
  cairn init                      cairn.config.ts + migrations/
  cairn new add_phone_to_users    migrations/0002_add_phone_to_users.sql
  cairn lint                      findings with rule ids, why, and the safe alternative
  cairn up --dry-run              the plan and its SQL, nothing applied
  cairn up                        apply pending migrations under a lock
  cairn status                    applied / pending / changed / missing / failed
  cairn down                      roll back the newest migration
  cairn verify                    replay all in a scratch DB: up, down, up; schemas compared
  cairn drift                     what was changed by hand, next to what the migrations made
  cairn dump                      schema.sql: the schema as SQL, sorted, diff-friendly
  cairn diff add_check --to schema.sql   the next migration, written from the schema you want
  cairn down --generated          roll back a file without a down with the inverse Cairn writes
  cairn up --env production       refuses what has not run cleanly on qa first (docs/environments.md)
  cairn up --d1 DB                the D1 database of wrangler.toml's binding DB, in step with wrangler (docs/wrangler.md)
  cairn plan rename-column users.name display_name
                                  expand, batched backfill, contract: the contract waits for the deploy (docs/phases.md)
  cairn backups                   the rows saved before each destructive migration
  cairn restore 0007              put the rows saved before 0007 back
  cairn create / cairn drop       the database itself (PostgreSQL: on its server), as dbmate does
  cairn fleet up                  every tenant database of cairn.config.ts's fleet, bounded, resumable (docs/fleet.md)
  cairn schema --out schema.svg   the schema as a diagram (also --format mermaid|dot)
  cairn report                    cairn-report.html: what ran where, findings, the schema diagram (docs/report.md)

Exit codes: 0 ok, 1 the database (or the linter) rejected a migration, 2 bad input or config
(or a protected environment not confirmed), 3 history problem (edited, deleted, failed or
out-of-order migrations; unreachable database; not yet applied on the environment this one
follows; a contract migration waiting for its expand), 4 another migration holds the lock, 5 applied, but the health check failed,
6 the database has tables but no migration history (\`cairn baseline\`, or up --allow-non-empty),
130 interrupted (Ctrl-C, SIGTERM): the running migration rolled back, the lock released.`,
    );
  const wanted = commandOf(argv);
  for (const [name, load] of COMMANDS) if (wanted === undefined || name === wanted) (await load())(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Commands other tools taught users, and Cairn's name for each. */
const OTHER_TOOLS: Record<string, string> = {
  migrate: 'up', // dbmate, Flyway, golang-migrate
  apply: 'up', // Atlas, wrangler d1 migrations apply
  rollback: 'down', // dbmate
  undo: 'down', // Flyway
  info: 'status', // Flyway
  generate: 'new',
  list: 'status', // wrangler d1 migrations list
};

function withSuggestion(text: string): string {
  const unknown = /^error: unknown command '([^']+)'/.exec(text)?.[1];
  const instead = unknown === undefined ? undefined : OTHER_TOOLS[unknown.toLowerCase()];
  return instead ? `error: unknown command '${unknown}' (did you mean \`cairn ${instead}\`?)\n` : text;
}

export async function main(argv: readonly string[]): Promise<number> {
  // `cairn --help | head -1`: the reader went away. Drop the rest of the output, but let the
  // command finish (an `up` piped into head must not stop half-way).
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  // Loaded after the `--version` answer above, which needs none of it.
  const [{ CommanderError }, { reportError }, { preferShortRun }] = await Promise.all([import('commander'), import('./output.js'), import('../lint/parse/engine-flags.js')]);
  // A CLI run is short: V8 flags that suit one, set when a SQL parser first loads (lint/parse/engine-flags.ts).
  preferShortRun();
  try {
    const program = await buildProgram(argv);
    process.exitCode = 0;
    await program.parseAsync([...argv], { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the text already; a program that asked for JSON gets it on stdout too.
      if (error.exitCode !== 0 && argv.includes('--json')) process.stdout.write(`${JSON.stringify({ error: { code: 'USAGE', message: error.message.replace(/^error: /, ''), details: {} } }, null, 2)}\n`);
      return error.exitCode === 0 ? 0 : 2;
    }
    return reportError(error, argv.includes('--json'));
  }
}

process.exitCode = await main(process.argv.slice(2));
