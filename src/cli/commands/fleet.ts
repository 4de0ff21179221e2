import type { Command } from 'commander';
import { exitCodes, type ErrorCode } from '../../errors.js';
import { FLEET_CONCURRENCY_HELP } from '../../drivers/index.js';
import type { FleetDownResult } from '../../fleet/down.js';
import type { FleetLintReport } from '../../fleet/lint.js';
import type { FleetEvent, FleetUpResult } from '../../fleet/up.js';
import type { FleetStatusReport, TargetStatus } from '../../fleet/status.js';
import type { TargetOutcome, TargetResult } from '../../fleet/types.js';
import type { FleetVerifyResult } from '../../fleet/verify.js';
import { formatText } from '../../lint/index.js';
import { formatDifference } from '../../drivers/snapshot.js';
import { contextFor, parseCount } from '../context.js';
import { confirmOptions } from '../environment.js';
import { interruptSignal } from '../interrupt.js';
import { clearOpenLine, usage, type Output } from '../output.js';

interface SelectionFlags {
  targets?: string;
  group?: string[];
  concurrency?: string;
  retries?: string;
}

const TARGETS_HELP = `
Targets come from \`fleet\` in cairn.config.ts, in named groups:
  fleet: {
    tenants: 'tenants/*.db',                                       // SQLite files (a glob)
    regions: ['postgres://app@eu.db/app', 'postgres://app@us.db/app'],
    schemas: { url: 'postgres://app@db/app', schemas: 'tenant_%' },  // one schema per tenant
    edge: { d1: ['<database_id>', '<binding>'] },                   // local D1 databases (ids, or wrangler bindings)
    cloud: 'd1://<account_id>/tenant-*',                             // every D1 database of the account named tenant-…
  }
or from --targets <file>: one database URL (or SQLite path) a line, # for comments.
Default --concurrency: ${FLEET_CONCURRENCY_HELP} (the smallest among the targets).`;

export function registerFleet(program: Command): void {
  const fleet = program.command('fleet').description('the same migrations on many databases: one per tenant, per region, per schema (docs/fleet.md)');
  const selection = (command: Command) =>
    command
      .option('--targets <file>', 'the databases, one URL a line (instead of the config\'s fleet groups)')
      .option('--group <name...>', 'only these fleet groups of cairn.config.ts')
      .option('--concurrency <n>', `at most this many databases open at once (default: ${FLEET_CONCURRENCY_HELP})`);

  selection(fleet.command('up'))
    .description('apply pending migrations on every target: the ordinary `cairn up` on each, bounded, canary first, resumable')
    .option('--canary <k|group>', 'apply to the first k targets (or that group) first; any failure there stops the run before the rest')
    .option('--keep-going', 'go on after a failure and report every one (default: no new target starts after the first failure)')
    .option('--to <version>', 'stop after this version on every target')
    .option('--retries <n>', 'run a target again up to n times after a passing failure of a remote database (HTTP 429/5xx), reading its history first (default 3)')
    .option('--unsafe', 'apply even if the linter finds errors (recorded in each history table)')
    .option('--no-backup', 'do not back up the rows a destructive migration can destroy')
    .option('--backup-rows', "remote D1 targets: copy the rows at risk too, not only the Time Travel bookmark (as config `backup: 'rows'`)")
    .option('--yes', 'apply to a protected environment without asking')
    .addHelpText(
      'after',
      `${TARGETS_HELP}

Each target gets what \`cairn up\` does to one database: the lint check, its
lock, its own history table, each migration in its own transaction. When a
target fails, by default the targets already running finish, no new one
starts, and the command exits non-zero listing the failures; --keep-going runs
every target and reports every failure. Running it again (after a fix, a
crash, Ctrl-C, or with new tenants) finishes what is behind: each database's
history says what it needs, and nothing runs twice.

Examples:
  cairn fleet up                          every group of cairn.config.ts
  cairn fleet up --canary 5               five tenants first, then the rest
  cairn fleet up --group tenants --concurrency 16 --keep-going
  cairn fleet up --targets regions.txt --json`,
    )
    .action(async (options: SelectionFlags & { canary?: string; keepGoing?: boolean; to?: string; unsafe?: boolean; backup?: boolean; backupRows?: boolean; yes?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      refuseOneDatabase(command);
      // Only for the prompt of a protected environment (asked once for the fleet); a fleet needs no single database.
      const config = await cairn.config().catch(() => null);
      const progress = progressPrinter(out);
      const result = await cairn.fleet.up({
        ...selectionOptions(options),
        canary: canaryOption(options.canary),
        keepGoing: options.keepGoing,
        to: options.to,
        unsafe: options.unsafe,
        noBackup: options.backup === false,
        backupRows: options.backupRows,
        signal: interruptSignal(out),
        onEvent: progress,
        ...(config ? confirmOptions(config, options.yes) : { yes: options.yes }),
      });
      process.exitCode = exitCode(result);
      if (out.json) return out.document(result);
      printSummary(result, out, ['applied', 'up-to-date', 'failed', 'not-started'], resumeAdvice('fleet up'));
    });

  selection(fleet.command('down'))
    .description('roll back every target to a version: the ordinary `cairn down --to` on each, bounded, canary first, resumable')
    .requiredOption('--to <version>', 'roll back every migration newer than this version on each target (0 rolls back all)')
    .option('--canary <k|group>', 'roll back the first k targets (or that group) first; any failure there stops the run before the rest')
    .option('--keep-going', 'go on after a failure and report every one (default: no new target starts after the first failure)')
    .option('--yes', 'roll back a protected environment without asking')
    .option('--retries <n>', 'run a target again up to n times after a passing failure of a remote database (HTTP 429/5xx), reading its history first (default 3)')
    .addHelpText(
      'after',
      `${TARGETS_HELP}

Each target gets what \`cairn down --to <version>\` does to one database: its
lock, each down section in its own transaction, its history updated. A target
with nothing newer than --to is left as it is (unchanged), so running the same
command again after a failure or a crash finishes the rest. Failure policy,
--canary and --concurrency as for \`cairn fleet up\`.

Examples:
  cairn fleet down --to 0007
  cairn fleet down --to 0007 --canary 3 --json`,
    )
    .action(async (options: SelectionFlags & { to: string; canary?: string; keepGoing?: boolean; yes?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      refuseOneDatabase(command);
      const config = await cairn.config().catch(() => null);
      const result = await cairn.fleet.down({
        ...selectionOptions(options),
        to: options.to,
        canary: canaryOption(options.canary),
        keepGoing: options.keepGoing,
        signal: interruptSignal(out),
        onEvent: progressPrinter(out),
        ...(config ? confirmOptions(config, options.yes) : { yes: options.yes }),
      });
      process.exitCode = exitCode(result);
      if (out.json) return out.document(result);
      printSummary(result, out, ['rolled-back', 'unchanged', 'failed', 'not-started'], resumeAdvice(`fleet down --to ${options.to}`));
    });

  fleet
    .command('lint')
    .description('lint the migrations once for the fleet (once per engine among its targets), not once per database')
    .option('--targets <file>', 'the databases, one URL a line (instead of the config\'s fleet groups)')
    .option('--group <name...>', 'only these fleet groups of cairn.config.ts')
    .option('--pending', "only the migrations some target has not applied yet (reads every target's history, as `fleet status` does)")
    .option('--concurrency <n>', `with --pending: at most this many databases open at once (default: ${FLEET_CONCURRENCY_HELP})`)
    .addHelpText(
      'after',
      `${TARGETS_HELP.replace(/\nDefault --concurrency.*$/s, '')}

What the linter finds depends on the files and the engine (SQLite, D1 and
PostgreSQL have different rules), not on which tenant: one report per engine
among the fleet's groups. Opens no database and lists none (no glob, no schema
list, no D1 API call): it needs no credentials. Exit code 1 when an
error-level finding remains (\`cairn fleet up\` would refuse to apply it).
--pending lints only what \`cairn fleet up\` would still apply somewhere: it
reads every target's history (so it needs their credentials), and a target
that cannot be read counts as needing every migration.

Examples:
  cairn fleet lint
  cairn fleet lint --json
  cairn fleet lint --pending`,
    )
    .action(async (options: SelectionFlags & { pending?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      refuseOneDatabase(command);
      const report = await cairn.fleet.lint({ targetsFile: options.targets, groups: options.group, pending: options.pending, concurrency: options.concurrency === undefined ? undefined : parseCount(options.concurrency, '--concurrency') });
      process.exitCode = report.errors > 0 ? 1 : 0;
      if (out.json) return out.document(report);
      printLint(report, out);
    });

  selection(fleet.command('verify'))
    .description('verify the shared history once (up, down, up in a scratch database), then check every target for drift')
    .option('--canary <k|group>', 'check the first k targets (or that group) first; a drifted or failing one there stops the run')
    .option('--keep-going', 'check every target and report every drift (default: no new target starts after the first)')
    .option('--retries <n>', 'run a target again up to n times after a passing failure of a remote database (HTTP 429/5xx), reading its history first (default 3)')
    .option('--scratch-url <url>', 'where to replay: a PostgreSQL server to create scratch databases on, or pglite: (default: like the targets)')
    .option('--schema <file>', 'schema dump the final schema must match (default: schema.sql, or `schema` in cairn.config.ts, when it exists)')
    .option('--no-schema', 'do not compare with the schema dump')
    .option('--no-history', 'skip verifying the history; check the targets for drift only')
    .addHelpText(
      'after',
      `${TARGETS_HELP}

First, once for the whole fleet (once per engine among its targets), what
\`cairn verify\` does: every migration replayed in a scratch database, up,
down, up, each down proven to undo its up. Then, for each target, what
\`cairn drift\` does: its schema next to the schema its own applied
migrations give when replayed, so a tenant changed by hand (an index made in
a console, a column dropped) is named with its differences. Tenants with the
same history share one replay. Reads only: no target is changed.

Exit code 1 when the history fails verification; 3 when a target has drifted
(as \`cairn drift\`); a target that could not be read, its error's code.

Examples:
  cairn fleet verify
  cairn fleet verify --no-history --keep-going
  cairn fleet verify --json | jq '.targets[] | select(.outcome == "drifted")'`,
    )
    .action(async (options: SelectionFlags & { canary?: string; keepGoing?: boolean; scratchUrl?: string; schema?: string | false; history: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      refuseOneDatabase(command);
      const result = await cairn.fleet.verify({
        ...selectionOptions(options),
        canary: canaryOption(options.canary),
        keepGoing: options.keepGoing,
        scratchUrl: options.scratchUrl,
        schema: options.schema,
        skipHistory: !options.history,
        signal: interruptSignal(out),
        onEvent: afterReplay(progressPrinter(out)),
      });
      process.exitCode = verifyExitCode(result);
      if (out.json) return out.document(result);
      printVerify(result, out);
    });

  selection(fleet.command('status'))
    .description('per migration, how many targets have it; the targets behind, failed or locked')
    .option('--exit-code', 'exit 1 when a target is behind, failed or locked')
    .option('--all', 'list every target, not only the first 20 of each kind')
    .addHelpText('after', `${TARGETS_HELP}\n\nReads only: creates no database and no history table.\n\nExamples:\n  cairn fleet status\n  cairn fleet status --json | jq '.targets[] | select(.state != "up-to-date")'`)
    .action(async (options: SelectionFlags & { exitCode?: boolean; all?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      refuseOneDatabase(command);
      const report = await cairn.fleet.status(selectionOptions(options));
      if (options.exitCode && report.counts['up-to-date'] < report.total) process.exitCode = 1;
      if (out.json) return out.document(report);
      printStatus(report, out, options.all ?? false);
    });
}

/** --url and --d1 name one database; a fleet's come from its groups or --targets: saying so beats ignoring them. */
function refuseOneDatabase(command: Command): void {
  const { url, d1 } = command.optsWithGlobals<{ url?: string; d1?: string }>();
  if (url !== undefined || d1 !== undefined) throw usage(`${url !== undefined ? '--url' : '--d1'} names one database; cairn fleet takes its databases from \`fleet\` in cairn.config.ts or --targets <file>`, 'put the URL in a --targets file (one a line), or run `cairn up --url …` for one database');
}

/** The history's replay counter (`12/40 0012_x`, rewritten in place on a terminal) is cleared before the targets' progress starts. */
function afterReplay(print: (event: FleetEvent) => void): (event: FleetEvent) => void {
  return (event) => {
    if (event.type === 'fleet-start') clearOpenLine();
    print(event);
  };
}

function canaryOption(canary: string | undefined): number | string | undefined {
  return canary === undefined ? undefined : /^\d+$/.test(canary) ? parseCount(canary, '--canary') : canary;
}

function selectionOptions(options: SelectionFlags) {
  return { targetsFile: options.targets, groups: options.group, concurrency: options.concurrency === undefined ? undefined : parseCount(options.concurrency, '--concurrency'), ...retriesOption(options.retries) };
}

function retriesOption(retries: string | undefined): { retries?: number } {
  if (retries === undefined) return {};
  if (!/^\d+$/.test(retries)) throw usage(`--retries must be a whole number, 0 or more, got "${retries}"`, 'e.g. --retries 5, or --retries 0 for none');
  return { retries: Number(retries) };
}

/**
 * On a terminal, one progress bar rewritten in place; elsewhere (CI, a pipe) one
 * plain line per target done. Failures and notices on stderr as they happen.
 */
function progressPrinter(out: Output): (event: FleetEvent) => void {
  const bar = process.stdout.isTTY === true && !out.json;
  let drawn = false;
  let last = 0;
  const clear = () => {
    if (drawn) out.write('\r\x1b[K');
    drawn = false;
  };
  return (event) => {
    // The bar is redrawn at most ten times a second; lines to print clear it first.
    const redraw = event.type === 'target-done' && (event.done === event.total || performance.now() - last >= 100 || event.result.error !== null);
    if (bar && (redraw || event.type === 'stopping' || (event.type === 'target-event' && event.event.type === 'notice'))) clear();
    switch (event.type) {
      case 'fleet-start':
        if (!out.json) out.line(`Fleet: ${event.total} target${event.total === 1 ? '' : 's'}, at most ${event.concurrency} at once${event.canary > 0 ? `, ${event.canary} canary first` : ''}`);
        return;
      case 'target-done': {
        const { result, done, total, failed, perSecond } = event;
        if (result.error) out.warn(`${result.target}: ${result.error.code}: ${firstLine(result.error.message)}`);
        if (out.json) return;
        if (bar) {
          if (!redraw) return;
          last = performance.now();
          out.write(progressBar(done, total, failed, perSecond));
          drawn = done < total;
          if (!drawn) out.line();
          return;
        }
        const what = outcomeText(result);
        out.line(`[${String(done).padStart(String(total).length)}/${total}] ${result.target}: ${what} (${result.durationMs} ms) · ${failed} failed · ${perSecond.toFixed(1)} db/s`);
        return;
      }
      case 'target-event':
        if (event.event.type === 'notice') out.warn(`notice: ${event.target}: ${event.event.message}`);
        return;
      case 'target-retry':
        if (bar) clear();
        out.warn(`retrying ${event.target} in ${(event.waitMs / 1000).toFixed(1)} s (${event.attempt}/${event.of}): ${event.error.code}: ${firstLine(event.error.message)}`);
        return;
      case 'stopping':
        out.warn(
          event.reason === 'failure'
            ? `stopping: ${event.target} ${event.outcome ?? 'failed'}; the targets already running finish, no new one starts (--keep-going runs them all)`
            : event.reason === 'canary'
              ? 'stopping: a canary target failed; the rest were not started'
              : 'stopping: interrupted; no new target starts',
        );
    }
  };
}

/** `[██████░░░░░░░░░░░░░░] 120/400 · 1 failed · 45.2 db/s · ETA 6 s` */
export function progressBar(done: number, total: number, failed: number, perSecond: number): string {
  const width = 20;
  const filled = total > 0 ? Math.round((done / total) * width) : width;
  const eta = perSecond > 0 && done < total ? ` · ETA ${Math.ceil((total - done) / perSecond)} s` : '';
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${done}/${total} · ${failed} failed · ${perSecond.toFixed(1)} db/s${eta}`;
}

function resumeAdvice(command: string): string {
  return `fix the failure and run \`cairn ${command}\` again; each database's history says what it still needs.`;
}

/** What a plain progress line says a target's result was. */
function outcomeText(result: TargetResult): string {
  switch (result.outcome) {
    case 'applied':
      return `applied ${result.applied.length}`;
    case 'rolled-back':
      return `rolled back ${result.rolledBack?.length ?? 0}`;
    case 'drifted':
      return `drifted (${result.differences?.length ?? 0} difference${result.differences?.length === 1 ? '' : 's'})`;
    default:
      return result.outcome;
  }
}

interface RunSummary {
  readonly total: number;
  readonly durationMs: number;
  readonly counts: Readonly<Partial<Record<TargetOutcome, number>>>;
  readonly targets: readonly TargetResult[];
}

function printSummary(result: RunSummary, out: Output, outcomes: readonly TargetOutcome[], advice: string): void {
  const seconds = result.durationMs / 1000;
  const notStarted = result.counts['not-started'] ?? 0;
  const ran = result.total - notStarted;
  out.line(`\nSummary: ${result.total} target${result.total === 1 ? '' : 's'} in ${seconds.toFixed(1)} s (${seconds > 0 ? (ran / seconds).toFixed(1) : ran} databases/s)`);
  table(out, ['OUTCOME', 'TARGETS'], outcomes.filter((o) => (result.counts[o] ?? 0) > 0).map((o) => [o, String(result.counts[o])]));
  const failed = result.targets.filter((t) => t.outcome === 'failed');
  if (failed.length > 0) {
    out.line('\nFailed:');
    table(out, ['TARGET', 'CODE', 'ERROR'], failed.map((t) => [t.target, t.error!.code, firstLine(t.error!.message)]));
    const first = failed[0]!.error!;
    // The whole message once (a lint refusal is the same on every target), with its fix.
    if (first.message.includes('\n')) out.warn(`\n${failed[0]!.target}: ${first.message}`);
    if (first.hint) out.line(`hint: ${first.hint}`);
  }
  const retried = result.targets.filter((t) => (t.retries ?? 0) > 0);
  if (retried.length > 0) {
    const tries = retried.reduce((sum, t) => sum + (t.retries ?? 0), 0);
    out.line(`\nRetried after a passing failure (HTTP 429/5xx): ${retried.length} target${retried.length === 1 ? '' : 's'}, ${tries} ${tries === 1 ? 'retry' : 'retries'} (--json: each target's \`retries\`)`);
  }
  if (notStarted > 0) out.line(`\n${notStarted} target${notStarted === 1 ? ' was' : 's were'} not started: ${advice}`);
  if (result.total === 0) out.line('No targets: the fleet groups match no database yet.');
}

function printLint(report: FleetLintReport, out: Output): void {
  for (const { engine, groups, report: engineReport } of report.engines) {
    if (report.engines.length > 1) out.line(`\n${engine} (${groups.length === 1 ? 'group' : 'groups'} ${groups.join(', ')}):`);
    const pending = report.pending?.find((p) => p.engine === engine);
    if (pending) {
      const unreadable = pending.unreadable.length > 0 ? ` (all of them: ${pending.unreadable.length} target${pending.unreadable.length === 1 ? '' : 's'} could not be read, e.g. ${pending.unreadable[0]})` : '';
      out.line(pending.versions.length === 0 ? 'Nothing pending on any target: nothing to lint.' : `Pending on some target: ${pending.versions.join(', ')}${unreadable}`);
      if (pending.versions.length === 0) continue;
    }
    out.line(formatText(engineReport));
  }
}

function printVerify(result: FleetVerifyResult, out: Output): void {
  for (const { engine, targets, report } of result.history) {
    const failing = report.migrations.filter((m) => !m.ok);
    const what = `${report.summary.checked} migration${report.summary.checked === 1 ? '' : 's'} replayed in ${report.scratch} (up, down, up)`;
    out.line(`History${result.history.length > 1 ? ` (${engine}, ${targets} targets)` : ''}: ${report.ok ? 'ok' : 'FAILED'}, ${what}`);
    for (const migration of failing) for (const problem of migration.problems) out.line(`  ✗ ${migration.version}_${migration.name}: ${problem.message}`);
    if (report.notReached.length > 0) out.line(`  not replayed after that failure: ${report.notReached.join(', ')}`);
    if (report.schema && !report.schema.ok) out.line(`  the final schema does not match ${report.schema.file}`);
    if (!report.ok) out.line('  `cairn verify` shows each step and difference');
  }
  const drifted = result.targets.filter((t) => t.outcome === 'drifted');
  if (drifted.length > 0) {
    out.line('\nDrifted (what the migrations give → what the database has):');
    for (const target of drifted.slice(0, 20)) {
      out.line(`  ${target.target}`);
      for (const difference of target.differences ?? []) out.line(`    ${formatDifference(difference)}`);
    }
    if (drifted.length > 20) out.line(`  … ${drifted.length - 20} more (--json lists them all)`);
  }
  printSummary(result, out, ['in-sync', 'drifted', 'failed', 'not-started'], '`cairn fleet verify --keep-going` checks every target.');
}

function printStatus(report: FleetStatusReport, out: Output, all: boolean): void {
  const { counts } = report;
  out.line(`Fleet: ${report.total} target${report.total === 1 ? '' : 's'} · ${counts['up-to-date']} up to date, ${counts.behind} behind, ${counts.failed} failed, ${counts.locked} locked`);
  if (report.versions.length > 0) table(out, ['VERSION', 'NAME', 'APPLIED ON'], report.versions.map((v) => [v.version, v.name, `${v.applied}/${report.total}`]));
  for (const state of ['behind', 'failed', 'locked'] as const) {
    const listed = report.targets.filter((t) => t.state === state);
    if (listed.length === 0) continue;
    const shown = all ? listed : listed.slice(0, 20);
    out.line(`\n${state[0]!.toUpperCase()}${state.slice(1)}:`);
    table(out, ['TARGET', 'AT', 'PENDING', ''], shown.map((t) => [t.target, t.latest ?? '(none)', pendingText(t), firstLine(t.reason ?? '')]));
    if (shown.length < listed.length) out.line(`… ${listed.length - shown.length} more (--all, or --json, lists them all)`);
  }
  if (counts.behind + counts.failed > 0) out.line('\n`cairn fleet up` applies what is behind.');
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.replace(/:$/, '');
}

function pendingText(status: TargetStatus): string {
  const { pending } = status;
  return pending.length <= 3 ? pending.join(', ') : `${pending.slice(0, 2).join(', ')} … ${pending.at(-1)} (${pending.length})`;
}

function table(out: Output, header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
  const format = (cells: readonly string[]) => `  ${cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ')}`.trimEnd();
  out.line(format(header));
  for (const row of rows) out.line(format(row));
}

/** The first failure's exit code (1 for a rejected migration, 4 for a lock held elsewhere, …); 130 when interrupted. */
function exitCode(result: FleetUpResult | FleetDownResult | FleetVerifyResult): number {
  if (result.stopped === 'interrupted') return 130;
  const first = result.targets.find((t) => t.outcome === 'failed');
  if (!first) return result.counts['not-started'] > 0 ? 1 : 0;
  return exitCodes[first.error!.code as ErrorCode] ?? 1;
}

/** Interrupted 130; a target that could not be checked, its error's code; a failed history 1; a drifted target 3, as `cairn drift`. */
function verifyExitCode(result: FleetVerifyResult): number {
  if (result.stopped === 'interrupted') return 130;
  if (result.counts.failed > 0) return exitCode(result);
  if (!result.history.every((h) => h.report.ok)) return 1;
  return result.ok ? 0 : 3;
}
