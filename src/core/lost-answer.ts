import type { Migration } from '../source/migration.js';
import { canonicalVersion } from '../source/version.js';
import { CairnError } from '../errors.js';
import type { Direction, StepContext } from './migrator.js';

/**
 * A write whose answer was lost (remote D1: a timeout, a reset connection, a
 * 5xx) may or may not have committed, and D1 never retries writes. The history
 * row is written in the same batch as each migration, so the history says which:
 * read it, and only then go on, re-send, or report.
 */
export function isNoAnswer(error: unknown): error is CairnError {
  return error instanceof CairnError && error.code === 'NO_ANSWER';
}

/** True when the lost batch committed (every step's row is there, for up; gone, for down); false when it did not. Throws NO_ANSWER when the history cannot tell. */
export async function committedDespiteNoAnswer(context: Pick<StepContext, 'tracking'>, migrations: readonly Migration[], direction: Direction, lost: CairnError): Promise<boolean> {
  const names = migrations.map((m) => `${m.version}_${m.name}`).join(', ');
  let recorded: Set<string>;
  try {
    recorded = new Set((await context.tracking.read()).filter((r) => r.state === 'applied').map((r) => canonicalVersion(r.version)));
  } catch (error) {
    throw new CairnError('NO_ANSWER', `${lost.message}, and the history could not be read to learn whether ${names} ${direction === 'up' ? 'was applied' : 'was rolled back'}`, {
      hint: `once the API answers, run \`cairn status\`: ${direction === 'up' ? `${names} shown applied means the batch committed; pending means it did not, and \`cairn up\` applies it` : `${names} shown pending means the down committed`}. Do not run the SQL by hand.`,
      details: { versions: migrations.map((m) => m.version), direction },
      cause: error,
    });
  }
  const present = migrations.filter((m) => recorded.has(canonicalVersion(m.version))).length;
  const done = direction === 'up' ? present : migrations.length - present;
  if (done === migrations.length) return true;
  if (done === 0) return false;
  throw new CairnError('NO_ANSWER', `${lost.message}; the history shows only part of one batch (${names}), which commits whole`, { hint: 'run `cairn status` and `cairn validate` to see what is recorded' });
}
