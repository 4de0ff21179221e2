import { assertFilled } from '../source/files.js';
import { compareVersions } from '../source/version.js';
import { CairnError } from '../errors.js';
import { assertHistoryIntact } from './planner.js';
import type { Session } from './session.js';
import { historyRecord } from './tracking.js';

export interface BaselineResult {
  /** Migrations now recorded as applied without having run. */
  readonly marked: readonly { readonly version: string; readonly name: string }[];
}

/** Records every pending migration up to `to` as applied, running nothing: adopts an existing database. */
export async function baseline(session: Session, options: { readonly to: string }): Promise<BaselineResult> {
  assertFilled(session.migrations);
  assertHistoryIntact(session.statuses);
  if (!session.statuses.some((s) => s.migration && compareVersions(s.version, options.to) === 0)) {
    throw new CairnError('TARGET', `there is no migration file with version ${options.to}`, {
      hint: `baseline --to names the newest migration the database already reflects; files: ${session.migrations.map((m) => m.version).join(', ') || 'none'}`,
    });
  }
  const chosen = session.statuses.filter((s) => s.state === 'pending' && compareVersions(s.version, options.to) <= 0).map((s) => s.migration!);
  if (chosen.length > 0) {
    await session.driver.atomic(
      chosen.flatMap((m) => [
        session.tracking.insert(historyRecord(m, session.appliedBy, 'baseline')),
        // Wrangler's table too (when it exists), so wrangler does not run what the database already has.
        ...session.companions({ version: m.version, file: m.file }, 'up'),
      ]),
    );
  }
  return { marked: chosen.map((m) => ({ version: m.version, name: m.name })) };
}

export interface RepairResult {
  readonly dryRun: boolean;
  /** Edited files whose new checksum is now accepted. */
  readonly accepted: readonly { readonly version: string; readonly name: string; readonly from: string; readonly to: string }[];
  /** Records of deleted files, forgotten. */
  readonly forgotten: readonly { readonly version: string; readonly name: string }[];
  /** Failed or interrupted records, cleared so `up` runs them again. */
  readonly cleared: readonly { readonly version: string; readonly name: string; readonly error: string | null }[];
}

/**
 * After a human has looked: accept edited checksums, forget records whose files
 * were deleted, and clear failed records. One atomic write; prints what it did.
 */
export async function repair(session: Session, options: { readonly dryRun?: boolean | undefined }): Promise<RepairResult> {
  const changed = session.statuses.filter((s) => s.state === 'changed');
  const missing = session.statuses.filter((s) => s.state === 'missing');
  const failed = session.statuses.filter((s) => s.state === 'failed');
  const commands = [
    ...changed.map((s) => session.tracking.updateChecksum(s.record!.version, s.migration!.checksum)),
    ...[...missing, ...failed].flatMap((s) => [session.tracking.delete(s.record!.version), ...session.companions({ version: s.record!.version, file: null }, 'down')]),
  ];
  if (!options.dryRun && commands.length > 0) await session.driver.atomic(commands);
  return {
    dryRun: options.dryRun ?? false,
    accepted: changed.map((s) => ({ version: s.version, name: s.name, from: s.record!.checksum, to: s.migration!.checksum })),
    forgotten: missing.map((s) => ({ version: s.version, name: s.name })),
    cleared: failed.map((s) => ({ version: s.version, name: s.name, error: s.record!.error })),
  };
}
