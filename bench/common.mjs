// What every bench script needs: where things are, its flags, progress on
// stderr (so --json on stdout stays one document), and a median.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(root, 'dist', 'bin', 'cairn.js');
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

const PEERS = join(root, 'bench', '.peers');
const DBMATE_VERSION = '2.36.0';

/** Installs dbmate into bench/.peers (git-ignored) if needed; returns the path of its native binary. */
export async function dbmateBinary() {
  if (!existsSync(join(PEERS, 'node_modules', '.bin', 'dbmate'))) {
    log(`installing dbmate@${DBMATE_VERSION} into bench/.peers (once) ...`);
    const result = spawnSync('npm', ['install', '--prefix', PEERS, '--no-audit', '--no-fund', `dbmate@${DBMATE_VERSION}`], { cwd: root, stdio: ['ignore', 2, 2] });
    if (result.status !== 0) fatal('could not install dbmate (npm install --prefix bench/.peers dbmate)');
  }
  const { resolveBinary } = await import(pathToFileURL(join(PEERS, 'node_modules', 'dbmate', 'dist', 'resolveBinary.js')).href);
  return resolveBinary();
}
