import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What the last `fleet up` said about each target it ran, in
 * .cairn/fleet-last-run.json. Only for `fleet status` to name why a target is
 * behind (a migration the database rejected rolls back and leaves no trace in
 * its history); what a target needs always comes from its own history.
 */
export interface LastRunEntry {
  readonly outcome: 'applied' | 'up-to-date' | 'failed';
  readonly at: string;
  readonly error: { readonly code: string; readonly message: string } | null;
}

export type LastRun = Readonly<Record<string, LastRunEntry>>;

const FILE = ['.cairn', 'fleet-last-run.json'];

export function readLastRun(root: string): LastRun {
  const path = join(root, ...FILE);
  if (!existsSync(path)) return {};
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { targets?: LastRun };
    return parsed.targets ?? {};
  } catch {
    return {}; // a torn or hand-edited file only loses the reasons, never what a target needs
  }
}

/** Merges this run's targets into the file (others kept as they were); written whole and renamed, so a reader never sees half. */
export function recordLastRun(root: string, entries: Readonly<Record<string, LastRunEntry>>): void {
  if (Object.keys(entries).length === 0) return;
  const dir = join(root, FILE[0]!);
  mkdirSync(dir, { recursive: true });
  const path = join(root, ...FILE);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ targets: { ...readLastRun(root), ...entries } }, null, 1)}\n`);
  renameSync(temporary, path);
}
