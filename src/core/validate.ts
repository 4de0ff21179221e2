import type { SourceProblem } from '../source/migration.js';
import { CairnError } from '../errors.js';
import type { MigrationStatus } from './planner.js';

export interface ValidationProblem {
  readonly kind: 'file' | 'changed' | 'missing' | 'failed' | 'out-of-order';
  readonly file: string | null;
  readonly line: number | null;
  readonly version: string | null;
  readonly message: string;
  readonly fix: string;
}

export interface ValidationReport {
  readonly valid: boolean;
  readonly problems: readonly ValidationProblem[];
}

/** File problems come from reading the directory; history problems from comparing it with the database. */
export function fileProblems(error: unknown): ValidationProblem[] {
  if (!(error instanceof CairnError) || error.code !== 'SOURCE' || !Array.isArray(error.details.problems)) throw error;
  return asValidationProblems(error.details.problems as SourceProblem[]);
}

export function asValidationProblems(problems: readonly SourceProblem[]): ValidationProblem[] {
  return problems.map((p) => ({
    kind: 'file',
    file: p.file,
    line: p.line ?? null,
    version: null,
    message: p.message,
    fix: p.fix ?? 'fix the file',
  }));
}

export function historyProblems(statuses: readonly MigrationStatus[]): ValidationProblem[] {
  return statuses.flatMap((s): ValidationProblem[] => {
    const base = { file: s.migration?.file ?? null, line: null, version: s.version };
    switch (s.state) {
      case 'changed':
        return [{ ...base, kind: 'changed', message: `edited after it was applied on ${s.record!.appliedAt.toISOString()}: checksum was ${s.record!.checksum.slice(0, 12)}…, is now ${s.migration!.checksum.slice(0, 12)}…`, fix: `restore it (git log -p -- ${s.migration!.file} shows the edit) and put the change in a new migration, or accept a harmless edit with \`cairn repair\`` }];
      case 'missing':
        return [{ ...base, kind: 'missing', message: `${s.version}_${s.name} was applied on ${s.record!.appliedAt.toISOString()} but its file is gone`, fix: 'restore the file, or forget its record with `cairn repair`' }];
      case 'failed':
        return [{ ...base, kind: 'failed', message: `${s.version}_${s.name} ${s.record!.state === 'running' ? 'started and never finished' : `failed: ${s.record!.error ?? 'unknown error'}`}`, fix: 'undo or finish its partial changes by hand, then `cairn repair` and `cairn up`' }];
      case 'pending':
        return s.outOfOrder ? [{ ...base, kind: 'out-of-order', message: `${s.version}_${s.name} is pending but numbered below the newest applied migration`, fix: 'renumber it, or apply with --allow-out-of-order' }] : [];
      case 'applied':
      case 'running': // an interrupted batched migration: `up` resumes it
        return [];
    }
  });
}
