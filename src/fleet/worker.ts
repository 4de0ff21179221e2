import { parentPort } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './threads.js';
import { upOne } from './up.js';

/** A fleet worker thread (threads.ts): runs one target's `up` at a time and reports back. */
let controller = new AbortController();
parentPort!.on('message', (message: ToWorker) => {
  if (message.type === 'abort') return controller.abort();
  controller = new AbortController();
  void upOne(message.target, message.config, { ...message.settings, signal: controller.signal }, (event) => parentPort!.postMessage({ type: 'event', event } satisfies FromWorker)).then((result) =>
    parentPort!.postMessage({ type: 'result', result } satisfies FromWorker),
  );
});
