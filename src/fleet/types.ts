import type { CairnEvent } from '../core/events.js';
import type { SnapshotDifference } from '../drivers/snapshot.js';

/**
 * What one fleet command does to each target (plain data: it is sent to
 * worker threads). `up` and `down` are the ordinary single-database
 * commands; `drift` reads the target and compares its schema with what its
 * own applied migrations give when replayed.
 */
export type FleetJob =
  | { readonly kind: 'up'; readonly to?: string | undefined; readonly unsafe?: boolean | undefined; readonly noBackup?: boolean | undefined; readonly backupRows?: boolean | undefined }
  | { readonly kind: 'down'; readonly to: string }
  | { readonly kind: 'drift'; readonly scratchUrl?: string | undefined };

/**
 * up: `applied` or `up-to-date`; down: `rolled-back` or `unchanged` (nothing
 * newer than --to); drift: `in-sync` or `drifted`. Every command: `failed`
 * (the target could not do it), `not-started` (the run stopped before it).
 */
export type TargetOutcome = 'applied' | 'up-to-date' | 'rolled-back' | 'unchanged' | 'in-sync' | 'drifted' | 'failed' | 'not-started';

export interface TargetError {
  readonly code: string;
  readonly message: string;
  readonly hint?: string | undefined;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface TargetResult {
  readonly target: string;
  readonly group: string;
  readonly outcome: TargetOutcome;
  /** `0002_add_posts`, … as applied on this target by this run (up). */
  readonly applied: readonly string[];
  /** `0003_…`, … as rolled back on this target by this run, newest first (down only). */
  readonly rolledBack?: readonly string[];
  /** How the live schema differs from what its applied migrations give (drift only; `before` is the replay, `after` the database). */
  readonly differences?: readonly SnapshotDifference[];
  readonly durationMs: number;
  readonly error: TargetError | null;
  /** Transient failures (a remote database answering 429 or 5xx) that were retried on this target before this result. */
  readonly retries?: number;
}

export type StopReason = 'failure' | 'canary' | 'interrupted';

/** Progress, as it happens. */
export type FleetEvent =
  | { readonly type: 'fleet-start'; readonly total: number; readonly concurrency: number; readonly canary: number }
  | { readonly type: 'target-start'; readonly target: string; readonly group: string }
  | { readonly type: 'target-done'; readonly result: TargetResult; readonly done: number; readonly total: number; readonly failed: number; readonly perSecond: number }
  /** A target failed for a passing reason (a remote API's 429 or 5xx): it runs again after `waitMs`, reading its history first. */
  | { readonly type: 'target-retry'; readonly target: string; readonly attempt: number; readonly of: number; readonly waitMs: number; readonly error: TargetError }
  /** A target's own events (steps started and done, notices such as a stale lock taken over). */
  | { readonly type: 'target-event'; readonly target: string; readonly event: CairnEvent }
  /** `target` and its `outcome` (failed, or drifted for verify) when a target's result stopped the run. */
  | { readonly type: 'stopping'; readonly reason: StopReason; readonly target: string | null; readonly outcome?: TargetOutcome | undefined };
