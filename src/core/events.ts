/** What the runner tells its caller while it works; the CLI turns these into lines. */
export type CairnEvent =
  | { readonly type: 'notice'; readonly message: string }
  /** `up` lints what it is about to apply (before the first step). */
  | { readonly type: 'lint'; readonly migrations: number }
  /** The migration lock is held by someone else and we have waited about a second: told once per wait. `holder` as the driver describes it, null when it cannot tell. */
  | { readonly type: 'lock-wait'; readonly holder: string | null; readonly timeoutMs: number }
  /** `verify` starts replaying `migrations` in its scratch database; then one `replay-step` per migration as it is checked (`index` from 1). */
  | { readonly type: 'replay'; readonly migrations: number; readonly scratch: string }
  | { readonly type: 'replay-step'; readonly index: number; readonly total: number; readonly version: string; readonly name: string }
  | {
      readonly type: 'start';
      readonly direction: 'up' | 'down';
      readonly version: string;
      readonly name: string;
      readonly file: string;
      /** False for a step that runs outside a transaction. */
      readonly atomic: boolean;
    }
  /**
   * A batched statement (`-- cairn:batch`) moving on: after each committed batch, and once more with `done`.
   * `rows` counts the key range walked so far (resumed runs included), `total` the table's rows when it started.
   */
  | {
      readonly type: 'progress';
      readonly version: string;
      readonly name: string;
      readonly file: string;
      readonly line: number;
      readonly rows: number;
      readonly total: number;
      /** Batches committed by this process. */
      readonly batches: number;
      readonly elapsedMs: number;
      readonly done: boolean;
    }
  /** After `up` applied something to an environment with a health check. */
  | { readonly type: 'health'; readonly report: HealthReport }
  | { readonly type: 'done'; readonly direction: 'up' | 'down'; readonly version: string; readonly name: string; readonly file: string; readonly durationMs: number };

/** What the check found. `url` is redacted. */
export interface HealthReport {
  readonly url: string;
  readonly ok: boolean;
  /** Null when no answer came (refused, timed out, DNS). */
  readonly status: number | null;
  readonly statusText: string;
  readonly durationMs: number;
  /** Why it is unhealthy, in words: `expected 200, got 503`, `connection refused`, … */
  readonly problem: string | null;
}
