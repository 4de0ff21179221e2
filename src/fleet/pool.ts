/**
 * Runs `work` over `items` with at most `concurrency` at once, in order.
 * Once `stop()` says so, no new item starts; the running ones finish.
 * Returns the items never started.
 */
export async function runBounded<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>, stop: () => boolean): Promise<T[]> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stop()) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return items.slice(next);
}
