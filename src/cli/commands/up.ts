import type { Command } from 'commander';
import { contextFor } from '../context.js';
import { interruptSignal } from '../interrupt.js';
import { confirmOptions, printEnvironmentBanner } from '../environment.js';
import { reportRun } from '../run-report.js';

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('apply pending migrations in order, each in its own transaction, under a lock')
    .option('--to <version>', 'stop after this version')
    .option('--dry-run', 'print the plan and its SQL; change nothing')
    .option('--allow-out-of-order', 'also apply pending files numbered below the newest applied one')
    .option('--unsafe', 'apply even if the linter finds errors (recorded in the history table)')
    .option('--yes', 'apply to a protected environment without asking')
    .option('--skip-health-check', "do not request the environment's health check afterwards")
    .option('--no-backup', 'do not back up the rows a destructive migration can destroy (said, and recorded)')
    .option('--backup-rows', "remote D1: copy the rows at risk too, not only the Time Travel bookmark (as config `backup: 'rows'`)")
    .option('--allow-non-empty', 'apply from the first migration although the database has tables and no history (otherwise: `cairn baseline`)')
    .option('--create', 'create the database first when it does not exist (`cairn create`)')
    .option('--to-followed', 'on an environment that follows another: apply what ran there, up to the first migration that has not')
    .addHelpText(
      'after',
      `
Lints what it is about to apply first and refuses on error findings (see
\`cairn lint\`) unless they are allowed in the file with a reason, or --unsafe.
Stops at the first migration the database rejects: that one is rolled back
whole and reported with its file, line and the database's message; the ones
before it stay applied. Running up again when nothing is pending does nothing.
Before a migration that drops tables or columns, rebuilds a table, or deletes
or updates rows, the rows at risk are saved to .cairn/backups/ (see
\`cairn backups\`, \`cairn restore\`); a backup that fails stops the run there.
On remote D1 the Time Travel bookmark taken before the run is the backup
instead (\`cairn restore <version> --bookmark\`); --backup-rows or config
\`backup: 'rows'\` copies the rows as well.

Examples:
  cairn up                       apply everything pending
  cairn up --dry-run             show what would run
  cairn up --to 0004             apply up to and including 0004
  cairn up --no-backup           apply without saving the rows a destructive migration removes
  cairn up --backup-rows --url d1://<account_id>/<database_id>
                                 remote D1: copy the rows at risk as well as the bookmark
  cairn up --env production      refuses what has not run where production follows (qa),
                                 asks if it is protected, then requests its health check
  cairn up --env production --to-followed
                                 apply the prefix qa already has; the rest waits for qa
  cairn up --create --url postgres://postgres@127.0.0.1/app_dev
                                 create the database when missing, then apply
  cairn up --env production --yes
                                 no prompt: what CI needs (without a terminal, required)
  cairn up --url postgres://app@db.internal/app --lock-timeout 120`,
    )
    .action(async (options: { to?: string; dryRun?: boolean; allowOutOfOrder?: boolean; unsafe?: boolean; yes?: boolean; skipHealthCheck?: boolean; backup?: boolean; backupRows?: boolean; allowNonEmpty?: boolean; create?: boolean; toFollowed?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command, { allowOutOfOrder: options.allowOutOfOrder });
      const config = await cairn.config();
      if (!options.dryRun) printEnvironmentBanner(config, out);
      if (!out.json) out.line(`${options.dryRun ? 'Plan for' : 'Migrating'} ${config.database.display}${config.environment ? ` (environment ${config.environment})` : ''}`);
      const signal = options.dryRun ? undefined : interruptSignal(out);
      const result = await cairn.up({ to: options.to, dryRun: options.dryRun, unsafe: options.unsafe, skipHealthCheck: options.skipHealthCheck, noBackup: options.backup === false, backupRows: options.backupRows, allowNonEmpty: options.allowNonEmpty, create: options.create, toFollowed: options.toFollowed, signal, ...confirmOptions(config, options.yes) });
      process.exitCode = reportRun(result, out, 'up', config);
    });
}
