import { parentPort } from 'node:worker_threads';
import { runJob, type LintCache, type ReplayCache } from './jobs.js';
import type { FromWorker, ToWorker } from './threads.js';

/** A fleet worker thread (threads.ts): runs one target's job at a time and reports back. Its replays (fleet verify) and lint reports (fleet up) live as long as it does. */
const replays: ReplayCache = new Map();
const lints: LintCache = new Map();
let controller = new AbortController();
parentPort!.on('message', (message: ToWorker) => {
  if (message.type === 'abort') return controller.abort();
  controller = new AbortController();
  void runJob(message.job, message.target, message.config, { signal: controller.signal, replays, lints }, (event) => parentPort!.postMessage({ type: 'event', event } satisfies FromWorker)).then((result) =>
    parentPort!.postMessage({ type: 'result', result } satisfies FromWorker),
  );
});
