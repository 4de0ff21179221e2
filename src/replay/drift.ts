import type { DatabaseUrl } from '../config/url.js';
import { diffSnapshots, type Snapshot, type SnapshotDifference } from '../drivers/snapshot.js';
import type { Migration } from '../source/migration.js';
import { assertHistoryIntact } from '../core/planner.js';
import { replayUp, withScratch } from './scratch.js';
import type { Session } from '../core/session.js';
import { bookkeepingTables } from '../core/tracking.js';

/**
 * Drift: the live schema next to the schema its applied migrations should
 * have produced (replayed in a scratch database). A hand-made index, a column
 * dropped by hand, a changed default: each is one difference.
 */
export interface DriftReport {
  readonly drifted: boolean;
  readonly database: string;
  /** How many applied migrations were replayed to get the expected schema. */
  readonly replayed: number;
  /** `before` is what the migrations give, `after` what the database has. */
  readonly differences: readonly SnapshotDifference[];
}

export async function drift(session: Session, options: { readonly scratchUrl?: DatabaseUrl | undefined }): Promise<DriftReport> {
  assertHistoryIntact(session.statuses);
  const applied = session.statuses.filter((s) => s.state === 'applied').map((s) => s.migration!);
  const exclude = bookkeepingTables(session.config);
  const live = await session.driver.snapshot({ exclude });
  const expected = await replayed(applied, session.config.table, options.scratchUrl ?? session.config.database, exclude);
  const differences = diffSnapshots(expected, live);
  return { drifted: differences.length > 0, database: session.driver.target, replayed: applied.length, differences };
}

/** The schema `migrations` produce on an empty database of the same kind. */
export function replayed(migrations: readonly Migration[], table: string, like: DatabaseUrl, exclude: readonly string[]): Promise<Snapshot> {
  return withScratch(like, table, async (context) => {
    await replayUp(context, migrations, ({ file, line, message }) => ({
      message: `replaying the applied migrations in a scratch database failed at ${file}:${line}: ${message}`,
      hint: 'an applied migration no longer applies on an empty database (it may depend on objects made by hand); `cairn verify` shows more',
    }));
    return context.driver.snapshot({ exclude });
  });
}
