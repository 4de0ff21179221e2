import type { Output } from './output.js';

/**
 * SIGINT (Ctrl-C) and SIGTERM as an AbortSignal for the library: the first
 * one asks the running statement to stop (the step rolls back, the lock is
 * released, the command exits 130 with INTERRUPTED); a second one exits at
 * once. For the commands that write or replay: up, down, verify.
 */
export function interruptSignal(out: Output): AbortSignal {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      out.warn(`${signal} again: exiting without waiting`);
      process.exit(130);
    }
    if (!out.json) out.line(`${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping`);
    out.warn(`${signal}: stopping; the running step is cancelled and rolled back where the database allows it, else it ends first (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to exit at once)`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}
