import type { SqlStatement } from './split.js';

/** One direction of a migration: its SQL, where it sits on disk, and its statements. */
export interface Section {
  /** Project-relative path of the file this section was read from. */
  readonly file: string;
  /** 1-based line in `file` where the section's text starts. */
  readonly firstLine: number;
  readonly text: string;
  readonly statements: readonly SqlStatement[];
}

/** The section a step in `direction` runs: the up, or the down (null when the file has none). */
export function sectionOf(migration: Migration, direction: 'up' | 'down'): Section | null {
  return direction === 'up' ? migration.up : migration.down;
}

/** A migration as read from disk. Pure data: nothing here has touched a database. */
export interface Migration {
  /** As written in the file name (`0003`, `20240115_001`); compare with compareVersions. */
  readonly version: string;
  readonly name: string;
  /** Project-relative path of the up file. */
  readonly file: string;
  readonly up: Section;
  /** Null when the file has no down section (or an empty one); an empty one for an up that is a no-op (comments only). */
  readonly down: Section | null;
  /** sha256 (hex) of the up section with line endings normalized to \n. */
  readonly checksum: string;
  /** False when the header says `-- cairn:no-transaction`. */
  readonly transaction: boolean;
  /** Header metadata (`-- Migration:`, `-- Type:`, `-- Rollback:`), keys lower-cased. */
  readonly header: Readonly<Record<string, string>>;
  /** `-- cairn:<name> <args>` directives, in file order. */
  readonly directives: readonly Directive[];
  /**
   * True when the up holds nothing, not even a comment, or is `cairn new`'s template untouched:
   * listed and linted, but applying refuses it (assertFilled). An up of comments only is a no-op that is recorded.
   */
  readonly unfilled?: boolean;
  /** True when the up holds comments only: a no-op, recorded when applied, that needs no down. */
  readonly noOp?: boolean;
  /** Set for a TypeScript migration (`NNNN_name.ts`): its sections hold the file's text and no statements. */
  readonly script?: ScriptInfo;
}

/** What the runner knows of a TypeScript migration before importing it (source/script.ts). */
export interface ScriptInfo {
  /** Absolute path of the module. */
  readonly path: string;
  /** Lines of the file's `.batch(` calls, in order: the n-th `ctx.batch` call is checkpointed as statement n. Empty: no batches. */
  readonly batchLines: readonly number[];
  /** True when it runs as one transaction (no batches, no `// cairn:no-transaction`). */
  readonly transaction: boolean;
}

/** The Rollback line `cairn new` writes: still there, with no up statement, the file was never filled in. */
export const ROLLBACK_PLACEHOLDER = 'what the down section undoes, and what data it cannot bring back';

export interface Directive {
  readonly name: string;
  readonly args: string;
  readonly line: number;
}

/** A problem with the files themselves, reported all at once with file and line. */
export interface SourceProblem {
  readonly file: string;
  readonly line?: number;
  readonly message: string;
  readonly fix?: string;
}

export function formatProblem(problem: SourceProblem): string {
  const where = problem.line ? `${problem.file}:${problem.line}` : problem.file;
  return `${where}: ${problem.message}${problem.fix ? ` (${problem.fix})` : ''}`;
}
