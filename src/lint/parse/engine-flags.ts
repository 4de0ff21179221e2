/**
 * V8 flags for a short-lived process that loads the SQL parsers. Optimizing the SQLite
 * grammar's huge generated functions costs more than it saves, and the process waits for
 * those background compiles before it exits; libpg-query's WASM is compiled once, not
 * tiered up: 2.5 s → 1.3 s for `cairn lint` over 1000 SQLite files (bench/README.md).
 * Set right before a parser first loads, and only when the process asked for them: the
 * CLI does (cli/main.ts); a program importing Cairn, which may live long, does not. A
 * command that loads no parser (`status`, an `up` with nothing pending) never loads
 * node:v8 for them.
 */
let wanted = false;

/** Asks for the flags: the next parser to load sets them first. */
export function preferShortRun(): void {
  wanted = true;
}

/** Called before a parser loads. */
export async function beforeParserLoads(): Promise<void> {
  if (!wanted) return;
  wanted = false;
  const { default: v8 } = await import('node:v8');
  v8.setFlagsFromString('--max-optimized-bytecode-size=10000');
  v8.setFlagsFromString('--liftoff-only');
}
