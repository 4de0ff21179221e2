import { readFileSync } from 'node:fs';
import { migrationText, newMigration, type MigrationType } from '../../core/scaffold.js';
import type { PgPhase, PgPlan, PgPlanFile } from './plan.js';

/** One file `cairn diff` wrote (or would write, with --print) for PostgreSQL. */
export interface PgDiffFile {
  readonly phase: PgPhase;
  /** Relative to the project root; null with --print. */
  readonly file: string | null;
  readonly version: string | null;
  readonly text: string;
  readonly noTransaction: boolean;
  readonly type: MigrationType;
}

const SUFFIX: Record<PgPhase, string> = { enum: '_enum_values', main: '', concurrent: '_indexes', backfill: '_backfill', validate: '_validate' };

export interface WriteOptions {
  readonly name: string;
  readonly desiredFile: string;
  readonly fromDb: boolean;
  readonly reason: string | undefined;
  readonly renamed: boolean;
  readonly print: boolean;
  readonly migrationsDir: string;
  readonly root: string;
}

/** The plan's files, numbered one after the other, each with a header saying which part it is and why it is a file of its own. */
export function writePgFiles(plan: PgPlan, options: WriteOptions): PgDiffFile[] {
  const now = new Date();
  return plan.files.map((part, index) => {
    const type = typeOf(part, plan);
    const header = [
      ...(part.noTransaction ? ['-- cairn:no-transaction'] : []),
      ...(part.phase === 'main' ? plan.allowed.map((rule) => `-- cairn:allow ${rule} ${options.reason ?? reasonFor(rule)}`) : []),
      ...(part.phase === 'backfill' && part.up.some((sql) => /^ALTER TABLE/.test(sql)) ? ['-- cairn:allow schema-and-data-mixed the batches and the NOT VALID check after them each commit on their own: no schema lock is held during the backfill'] : []),
      ...(options.renamed && part.phase === 'main' ? ['-- Renames: the first phase of an expand–contract change when code still reads the old names (deploy code that reads the new ones first); see `cairn plan`.'] : []),
      `-- Written by \`cairn diff ${options.name}\` from ${options.desiredFile}${options.fromDb ? ' (against the live database)' : ''}: review it, then \`cairn lint\` and \`cairn verify\`.`,
      ...(plan.files.length > 1 ? [`-- Part ${index + 1} of ${plan.files.length}, run in order: ${part.why}.`] : []),
    ];
    const body = {
      up: sql(part.up),
      down: part.down === null ? `-- no down: ${part.noDown ?? 'none written'}` : sql(part.down),
      rollback: part.down === null ? `none: ${part.noDown ?? ''}` : part.phase === 'main' && plan.changes.some((c) => c.kind.startsWith('drop-table') || c.kind === 'drop-column') ? 'the down restores the old definitions; dropped data does not come back (restore it from the backup Cairn takes before the up)' : 'the down restores the previous schema',
      header,
    };
    const name = `${options.name}${SUFFIX[part.phase]}`;
    if (options.print) {
      const title = name.trim().toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
      return { phase: part.phase, file: null, version: null, text: migrationText(title, type, body), noTransaction: part.noTransaction, type };
    }
    const written = newMigration(options.migrationsDir, options.root, name, type, now, body);
    return { phase: part.phase, file: written.file, version: written.version, text: readFileSync(written.path, 'utf8'), noTransaction: part.noTransaction, type };
  });
}

function sql(statements: readonly string[]): string {
  return statements.map((s) => `${s.trim().replace(/;$/, '')};`).join('\n');
}

function typeOf(part: PgPlanFile, plan: PgPlan): MigrationType {
  if (part.phase === 'enum') return 'additive';
  // The index file drops an index of the same name first (a failed CONCURRENTLY build leaves an invalid one); the validate file alters tables.
  if (part.phase !== 'main') return 'transformative';
  if (plan.changes.some((c) => c.kind === 'drop-table' || c.kind === 'drop-column')) return 'destructive';
  return plan.changes.every((c) => /^(create-|add-)/.test(c.kind)) ? 'additive' : 'transformative';
}

function reasonFor(rule: string): string {
  if (rule === 'rename-column' || rule === 'rename-table') return 'asked for with cairn diff --rename; deploy code that uses the new name first';
  if (rule === 'change-column-type' || rule === 'add-serial-or-identity') return 'asked for with cairn diff --allow-rewrite';
  return 'asked for with cairn diff';
}
