import type { MigrationFailure } from '../core/migrator.js';
import { formatFinding } from '../lint/index.js';
import type { RunResult } from '../core/up.js';
import { describe } from '../core/assertions.js';
import { describeHealth, type HealthReport } from '../environments/health.js';
import type { ResolvedConfig } from '../config/load.js';
import { environmentFields } from './environment.js';
import type { Output } from './output.js';

/** Prints what `up` or `down` did (or --json), and returns the exit code. */
export function reportRun(result: RunResult & { readonly health?: HealthReport | null }, out: Output, direction: 'up' | 'down', config: ResolvedConfig): number {
  if (out.json) {
    // A failed migration has the shape of every --json error ({ error: { code, message, hint, details } }), with what the run did beside it.
    const { errors, ...rest } = result;
    const failed = result.dryRun ? undefined : errors[0];
    const error = failed ? { code: 'MIGRATION_FAILED', message: failureMessage(failed), hint: failureHint(failed), details: failed } : undefined;
    out.document({ ...(error ? { error } : {}), ...environmentFields(config), ...rest });
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
      const earlier = result.plan.indexOf(step) > 0;
      for (const assertion of step.assertions ?? []) {
        const verdict = assertion.error !== undefined ? (earlier ? `cannot be evaluated before the migrations above ran (${assertion.error})` : `FAILS: the query failed: ${assertion.error}`) : assertion.holds ? `holds (returned ${describe(assertion.returned)})` : `FAILS: returned ${describe(assertion.returned)}`;
        out.line(`  -- line ${assertion.line}: assertion "${assertion.name}" ${verdict}`);
      }
      for (const statement of step.statements) {
        const batch = step.batches?.find((b) => b.line === statement.line);
        const how = batch ? `, in batches of ${batch.targetMs !== null ? `about ${batch.targetMs} ms (${batch.size} rows at first)` : `${batch.size} rows`} on the key of ${batch.table}${batch.pauseMs > 0 ? `, ${batch.pauseMs} ms apart` : ''}, each its own transaction` : '';
        out.line(`  -- line ${statement.line}${how}\n  ${statement.sql.replace(/\n/g, '\n  ')};`);
      }
    }
    const failing = result.plan.flatMap((step, index) => (step.assertions ?? []).filter((a) => !a.holds && (a.error === undefined || index === 0)).map((a) => `${step.version}_${step.name} ("${a.name}", line ${a.line})`));
    if (failing.length > 0) out.warn(`\`cairn up\` would stop at ${failing.length > 1 ? 'these assertions' : 'this assertion'}, applying nothing of ${failing.length > 1 ? 'those migrations' : 'that migration'}: ${failing.join(', ')} (evaluated against the database as it is now, before any of the migrations above ran)`);
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
  const timeTravel = result.timeTravel;
  if (timeTravel && timeTravel.backupOf.length > 0 && result.filesExecuted > 0) {
    out.line(`Backup: D1 Time Travel bookmark ${timeTravel.bookmark}, taken before this run; the rows at risk in ${timeTravel.backupOf.join(', ')} were not copied (\`cairn restore <version> --bookmark\` returns the whole database to that moment; \`backup: 'rows'\` or --backup-rows copies them too).`);
  }
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
  out.warn(`\nerror[MIGRATION_FAILED]: ${failureMessage(failure)}`);
  out.warn(`  ${String(failure.line).padStart(5)} | ${failure.statement}`);
  if (failure.caret !== null) out.warn(`  ${' '.repeat(5)} | ${' '.repeat(failure.caret)}^`);
  out.warn(`  ${whatRemains(failure, result)}\n  hint: ${failureHint(failure)}`);
}

/** `migrations/0002_x.sql:4:1: no such table: postz (SQLITE_ERROR)` */
function failureMessage(failure: MigrationFailure): string {
  return `${failure.file}:${failure.line}:${failure.column}: ${failure.message}${failure.engineCode ? ` (${failure.engineCode})` : ''}`;
}

function whatRemains(failure: MigrationFailure, result: RunResult): string {
  const kept = result.applied.length > 0 ? `; the ${result.applied.length} before it remain${result.applied.length > 1 ? '' : 's'} ${failure.direction === 'up' ? 'applied' : 'rolled back'}` : '';
  return failure.rolledBack
    ? `${failure.version}_${failure.name} was rolled back whole, nothing of it remains${kept}.`
    : `${failure.version}_${failure.name} ran outside a transaction: statements before line ${failure.line} stay applied and it is recorded as failed${kept}.`;
}

function failureHint(failure: MigrationFailure): string {
  if (failure.rolledBack) return failure.hint ?? `fix the statement and run \`cairn ${failure.direction}\` again`;
  return `undo or finish its changes by hand, then \`cairn repair\` and \`cairn ${failure.direction}\``;
}
