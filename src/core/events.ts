import type { HealthReport } from './health.js';

/** What the runner tells its caller while it works; the CLI turns these into lines. */
export type CairnEvent =
  | { readonly type: 'notice'; readonly message: string }
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
