import type { Command } from 'commander';
import { exitCodes, type ErrorCode } from '../../errors.js';
import { FLEET_CONCURRENCY_HELP } from '../../drivers/index.js';
import type { FleetEvent, FleetUpResult } from '../../fleet/up.js';
import type { FleetStatusReport, TargetStatus } from '../../fleet/status.js';
import { contextFor, parseCount } from '../context.js';
import { confirmOptions } from '../environment.js';
import { interruptSignal } from '../interrupt.js';
import { usage, type Output } from '../output.js';

interface SelectionFlags {
  targets?: string;
  group?: string[];
  concurrency?: string;
}

const TARGETS_HELP = `
Targets come from \`fleet\` in cairn.config.ts, in named groups:
  fleet: {
    tenants: 'tenants/*.db',                                       // SQLite files (a glob)
    regions: ['postgres://app@eu.db/app', 'postgres://app@us.db/app'],
    schemas: { url: 'postgres://app@db/app', schemas: 'tenant_%' },  // one schema per tenant
    edge: { d1: ['<database_id>', '<database_id>'] },               // local D1 databases
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
    .option('--unsafe', 'apply even if the linter finds errors (recorded in each history table)')
    .option('--no-backup', 'do not back up the rows a destructive migration can destroy')
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
    .action(async (options: SelectionFlags & { canary?: string; keepGoing?: boolean; to?: string; unsafe?: boolean; backup?: boolean; yes?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      refuseOneDatabase(command);
      // Only for the prompt of a protected environment (asked once for the fleet); a fleet needs no single database.
      const config = await cairn.config().catch(() => null);
      const progress = progressPrinter(out);
      const result = await cairn.fleet.up({
        ...selectionOptions(options),
        canary: options.canary === undefined ? undefined : /^\d+$/.test(options.canary) ? parseCount(options.canary, '--canary') : options.canary,
        keepGoing: options.keepGoing,
        to: options.to,
        unsafe: options.unsafe,
        noBackup: options.backup === false,
        signal: interruptSignal(out),
        onEvent: progress,
        ...(config ? confirmOptions(config, options.yes) : { yes: options.yes }),
      });
      process.exitCode = exitCode(result);
      if (out.json) return out.document(result);
      printSummary(result, out);
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

function selectionOptions(options: SelectionFlags) {
  return { targetsFile: options.targets, groups: options.group, concurrency: options.concurrency === undefined ? undefined : parseCount(options.concurrency, '--concurrency') };
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
        const what = result.outcome === 'applied' ? `applied ${result.applied.length}` : result.outcome;
        out.line(`[${String(done).padStart(String(total).length)}/${total}] ${result.target}: ${what} (${result.durationMs} ms) · ${failed} failed · ${perSecond.toFixed(1)} db/s`);
        return;
      }
      case 'target-event':
        if (event.event.type === 'notice') out.warn(`notice: ${event.target}: ${event.event.message}`);
        return;
      case 'stopping':
        out.warn(
          event.reason === 'failure'
            ? `stopping: ${event.target} failed; the targets already running finish, no new one starts (--keep-going runs them all)`
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

function printSummary(result: FleetUpResult, out: Output): void {
  const seconds = result.durationMs / 1000;
  const ran = result.total - result.counts['not-started'];
  out.line(`\nSummary: ${result.total} target${result.total === 1 ? '' : 's'} in ${seconds.toFixed(1)} s (${seconds > 0 ? (ran / seconds).toFixed(1) : ran} databases/s)`);
  table(out, ['OUTCOME', 'TARGETS'], (['applied', 'up-to-date', 'failed', 'not-started'] as const).filter((o) => result.counts[o] > 0).map((o) => [o, String(result.counts[o])]));
  const failed = result.targets.filter((t) => t.outcome === 'failed');
  if (failed.length > 0) {
    out.line('\nFailed:');
    table(out, ['TARGET', 'CODE', 'ERROR'], failed.map((t) => [t.target, t.error!.code, firstLine(t.error!.message)]));
    const first = failed[0]!.error!;
    // The whole message once (a lint refusal is the same on every target), with its fix.
    if (first.message.includes('\n')) out.warn(`\n${failed[0]!.target}: ${first.message}`);
    if (first.hint) out.line(`hint: ${first.hint}`);
  }
  if (result.counts['not-started'] > 0) out.line(`\n${result.counts['not-started']} target${result.counts['not-started'] === 1 ? ' was' : 's were'} not started: fix the failure and run \`cairn fleet up\` again; each database's history says what it still needs.`);
  if (result.total === 0) out.line('No targets: the fleet groups match no database yet.');
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
function exitCode(result: FleetUpResult): number {
  if (result.stopped === 'interrupted') return 130;
  const first = result.targets.find((t) => t.outcome === 'failed');
  if (!first) return result.counts['not-started'] > 0 ? 1 : 0;
  return exitCodes[first.error!.code as ErrorCode] ?? 1;
}
