// What every bench script needs: where things are, its flags, progress on
// stderr (so --json on stdout stays one document), and a median.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(root, 'dist', 'cli', 'main.js');
export const DEFAULT_PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export const log = (text) => process.stderr.write(`${text}\n`);

export function fatal(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

/** `value('--n', '1000')`: the word after a flag, or the fallback. Prints `usage` and exits on --help. */
export function flags(args, usage) {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(`usage: ${usage}`);
    process.exit(0);
  }
  return { value: (flag, fallback) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : fallback), has: (flag) => args.includes(flag) };
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
