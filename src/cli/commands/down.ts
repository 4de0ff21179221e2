import type { Command } from 'commander';
import { contextFor, parseCount } from '../context.js';
import { interruptSignal } from '../interrupt.js';
import { confirmOptions, printEnvironmentBanner } from '../environment.js';
import { reportRun } from '../run-report.js';

export function registerDown(program: Command): void {
  program
    .command('down')
    .description('roll back applied migrations by running their down sections, newest first')
    .option('--steps <n>', 'how many to roll back (default 1)')
    .option('--to <version>', 'roll back everything newer than this version (0 for all)')
    .option('--dry-run', 'print the plan and its SQL; change nothing')
    .option('--yes', 'roll back on a protected environment without asking')
    .option('--generated', 'for a migration without a down, use the inverse Cairn generates from its up (CREATE → DROP, ADD COLUMN → DROP COLUMN, RENAME back)')
    .addHelpText(
      'after',
      `
Refuses before running anything if one of the chosen migrations has no down
section. With --generated, a file without a down whose up is made only of
reversible statements is rolled back with the generated inverse (it says so);
the others are still refused, with the statement that cannot be reversed.
Each rollback runs in its own transaction with the history update.

Examples:
  cairn down                     roll back the newest migration
  cairn down --steps 3
  cairn down --to 0001           keep 0001, roll back everything after it
  cairn down --to 0 --dry-run    show how everything would be rolled back
  cairn down --generated --dry-run   show the generated inverse for a file without a down`,
    )
    .action(async (options: { steps?: string; to?: string; dryRun?: boolean; yes?: boolean; generated?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      const config = await cairn.config();
      const steps = options.steps === undefined ? undefined : parseCount(options.steps, '--steps');
      if (!options.dryRun) printEnvironmentBanner(config, out);
      if (!out.json) out.line(`${options.dryRun ? 'Rollback plan for' : 'Rolling back'} ${config.database.display}`);
      const signal = options.dryRun ? undefined : interruptSignal(out);
      const result = await cairn.down({ steps, to: options.to, dryRun: options.dryRun, generated: options.generated, signal, ...confirmOptions(config, options.yes) });
      process.exitCode = reportRun(result, out, 'down', config);
    });
}
