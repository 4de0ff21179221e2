import { hostname, userInfo } from 'node:os';
import type { ResolvedConfig } from '../config/load.js';
import { openDriver } from '../drivers/index.js';
import type { Driver, SqlCommand } from '../drivers/types.js';
import type { Migration } from '../source/migration.js';
import { readProjectMigrations } from '../source/files.js';
import type { CairnEvent } from './events.js';
import { reconcile, type MigrationStatus } from './planner.js';
import type { Direction } from './failure.js';
import { TrackingTable, type AppliedRecord } from './tracking.js';

/** One command's view of the world: files, database, history, and (for writers) the lock. */
export interface Session {
  readonly config: ResolvedConfig;
  readonly driver: Driver;
  readonly tracking: TrackingTable;
  readonly migrations: readonly Migration[];
  readonly statuses: readonly MigrationStatus[];
  readonly appliedBy: string;
  readonly onEvent: (event: CairnEvent) => void;
  /** The companion history table steps keep in step (status shows it); null when there is none. */
  readonly companionTable: string | null;
  /** Its rows for a step: they go into the step's atomic unit (StepContext.companions). */
  readonly companions: Companion['steps'];
}

/** A migration step as a companion history names it: its version, and its up file (null when the file is gone). */
export interface StepIdentity {
  readonly version: string;
  readonly file: string | null;
}

/**
 * A second history table kept in step with Cairn's (wrangler's `d1_migrations`, wrangler/table.ts):
 * read when the session opens, where what it says was applied counts as applied, and written in
 * each step's atomic unit, so the two never disagree.
 */
export interface Companion {
  /** Its name while steps write to it; null when the database has none. */
  readonly keptInStep: string | null;
  /** The commands a step adds to its atomic unit. */
  steps(step: StepIdentity, direction: Direction): readonly SqlCommand[];
}

export interface CompanionContext {
  readonly config: ResolvedConfig;
  readonly driver: Driver;
  readonly tracking: TrackingTable;
  readonly write: boolean;
  readonly onEvent: (event: CairnEvent) => void;
}

/** Opens the companion and returns it with the history records it adds to Cairn's own. */
export type CompanionLoader = (
  context: CompanionContext,
  history: readonly AppliedRecord[],
  migrations: readonly Migration[],
) => Promise<{ readonly companion: Companion; readonly records: readonly AppliedRecord[] }>;

export interface SessionOptions {
  /** Take the migration lock and create the history table: for commands that write. */
  readonly write: boolean;
  readonly onEvent: (event: CairnEvent) => void;
  /** Ctrl-C: stop waiting for the lock (core/interrupt.ts). */
  readonly signal?: AbortSignal | undefined;
  /** The companion history to keep in step (wrangler's: `wranglerCompanion`), or null for none. */
  readonly companion: CompanionLoader | null;
  /** `config`'s migration files, when the caller has read them already (a command reads them once); else read here. */
  readonly migrations?: readonly Migration[] | undefined;
}

/**
 * Opens the database, and for writers takes the lock before reading history,
 * so what we plan from cannot change under us. Always releases and closes.
 */
export async function withSession<T>(config: ResolvedConfig, options: SessionOptions, work: (session: Session) => Promise<T>): Promise<T> {
  const migrations = options.migrations ?? readProjectMigrations(config);
  const driver = await openDriver(config.database, { create: options.write });
  const appliedBy = `${userInfo().username}@${hostname()}`;
  try {
    const tracking = new TrackingTable(driver, config.table);
    const lock = options.write
      ? await sayWhenWaiting(driver, config, options.onEvent, () =>
          driver.lock(config.table, {
            timeoutMs: config.lockTimeoutMs,
            owner: appliedBy,
            onNotice: (message) => options.onEvent({ type: 'notice', message }),
            signal: options.signal,
          }),
        )
      : null;
    try {
      if (options.write) await tracking.ensure();
      const history = await tracking.read();
      const opened = options.companion
        ? await options.companion({ config, driver, tracking, write: options.write, onEvent: options.onEvent }, history, migrations)
        : { companion: null, records: history };
      const statuses = reconcile(migrations, opened.records);
      const companion = opened.companion;
      const companions: Companion['steps'] = companion ? (step, direction) => companion.steps(step, direction) : () => [];
      return await work({ config, driver, tracking, migrations, statuses, appliedBy, onEvent: options.onEvent, companionTable: companion?.keptInStep ?? null, companions });
    } finally {
      await lock?.release().catch(() => undefined);
    }
  } finally {
    await driver.close();
  }
}

/** After about a second without the lock, say once who we are waiting for (`lock-wait`), so a long wait is never silent. */
async function sayWhenWaiting<T>(driver: Driver, config: ResolvedConfig, onEvent: (event: CairnEvent) => void, take: () => Promise<T>): Promise<T> {
  let waiting = true;
  const timer = setTimeout(() => {
    const holder = driver.lockHolder ? driver.lockHolder(config.table).catch(() => null) : Promise.resolve(null);
    void holder.then((who) => {
      if (waiting) onEvent({ type: 'lock-wait', holder: who, timeoutMs: config.lockTimeoutMs });
    });
  }, 1000);
  try {
    return await take();
  } finally {
    waiting = false;
    clearTimeout(timer);
  }
}
