import type { Command } from 'commander';
import type { MigrationFailure } from '../../core/migrator.js';
import { formatFinding } from '../../lint/index.js';
import type { RunResult } from '../../core/up.js';
import { describeHealth, type HealthReport } from '../../core/health.js';
import type { ResolvedConfig } from '../../config/load.js';
import { contextFor, parseCount } from '../context.js';
import { interruptSignal } from '../interrupt.js';
import { confirmOptions, environmentFields, printEnvironmentBanner } from '../environment.js';
import type { Output } from '../output.js';

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

Examples:
  cairn up                       apply everything pending
  cairn up --dry-run             show what would run
  cairn up --to 0004             apply up to and including 0004
  cairn up --no-backup           apply without saving the rows a destructive migration removes
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
    .action(async (options: { to?: string; dryRun?: boolean; allowOutOfOrder?: boolean; unsafe?: boolean; yes?: boolean; skipHealthCheck?: boolean; backup?: boolean; allowNonEmpty?: boolean; create?: boolean; toFollowed?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command, { allowOutOfOrder: options.allowOutOfOrder });
      const config = await cairn.config();
      if (!options.dryRun) printEnvironmentBanner(config, out);
      if (!out.json) out.line(`${options.dryRun ? 'Plan for' : 'Migrating'} ${config.database.display}${config.environment ? ` (environment ${config.environment})` : ''}`);
      const signal = options.dryRun ? undefined : interruptSignal(out);
      const result = await cairn.up({ to: options.to, dryRun: options.dryRun, unsafe: options.unsafe, skipHealthCheck: options.skipHealthCheck, noBackup: options.backup === false, allowNonEmpty: options.allowNonEmpty, create: options.create, toFollowed: options.toFollowed, signal, ...confirmOptions(config, options.yes) });
      process.exitCode = report(result, out, 'up', config);
    });
}

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
      process.exitCode = report(result, out, 'down', config);
    });
}

function report(result: RunResult & { readonly health?: HealthReport | null }, out: Output, direction: 'up' | 'down', config: ResolvedConfig): number {
  if (out.json) {
    out.document({ ...environmentFields(config), ...result });
    return result.success ? 0 : 1;
  }
  // The failed step's line ("  ↑ 0002_x … ") is still open: FAILED ends it, before any lint summary.
  const failure = result.dryRun ? undefined : result.errors[0];
  if (failure) out.line('FAILED');
  reportFindings(result, out);
  if (result.dryRun) {
    if (result.plan.length === 0) out.line(nothingToDo(result, direction));
    for (const step of result.plan) {
      if (step.missingDown) {
        out.line(`\n${direction} ${step.version}_${step.name}  (${step.file})\n  -- NO DOWN: this file has no down section; a real \`cairn down\` refuses it`);
        continue;
      }
      const batched = step.batches && step.batches.length > 0 ? ', outside one transaction: each statement commits on its own, batched ones one batch at a time' : '';
      const script = step.script
        ? step.script.batchLines.length > 0
          ? `, TypeScript ${direction}(ctx), outside one transaction: ctx.batch at line ${step.script.batchLines.join(', ')} commits batch by batch`
          : `, TypeScript ${direction}(ctx)${step.transaction ? ', as one unit' : ', outside a transaction'}`
        : null;
      out.line(`\n${direction} ${step.version}_${step.name}  (${step.file}${step.generated ? ', generated down' : ''}${script ?? (batched || (step.transaction ? '' : ', outside a transaction'))})`);
      for (const statement of step.statements) {
        const batch = step.batches?.find((b) => b.line === statement.line);
        const how = batch ? `, in batches of ${batch.size} rows on the key of ${batch.table}${batch.pauseMs > 0 ? `, ${batch.pauseMs} ms apart` : ''}, each its own transaction` : '';
        out.line(`  -- line ${statement.line}${how}\n  ${statement.sql.replace(/\n/g, '\n  ')};`);
      }
    }
    const missing = result.plan.filter((step) => step.missingDown);
    const count = `${result.plan.length} migration${result.plan.length > 1 ? 's' : ''}`;
    if (missing.length > 0) out.line(`\nDry run: ${count} to roll back, ${missing.length} of them without a down; nothing was changed.`);
    else if (result.plan.length > 0) out.line(`\nDry run: ${count} would ${direction === 'up' ? 'be applied' : 'be rolled back'}; nothing was changed.${stillPending(result)}`);
    if (missing.length > 0) {
      out.warn(
        `\`cairn down\` will refuse this plan (NO_DOWN): ${missing.map((step) => `${step.version}_${step.name}`).join(', ')} ${missing.length > 1 ? 'have' : 'has'} no down section; write one, or see \`cairn down --generated --dry-run\` for a generated inverse`,
      );
    }
    return 0;
  }
  if (failure) {
    printFailure(failure, result, out);
    return 1;
  }
  if (result.filesExecuted === 0) out.line(nothingToDo(result, direction));
  else out.line(`${direction === 'up' ? 'Applied' : 'Rolled back'} ${result.filesExecuted} migration${result.filesExecuted > 1 ? 's' : ''} in ${result.duration} ms.${stillPending(result)}`);
  if (result.health) out.line(describeHealth(result.health));
  return 0;
}

function nothingToDo(result: RunResult, direction: 'up' | 'down'): string {
  if (direction === 'down') return 'Nothing to roll back.';
  if (result.to === undefined || result.remaining.length === 0) return 'Nothing to apply: the database is up to date.';
  return `Nothing to apply: the database has reached ${result.to} (--to).${stillPending(result)}`;
}

/** After `up --to`: what the target leaves pending, so "up to date" is never claimed for it. */
function stillPending(result: RunResult): string {
  if (result.to === undefined || result.remaining.length === 0) return '';
  const count = result.remaining.length;
  return ` Still pending after ${result.to}: ${result.remaining.map((m) => `${m.version}_${m.name}`).join(', ')} (${count} migration${count > 1 ? 's' : ''}; \`cairn up\` applies ${count > 1 ? 'them' : 'it'}).`;
}

/** A dry run shows every finding; a real run shows errors it was told to ignore, and counts the warnings. */
function reportFindings(result: RunResult, out: Output): void {
  const findings = result.lint.flatMap((file) => file.findings);
  const shown = result.dryRun ? findings : findings.filter((f) => f.severity === 'error');
  if (shown.length > 0) out.warn(`\n${shown.map(formatFinding).join('\n\n')}\n`);
  if (result.dryRun && shown.some((f) => f.severity === 'error')) out.warn('`cairn up` will refuse these migrations until the errors above are fixed or allowed (or --unsafe is given).');
  const warned = result.lint.filter((file) => file.findings.some((f) => f.severity === 'warning'));
  if (!result.dryRun && warned.length > 0) {
    const count = warned.flatMap((file) => file.findings).filter((f) => f.severity === 'warning').length;
    out.warn(`lint: ${count} warning${count > 1 ? 's' : ''} in ${warned.map((f) => `${f.version}_${f.name}`).join(', ')} (\`cairn lint ${warned.map((f) => f.file).join(' ')}\` shows them)`);
  }
}

function printFailure(failure: MigrationFailure, result: RunResult, out: Output): void {
  out.warn(`\nerror[MIGRATION_FAILED]: ${failure.file}:${failure.line}:${failure.column}: ${failure.message}${failure.engineCode ? ` (${failure.engineCode})` : ''}`);
  out.warn(`  ${String(failure.line).padStart(5)} | ${failure.statement}`);
  if (failure.caret !== null) out.warn(`  ${' '.repeat(5)} | ${' '.repeat(failure.caret)}^`);
  const kept = result.applied.length > 0 ? `; the ${result.applied.length} before it remain${result.applied.length > 1 ? '' : 's'} ${failure.direction === 'up' ? 'applied' : 'rolled back'}` : '';
  out.warn(
    failure.rolledBack
      ? `  ${failure.version}_${failure.name} was rolled back whole, nothing of it remains${kept}.\n  hint: ${failure.hint ?? `fix the statement and run \`cairn ${failure.direction}\` again`}`
      : `  ${failure.version}_${failure.name} ran outside a transaction: statements before line ${failure.line} stay applied and it is recorded as failed${kept}.\n  hint: undo or finish its changes by hand, then \`cairn repair\` and \`cairn ${failure.direction}\``,
  );
}
