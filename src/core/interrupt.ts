import type { Driver } from '../drivers/types.js';
import { CairnError } from '../errors.js';
import type { Direction, MigrationFailure, StepResult } from './migrator.js';

/**
 * Ctrl-C (SIGINT) and SIGTERM reach the library as an AbortSignal (the CLI
 * wires the signals to it). While a step runs, an abort asks the driver to
 * cancel the running statement (`Driver.cancel`); the step's transaction then
 * rolls back as for any failure, the lock is released as the session ends, and
 * the run stops with INTERRUPTED saying what remains applied. Between steps,
 * the run stops before the next one.
 */
export async function cancellable<T>(driver: Driver, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  if (!signal || !driver.cancel) return work();
  // (Landing between two statements of a step, the cancel stops the step at its next statement: Driver.cancel.)
  const onAbort = () => void driver.cancel?.().catch(() => undefined);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await work();
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * True when the run was interrupted. Yields to the event loop first: a
 * synchronous engine (SQLite) resolves a whole step without one, and a signal
 * is only seen when the loop turns.
 */
export async function interrupted(signal: AbortSignal | undefined): Promise<boolean> {
  if (!signal) return false;
  await new Promise((resolve) => setImmediate(resolve));
  return signal.aborted;
}

/** What an interrupted `up` or `down` left: the step it was in (null between steps) and the ones it completed. */
export function interruptedRun(direction: Direction, applied: readonly StepResult[], current: MigrationFailure | null, next: { readonly version: string; readonly name: string } | null): CairnError {
  const done = span(applied.map((step) => step.version));
  const kept = direction === 'up' ? 'remain applied' : 'were rolled back';
  const completed = done ? `${done} ${applied.length > 1 ? kept : kept.replace('remain', 'remains').replace('were', 'was')}` : direction === 'up' ? 'nothing was applied' : 'nothing was rolled back';
  let what: string;
  if (current === null) what = next ? `stopped before ${next.version}_${next.name}` : 'stopped';
  else if (!current.rolledBack) what = `${current.version}_${current.name} ran outside a transaction and was stopped half-way (recorded as failed)`;
  else what = direction === 'up' ? `${current.version}_${current.name} rolled back` : `the rollback of ${current.version}_${current.name} was undone (it stays applied)`;
  return new CairnError('INTERRUPTED', `interrupted: ${what}, ${completed}`, {
    hint: current && !current.rolledBack ? 'undo or finish its changes by hand, then `cairn repair`' : `the lock is released; run \`cairn ${direction}\` again to continue`,
    details: { direction, applied: applied.map((step) => step.version), interrupted: current?.version ?? null, rolledBack: current?.rolledBack ?? true },
  });
}

/** 0001–0003 for a run of versions in order; the single version for one. */
function span(versions: readonly string[]): string {
  if (versions.length === 0) return '';
  return versions.length === 1 ? versions[0]! : `${versions[0]}–${versions.at(-1)}`;
}

/** Interrupted outside a step (waiting for the lock, replaying in verify): nothing of the run is half-done. */
export function interruptedWhile(what: string, details: Record<string, unknown> = {}): CairnError {
  return new CairnError('INTERRUPTED', `interrupted while ${what}`, { details });
}
