import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './databases.js';

/**
 * `cairn` as real background processes (child_process.spawn) for the tests
 * that run several at once or kill them: what they print, when they exit.
 */

export interface Exit {
  readonly pid: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Milliseconds from spawn to exit. */
  readonly ms: number;
}

export interface Running {
  readonly pid: number;
  /** False once the process has exited. */
  isRunning(): boolean;
  /** SIGKILL: the process gets no chance to clean up. */
  kill(): void;
  readonly exited: Promise<Exit>;
  /** Resolves once stdout matches (true) or the process has exited (false). */
  printed(pattern: RegExp): Promise<boolean>;
  /** Resolves once stdout matches, or rejects if the process exits first or `timeoutMs` passes. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/** Processes started here that have not exited yet. */
const live = new Set<ChildProcess>();

/** Starts the built CLI in `cwd`, with DATABASE_URL and CAIRN_ENV cleared (and `env` added). */
export function startCli(args: readonly string[], cwd: string, env: Readonly<Record<string, string>> = {}): Running {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, DATABASE_URL: '', CAIRN_ENV: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let stdout = '';
  let stderr = '';
  let closed = false;
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of listeners) listener();
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk));
  const exited = new Promise<Exit>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      live.delete(child);
      closed = true;
      notify();
      resolve({ pid: child.pid!, code, signal, stdout, stderr, ms: Math.round(performance.now() - started) });
    });
  });
  const printed = (pattern: RegExp) =>
    new Promise<boolean>((resolve) => {
      const check = () => {
        if (pattern.test(stdout) || closed) {
          listeners.delete(check);
          resolve(pattern.test(stdout));
        }
      };
      listeners.add(check);
      check();
    });
  return {
    pid: child.pid!,
    isRunning: () => !closed,
    kill: () => void child.kill('SIGKILL'),
    exited,
    printed,
    waitFor: (pattern, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern} on stdout; got:\n${stdout}\n${stderr}`)), timeoutMs);
        void printed(pattern).then((found) => {
          clearTimeout(timer);
          if (found) resolve();
          else reject(new Error(`process exited before printing ${pattern}; stdout:\n${stdout}\nstderr:\n${stderr}`));
        });
      }),
  };
}

/** Kills (SIGKILL) every process startCli started that is still running, and waits until they are gone: for afterEach, so a failing test leaves none behind. */
export async function killLeftovers(): Promise<void> {
  const leftovers = [...live].map((child) => new Promise((resolve) => child.once('close', resolve)));
  for (const child of live) child.kill('SIGKILL');
  await Promise.all(leftovers);
}
