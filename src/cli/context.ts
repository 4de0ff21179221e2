import type { Command } from 'commander';
import { createCairn, type Cairn } from '../cairn.js';
import type { CairnEvent } from '../core/events.js';
import { createOutput, endOpenLine, lineIsOpen, usage, type Output } from './output.js';

/** Options every command accepts (declared once on the program). */
export interface GlobalOptions {
  readonly url?: string;
  readonly env?: string;
  readonly config?: string;
  readonly dir?: string;
  readonly table?: string;
  readonly lockTimeout?: string;
  readonly json?: boolean;
  readonly d1?: string;
  readonly remote?: boolean;
  readonly local?: boolean;
  readonly persistTo?: string;
  /** False with --no-cache. */
  readonly cache?: boolean;
}

export interface CommandContext {
  readonly cairn: Cairn;
  readonly out: Output;
}

export function contextFor(command: Command, extra: { readonly allowOutOfOrder?: boolean } = {}): CommandContext {
  const options = command.optsWithGlobals<GlobalOptions>();
  const out = createOutput(options.json ?? false);
  if (options.local && options.remote) throw usage('--local and --remote contradict each other', 'leave out --local: the local database is the default; --remote is the one on Cloudflare');
  const cairn = createCairn({
    url: options.url,
    env: options.env,
    config: options.config,
    dir: options.dir,
    table: options.table,
    lockTimeout: options.lockTimeout === undefined ? undefined : seconds(options.lockTimeout),
    d1: options.d1,
    remote: options.remote,
    persistTo: options.persistTo,
    lintCache: options.cache,
    allowOutOfOrder: extra.allowOutOfOrder,
    onEvent: eventRenderer(out),
  });
  return { cairn, out };
}

function seconds(text: string): number {
  const value = Number(text.replace(/s$/, ''));
  if (!Number.isFinite(value) || value < 0) throw usage(`--lock-timeout must be a number of seconds, got "${text}"`, 'e.g. --lock-timeout 120');
  return value;
}

/**
 * Progress lines: "  0002_add_posts … ok (4 ms)". Silent with --json. A batched
 * statement adds a line per second: rows done, rows/s and an ETA, rewritten in
 * place on a terminal. Phases that take time say so on a line of their own:
 * linting, waiting for the lock, verify's replay (with per-migration progress,
 * rewritten in place on a terminal, else a line a second). Anything printed
 * while a step's line is open ends that line first (output.ts).
 */
function eventRenderer(out: Output): (event: CairnEvent) => void {
  let lastProgress = 0;
  let progressShown = false;
  let step = '';
  const tty = process.stdout.isTTY === true;
  const phase = (text: string) => {
    endOpenLine();
    out.line(text);
  };
  return (event) => {
    if (event.type === 'notice') return out.warn(`notice: ${event.message}`);
    if (out.json) return;
    if (event.type === 'lint') phase(`Linting ${event.migrations} pending migration${event.migrations > 1 ? 's' : ''}…`);
    else if (event.type === 'lock-wait') phase(`Waiting for the lock held by ${event.holder ?? 'another migration'}… (up to ${event.timeoutMs / 1000} s, --lock-timeout)`);
    else if (event.type === 'replay') phase(`Replaying ${event.migrations} migration${event.migrations === 1 ? '' : 's'} in a scratch database…`);
    else if (event.type === 'replay-step') {
      const now = performance.now();
      const text = `  ${event.index}/${event.total} ${event.version}_${event.name}`;
      if (tty) out.write(`\r${text}\x1b[K`); // cleared by the report (clearOpenLine)
      else if (now - lastProgress >= 1000 || event.index === 1) {
        lastProgress = now;
        phase(text);
      }
    } else if (event.type === 'start') {
      progressShown = false;
      step = `${event.version}_${event.name}`;
      endOpenLine();
      out.write(`  ${event.direction === 'up' ? '↑' : '↓'} ${step}${event.atomic ? '' : ' (no transaction)'} … `);
    } else if (event.type === 'progress') {
      const now = performance.now();
      if (!event.done && now - lastProgress < 1000) return;
      lastProgress = now;
      const text = describeProgress(event);
      const open = lineIsOpen();
      if (tty && progressShown && open) out.write(`\r    ${text}\x1b[K`);
      else out.write(`${open ? '\n' : ''}    ${text}`);
      progressShown = true;
    } else if (event.type === 'done') {
      // The step's line may have been ended by a warning printed meanwhile: then "ok" says which step.
      if (!lineIsOpen()) out.line(`    ${step} ok (${event.durationMs} ms)`);
      else out.line(progressShown ? `\n    ok (${event.durationMs} ms)` : `ok (${event.durationMs} ms)`);
    }
    // 'health' is rendered from the result (after the summary line), or inside the HEALTH_CHECK error.
  };
}

/** "line 4: 12000/100000 rows (12%), 5400 rows/s, ETA 16 s" */
export function describeProgress(event: Extract<CairnEvent, { type: 'progress' }>): string {
  const percent = event.total > 0 ? ` (${Math.min(100, Math.floor((event.rows / event.total) * 100))}%)` : '';
  const seconds = event.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round((event.batches > 0 ? event.rows : 0) / seconds) : 0;
  const left = Math.max(0, event.total - event.rows);
  const eta = !event.done && rate > 0 && left > 0 ? `, ETA ${Math.ceil(left / rate)} s` : '';
  return `line ${event.line}: ${event.rows}/${event.total} rows${percent}${event.done ? ', done' : ''}${rate > 0 ? `, ${rate} rows/s` : ''}${eta}`;
}

export function parseCount(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw usage(`${flag} must be a positive whole number, got "${text}"`);
  return value;
}
