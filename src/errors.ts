/**
 * Every failure a user can cause or meet is a CairnError with a stable code.
 * The CLI maps codes to exit codes and prints message + hint, never a stack.
 */
export type ErrorCode =
  | 'USAGE' // bad flags or arguments
  | 'CONFIG' // config file or database URL is wrong
  | 'CONNECTION' // the database cannot be reached
  | 'NO_ANSWER' // a write was sent but its answer was lost: whether it committed is unknown (remote D1)
  | 'SOURCE' // migration files are malformed (names, duplicates, markers)
  | 'CHECKSUM_MISMATCH' // an applied file was edited
  | 'MISSING_MIGRATION' // an applied file was deleted
  | 'FAILED_MIGRATION' // a previous non-transactional migration failed half-way
  | 'OUT_OF_ORDER' // a pending file is older than the newest applied one
  | 'NO_DOWN' // rollback asked for a migration without a down section
  | 'TARGET' // --to / --steps names something that does not exist
  | 'LOCK_TIMEOUT' // another process holds the migration lock
  | 'MIGRATION_FAILED' // the database rejected a migration's SQL
  | 'LINT' // the linter found errors in migrations about to be applied
  | 'BACKUP' // a backup before a destructive migration, or a restore, could not be made
  | 'VALIDATION' // `cairn validate` found problems
  | 'CONFIRMATION_REQUIRED' // a protected environment, and no --yes and no "yes" at the prompt
  | 'PROMOTION' // `up` on an environment that follows another, with migrations that have not run there
  | 'PHASE' // a contract migration whose expand (or backfill) is not done, or not old or confirmed enough, here
  | 'HEALTH_CHECK' // migrations applied, then the environment's health check failed
  | 'NON_EMPTY_DATABASE' // `up` on a database with tables but no migration history (baseline it first)
  | 'INTERRUPTED'; // SIGINT/SIGTERM (Ctrl-C): the running step rolled back, the lock released

/** Exit codes by code: 1 = the database or the linter said no, 2 = the user must fix input, 3 = history problem, 4 = busy, 5 = applied, but unhealthy, 6 = a database Cairn has no history of, 130 = interrupted (128 + SIGINT, as shells report Ctrl-C). */
export const exitCodes: Readonly<Record<ErrorCode, number>> = {
  MIGRATION_FAILED: 1,
  LINT: 1,
  BACKUP: 1,
  USAGE: 2,
  CONFIG: 2,
  SOURCE: 2,
  TARGET: 2,
  NO_DOWN: 2,
  CONFIRMATION_REQUIRED: 2,
  CONNECTION: 3,
  NO_ANSWER: 3,
  CHECKSUM_MISMATCH: 3,
  MISSING_MIGRATION: 3,
  FAILED_MIGRATION: 3,
  OUT_OF_ORDER: 3,
  VALIDATION: 3,
  PROMOTION: 3,
  PHASE: 3,
  LOCK_TIMEOUT: 4,
  HEALTH_CHECK: 5,
  NON_EMPTY_DATABASE: 6,
  INTERRUPTED: 130,
};

export interface CairnErrorOptions {
  readonly hint?: string;
  /** JSON-safe facts for --json output and for programs. */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

export class CairnError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: CairnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CairnError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  get exitCode(): number {
    return exitCodes[this.code];
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}), details: this.details };
  }
}

export function isCairnError(value: unknown): value is CairnError {
  return value instanceof CairnError;
}
