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
    onEvent: (event) => renderEvent(event, out),
  });
  return { cairn, out };
}

function seconds(text: string): number {
  const value = Number(text.replace(/s$/, ''));
  if (!Number.isFinite(value) || value < 0) throw usage(`--lock-timeout must be a number of seconds, got "${text}"`, 'e.g. --lock-timeout 120');
  return value;
}

/** Progress lines: "  0002_add_posts … ok (4 ms)". Silent with --json. */
function renderEvent(event: CairnEvent, out: Output): void {
  if (event.type === 'notice') return out.warn(`notice: ${event.message}`);
  if (out.json) return;
  if (event.type === 'start') out.write(`  ${event.direction === 'up' ? '↑' : '↓'} ${event.version}_${event.name}${event.atomic ? '' : ' (no transaction)'} … `);
  else if (event.type === 'done') out.line(`ok (${event.durationMs} ms)`);
  // 'health' is rendered from the result (after the summary line), or inside the HEALTH_CHECK error.
}

export function parseCount(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw usage(`${flag} must be a positive whole number, got "${text}"`);
  return value;
}
