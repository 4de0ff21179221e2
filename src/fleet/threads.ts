import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ResolvedConfig } from '../config/load.js';
import type { FleetTarget } from './targets.js';
import type { FleetEvent, FleetJob, TargetResult } from './types.js';

/** What the main thread sends a worker, and what comes back. Plain data only: it crosses threads by structured clone. */
export type ToWorker = { readonly type: 'run'; readonly job: FleetJob; readonly target: FleetTarget; readonly config: ResolvedConfig } | { readonly type: 'abort' };
export type FromWorker = { readonly type: 'event'; readonly event: FleetEvent } | { readonly type: 'result'; readonly result: TargetResult };

export interface ThreadPool {
  run(job: FleetJob, target: FleetTarget, config: ResolvedConfig, onEvent: (event: FleetEvent) => void): Promise<TargetResult>;
  abort(): void;
  close(): Promise<void>;
}

// `../fleet/`: the same file from dist/fleet/ (tsc) and from the bundled CLI's chunks in dist/bin/.
const WORKER = new URL('../fleet/worker.js', import.meta.url);

/**
 * Worker threads for targets whose driver blocks its thread (SQLite through
 * better-sqlite3 waits for each commit's fsync synchronously): one target's job per
 * worker at a time, `size` workers, so their disk waits overlap. Null when
 * the worker script is not there (running from the TypeScript sources): the
 * targets then run in this thread, as for every other engine.
 */
export function threadPool(size: number): ThreadPool | null {
  if (!existsSync(fileURLToPath(WORKER))) return null;
  const idle: Worker[] = [];
  const all: Worker[] = [];
  const busy = new Set<Worker>();
  const take = () => {
    const worker = idle.pop() ?? new Worker(WORKER);
    if (!all.includes(worker)) all.push(worker);
    busy.add(worker);
    return worker;
  };
  return {
    run: (job, target, config, onEvent) =>
      new Promise<TargetResult>((resolve) => {
        const worker = take();
        const done = (result: TargetResult) => {
          worker.off('message', onMessage).off('error', onError).off('exit', onExit);
          busy.delete(worker);
          if (idle.length < size) idle.push(worker);
          resolve(result);
        };
        const onMessage = (message: FromWorker) => (message.type === 'event' ? onEvent(message.event) : done(message.result));
        // A worker that dies takes only its target with it: a failed result, never a hung fleet.
        const failed = (message: string): TargetResult => ({ target: target.name, group: target.group, outcome: 'failed', applied: [], durationMs: 0, error: { code: 'INTERNAL', message, details: {} } });
        const onError = (error: Error) => {
          all.splice(all.indexOf(worker), 1);
          done(failed(`worker thread failed: ${error.message}`));
        };
        const onExit = (code: number) => onError(new Error(`exited with code ${code}`));
        worker.on('message', onMessage).on('error', onError).on('exit', onExit);
        worker.postMessage({ type: 'run', job, target, config } satisfies ToWorker);
      }),
    abort: () => {
      for (const worker of busy) worker.postMessage({ type: 'abort' } satisfies ToWorker);
    },
    close: async () => {
      await Promise.all(all.map((worker) => worker.terminate()));
    },
  };
}
