import type { ResolvedConfig } from '../config/load.js';
import type { DatabaseUrl } from '../config/url.js';
import { runStepGroup } from '../core/migrator.js';
import { replayUp, withScratch, withScratchHint } from './scratch.js';
import { scratchFor, type Driver } from '../drivers/index.js';
import { readProjectMigrations } from '../source/files.js';

/** Migrations replayed per transaction. */
const REPLAY_GROUP = 200;

/**
 * Replays every migration in a scratch database of the project's kind, then
 * runs `read` on it before the scratch is dropped: the schema "after the
 * migrations" without touching a real database (codegen, schema diagrams).
 * `asOf` names the newest migration replayed. `fix` says, in the error, what
 * else the caller's command offers when a migration fails to replay.
 */
export async function readAfterReplay<T>(
  config: ResolvedConfig,
  read: (like: DatabaseUrl, driver: Driver) => Promise<T>,
  fix = 'fix the migration (`cairn verify` shows more), or read the live database with --from-db',
): Promise<{ readonly value: T; readonly asOf: string | null }> {
  const migrations = readProjectMigrations(config);
  const { like } = scratchFor(config.database, config.lint.dialect);
  try {
    const value = await withScratch(like, config.table, async (context) => {
      // Consecutive transactional migrations go in as one unit (nobody watches a scratch step by step); a unit
      // the database rejects left nothing behind, and its steps run again one by one to name the failing one.
      for (let start = 0; start < migrations.length; ) {
        let end = start;
        while (end < migrations.length && end - start < REPLAY_GROUP && migrations[end]!.transaction && context.driver.capabilities.transactionalDdl) end++;
        const group = migrations.slice(start, Math.max(end, start + 1));
        if (group.length > 1 && (await runStepGroup(context, group, 'up', () => ({})))) {
          start += group.length;
          continue;
        }
        await replayUp(context, group, (failure) => ({
          message: `replaying the migrations in a scratch database failed at ${failure.file}:${failure.line}: ${failure.message}`,
          hint: fix,
          details: { failure },
        }));
        start += group.length;
      }
      return read(like, context.driver);
    });
    const last = migrations.at(-1);
    return { value, asOf: last ? `${last.version}_${last.name}` : null };
  } catch (error) {
    throw withScratchHint(error, like);
  }
}
