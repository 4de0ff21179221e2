import type { StatementLimits } from '../drivers/types.js';
import { sectionOf, type Migration, type Section } from '../source/migration.js';
import type { SqlStatement } from '../source/split.js';
import { splitInsert } from '../source/split-insert.js';
import { CairnError } from '../errors.js';

/**
 * Engines with a hard cap on one statement (D1: 100,000 bytes of SQL) reject a
 * migration that ran everywhere else. Before anything runs, a multi-row
 * `INSERT … VALUES (…), (…)` past the cap is split into INSERTs under it: they
 * go in the same batch, so the migration stays all or nothing. Any other
 * statement past it stops the run, naming file, line and the fix.
 */
export interface Fitted {
  readonly migrations: readonly Migration[];
  /** "migrations/0003_seed.sql:4: INSERT of 2,400 rows (312,000 bytes) sent as 4 INSERTs" */
  readonly split: readonly string[];
}

export function fitToLimits(migrations: readonly Migration[], direction: 'up' | 'down', limits: StatementLimits | undefined): Fitted {
  if (!limits) return { migrations, split: [] };
  const split: string[] = [];
  const problems: string[] = [];
  const fitted = migrations.map((migration) => {
    const section = sectionOf(migration, direction);
    if (!section || !section.statements.some((s) => bytes(s.sql) > limits.maxBytes)) return migration;
    const statements = section.statements.flatMap((statement) => {
      const size = bytes(statement.sql);
      if (size <= limits.maxBytes) return [statement];
      const pieces = splitInsert(statement.sql, limits.maxBytes);
      if (pieces) {
        split.push(`${section.file}:${statement.line}: an INSERT of ${size.toLocaleString('en')} bytes sent as ${pieces.length} INSERTs of at most ${limits.maxBytes.toLocaleString('en')} bytes, in the same batch`);
        return pieces.map((sql): SqlStatement => ({ ...statement, sql }));
      }
      problems.push(`${section.file}:${statement.line}: this statement is ${size.toLocaleString('en')} bytes; ${limits.engine} refuses statements over ${limits.maxBytes.toLocaleString('en')} bytes`);
      return [statement];
    });
    const resized: Section = { file: section.file, firstLine: section.firstLine, text: section.text, statements };
    return { ...migration, [direction]: resized };
  });
  if (problems.length > 0) {
    throw new CairnError('SOURCE', `${problems.length > 1 ? `${problems.length} statements are` : 'a statement is'} too big for ${limits.engine}; nothing was applied:\n${problems.map((p) => `  ${p}`).join('\n')}`, {
      hint: 'split it into smaller statements (Cairn splits a multi-row INSERT … VALUES by itself, but not one row, an INSERT … ON CONFLICT/RETURNING, or other statements); large data belongs in a seed or import step',
      details: { problems, maxBytes: limits.maxBytes },
    });
  }
  return { migrations: fitted, split };
}

function bytes(sql: string): number {
  return Buffer.byteLength(sql, 'utf8');
}
