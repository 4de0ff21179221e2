import type { Command } from 'commander';
import { createCairn, type Cairn } from '../cairn.js';
import type { CairnEvent } from '../core/events.js';
import { createOutput, usage, type Output } from './output.js';

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
 * place on a terminal.
 */
function eventRenderer(out: Output): (event: CairnEvent) => void {
  let lastProgress = 0;
  let progressShown = false;
  const tty = process.stdout.isTTY === true;
  return (event) => {
    if (event.type === 'notice') return out.warn(`notice: ${event.message}`);
    if (out.json) return;
    if (event.type === 'start') {
      progressShown = false;
      out.write(`  ${event.direction === 'up' ? '↑' : '↓'} ${event.version}_${event.name}${event.atomic ? '' : ' (no transaction)'} … `);
    } else if (event.type === 'progress') {
      const now = performance.now();
      if (!event.done && now - lastProgress < 1000) return;
      lastProgress = now;
      const text = describeProgress(event);
      if (tty) out.write(`${progressShown ? '\r' : '\n'}    ${text}\x1b[K`);
      else out.write(`\n    ${text}`);
      progressShown = true;
    } else if (event.type === 'done') out.line(progressShown ? `\n    ok (${event.durationMs} ms)` : `ok (${event.durationMs} ms)`);
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
