import type { Driver, SqlCommand } from '../drivers/types.js';
import { assertionsOf, holds, type Assertion } from '../source/assertions.js';
import type { Migration } from '../source/migration.js';
import type { Direction, StepFailed } from './migrator.js';

/**
 * The runner's side of `-- cairn:assert` (source/assertions.ts): the guard
 * statements that open a step's atomic unit, what a failed one means, and the
 * read-only evaluation `--dry-run` shows.
 */

/** What an assertion returned, read on its own (a dry run, or after a guard failed and its unit rolled back). */
export interface AssertionOutcome {
  readonly name: string;
  readonly sql: string;
  readonly line: number;
  readonly holds: boolean;
  /** The first value of the first row; null for no row. */
  readonly returned: unknown;
  /** The engine's message when the query itself failed. */
  readonly error?: string;
}

/** The guard statements of a step, in file order: only an up is guarded. */
export function guardCommands(driver: Driver, migration: Migration, direction: Direction): SqlCommand[] {
  if (direction !== 'up') return [];
  return assertionsOf(migration).map((assertion) => ({ sql: driver.flavor.assertion(assertion.sql) }));
}

/** Runs one assertion's query as a read and says whether it holds. */
export async function evaluate(driver: Driver, assertion: Assertion): Promise<AssertionOutcome> {
  const base = { name: assertion.name, sql: assertion.sql, line: assertion.line };
  try {
    const rows = await driver.query<Record<string, unknown>>({ sql: assertion.sql });
    const first = rows[0];
    const returned = first === undefined ? null : (Object.values(first)[0] ?? null);
    return { ...base, holds: holds(returned), returned };
  } catch (error) {
    return { ...base, holds: false, returned: null, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Every assertion of the migrations' ups, against the database as it is now (--dry-run). */
export async function evaluateAll(driver: Driver, migration: Migration): Promise<AssertionOutcome[]> {
  const outcomes: AssertionOutcome[] = [];
  for (const assertion of assertionsOf(migration)) outcomes.push(await evaluate(driver, assertion));
  return outcomes;
}

/** The step's failure when its `index`-th guard stopped it: named, with its SQL and what it returned (read again, now that nothing of the step remains). */
export async function assertionFailure(driver: Driver, migration: Migration, index: number, engineMessage: string, make: (failure: StepFailed['failure']) => StepFailed): Promise<StepFailed> {
  const assertion = assertionsOf(migration)[index]!;
  const outcome = await evaluate(driver, assertion);
  return make(failureOf(migration, assertion, outcome.error === undefined ? outcome : { ...outcome, error: outcome.error ?? engineMessage }));
}

/** For a step that cannot run in one unit (`-- cairn:no-transaction`, `-- cairn:batch`): each assertion read before anything runs. */
export async function checkBeforeRunning(driver: Driver, migration: Migration, make: (failure: StepFailed['failure']) => StepFailed): Promise<void> {
  for (const assertion of assertionsOf(migration)) {
    const outcome = await evaluate(driver, assertion);
    if (!outcome.holds) throw make(failureOf(migration, assertion, outcome));
  }
}

function failureOf(migration: Migration, assertion: Assertion, outcome: AssertionOutcome): StepFailed['failure'] {
  const message = outcome.error !== undefined
    ? `assertion "${assertion.name}" could not be evaluated: ${outcome.error}`
    : `assertion "${assertion.name}" does not hold: ${assertion.sql} returned ${describe(outcome.returned)}`;
  return {
    version: migration.version,
    name: migration.name,
    direction: 'up',
    file: migration.file,
    line: assertion.line,
    column: 1,
    statement: assertion.directive.slice(0, 160),
    caret: null,
    message,
    engineCode: null,
    rolledBack: true,
    hint:
      outcome.error !== undefined
        ? `fix the assertion's SQL on line ${assertion.line} (it must return one value that is true); nothing of ${migration.version}_${migration.name} ran`
        : `nothing of ${migration.version}_${migration.name} ran: the assertion guards it. Make the condition true first (${assertion.form === 'assert-empty' ? `empty ${assertion.table}` : assertion.form === 'assert-unique' ? 'remove the duplicates' : 'change the data it checks'}), then run \`cairn up\` again`,
  };
}

/** What the message says the query returned. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'no value (NULL or no row)';
  if (typeof value === 'string') return `'${value}'`;
  return String(value);
}
