import type { LintStatement } from './types.js';

/**
 * What a rule knows at a statement from the statements before it (is an
 * explicit transaction open? are foreign keys on?), as a fold over the file.
 * `step` reads facts, not parse trees, and returns a new state (or the same
 * one): states are kept, one per statement.
 */
export interface Scan<S> {
  readonly initial: S;
  step(state: S, statement: LintStatement): S;
}

const states = new WeakMap<readonly LintStatement[], Map<Scan<unknown>, readonly unknown[]>>();

/**
 * The state of `scan` just before `statements[index]`. The file is folded
 * once per scan, so a rule that asks at every statement stays linear in the
 * number of statements (scanning `context.before` each time would not).
 */
export function stateBefore<S>(statements: readonly LintStatement[], index: number, scan: Scan<S>): S {
  let perFile = states.get(statements);
  if (!perFile) states.set(statements, (perFile = new Map()));
  let folded = perFile.get(scan as Scan<unknown>) as readonly S[] | undefined;
  if (!folded) {
    const list: S[] = [scan.initial];
    let state = scan.initial;
    for (const statement of statements) list.push((state = scan.step(state, statement)));
    perFile.set(scan as Scan<unknown>, list);
    folded = list;
  }
  return folded[index]!;
}
