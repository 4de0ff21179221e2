import { CairnError } from '../errors.js';
import type { ConfirmOptions } from '../environments/protection.js';
import type { Session } from '../core/session.js';
import { canonicalVersion } from '../source/version.js';

/**
 * `cairn restore <version> --bookmark`: remote D1 keeps its own history (Time
 * Travel), and `cairn up` records the bookmark of the moment before each run
 * with every migration of it. Restoring it puts the whole database back to that
 * moment, instantly, whatever the migration did; everything written since is
 * lost, so it always asks (or takes --yes), and D1 answers with the bookmark
 * that undoes it.
 */
export interface BookmarkRestoreResult {
  readonly version: string;
  readonly name: string;
  /** The bookmark restored to: the moment before the run that applied `version`. */
  readonly bookmark: string;
  readonly appliedAt: string;
  /** The database's state just before the restore: restoring it undoes this one. */
  readonly undo: string;
  /** The migrations the restore took back (recorded as applied at or after that run). */
  readonly lost: readonly string[];
}

export async function restoreBookmark(session: Session, version: string, options: ConfirmOptions): Promise<BookmarkRestoreResult> {
  const timeTravel = session.driver.timeTravel;
  if (!timeTravel) {
    throw new CairnError('USAGE', `${session.driver.target} has no Time Travel: --bookmark restores remote D1 databases only`, { hint: `\`cairn restore ${version}\` (without --bookmark) puts back the rows saved before a destructive migration` });
  }
  const status = session.statuses.find((s) => s.record !== null && canonicalVersion(s.version) === canonicalVersion(version));
  const bookmark = status?.record?.details.bookmark;
  if (!status?.record || typeof bookmark !== 'string') {
    throw new CairnError('BACKUP', `${version} has no Time Travel bookmark in ${session.config.table}`, {
      hint: status?.record
        ? `it was applied without one (before Cairn recorded bookmarks, or not through the API); find a moment with \`npx wrangler d1 time-travel info <database> --timestamp=${status.record.appliedAt.toISOString()}\` and restore it with \`npx wrangler d1 time-travel restore <database> --bookmark=<bookmark>\``
        : `no applied migration has version ${version}: \`cairn status\` lists them`,
    });
  }
  const record = status.record;
  const lost = session.statuses.filter((s) => s.record?.details.bookmark === bookmark || (s.record !== null && s.record.appliedAt >= record.appliedAt)).map((s) => `${s.version}_${s.name}`);
  if (!options.yes) {
    const question = `Restore ${session.driver.target} to D1 Time Travel bookmark ${bookmark}, the moment before ${status.version}_${status.name} was applied (${record.appliedAt.toISOString()})? Everything written to it since is lost: the migrations ${lost.join(', ')} and every row anyone wrote since. Type "restore" to confirm:`;
    if (!options.confirm) {
      throw new CairnError('CONFIRMATION_REQUIRED', `restoring ${session.driver.target} to a bookmark loses everything written since ${record.appliedAt.toISOString()}: pass --yes to go ahead without a prompt`, {
        hint: 'nothing was changed; on a terminal Cairn asks first, in scripts `--yes` says it was decided',
        details: { bookmark, lost },
      });
    }
    if (!(await options.confirm(question))) throw new CairnError('CONFIRMATION_REQUIRED', 'not confirmed; nothing was restored');
  }
  const restored = await timeTravel.restore(bookmark);
  return { version: status.version, name: status.name, bookmark, appliedAt: record.appliedAt.toISOString(), undo: restored.previous, lost };
}

/** One run's Time Travel bookmark and the migrations it applied: what `cairn backups` lists next to row backups. */
export interface BookmarkInfo {
  readonly bookmark: string;
  /** When the first migration of that run was applied. */
  readonly appliedAt: string;
  readonly migrations: readonly string[];
}

/** The bookmarks recorded in the history, oldest first. */
export function listBookmarks(session: Pick<Session, 'statuses'>): BookmarkInfo[] {
  const runs = new Map<string, { appliedAt: Date; migrations: string[] }>();
  for (const status of session.statuses) {
    const bookmark = status.record?.details.bookmark;
    if (typeof bookmark !== 'string' || !status.record) continue;
    const run = runs.get(bookmark) ?? { appliedAt: status.record.appliedAt, migrations: [] };
    run.migrations.push(`${status.version}_${status.name}`);
    if (status.record.appliedAt < run.appliedAt) run.appliedAt = status.record.appliedAt;
    runs.set(bookmark, run);
  }
  return [...runs.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([bookmark, run]) => ({ bookmark, appliedAt: run.appliedAt.toISOString(), migrations: run.migrations }));
}
