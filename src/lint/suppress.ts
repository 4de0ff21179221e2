import type { Migration } from '../source/migration.js';
import type { LintStatement } from './types.js';

/**
 * `-- cairn:allow <rule-id> <reason>`: on the comment lines right before a
 * statement it covers that statement; in the header (above `-- migrate:up`,
 * or separated from the first statement by a blank line) it covers the file.
 */
export interface Allow {
  readonly rule: string;
  readonly reason: string;
  readonly line: number;
  /** Index of the statement it covers, or null for the whole file. */
  readonly statement: number | null;
}

export function allowsOf(migration: Migration, statements: readonly LintStatement[]): Allow[] {
  const lines = migration.up.text.split('\n');
  const lineText = (line: number) => lines[line - migration.up.firstLine] ?? '';
  return migration.directives
    .filter((d) => d.name === 'allow')
    .map((directive) => {
      const [rule = '', ...reason] = directive.args.split(/\s+/).filter(Boolean);
      const next = firstAfter(statements, directive.line);
      let statement: number | null = null;
      if (next && directive.line >= migration.up.firstLine) {
        // Only comment lines between the directive and the statement: it is that statement's.
        let onlyComments = true;
        for (let line = directive.line + 1; line < next.line; line++) if (!lineText(line).trim().startsWith('--')) onlyComments = false;
        const statementBefore = statements.length > 0 && statements[0]!.line < directive.line;
        if (onlyComments || statementBefore) statement = next.index;
      }
      return { rule, reason: reason.join(' '), line: directive.line, statement };
    });
}

/** The first statement that starts after `line` (statements are in file order): a binary search, as a seed file has many. */
function firstAfter(statements: readonly LintStatement[], line: number): LintStatement | undefined {
  let low = 0;
  let high = statements.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (statements[middle]!.line > line) high = middle;
    else low = middle + 1;
  }
  return statements[low];
}
