import { hostname, userInfo } from 'node:os';
import type { ResolvedConfig } from '../config/load.js';
import { openDriver } from '../drivers/index.js';
import type { Driver } from '../drivers/types.js';
import type { Migration } from '../source/migration.js';
import { readMigrations } from '../source/files.js';
import type { CairnEvent } from './events.js';
import { reconcile, type MigrationStatus } from './planner.js';
import { TrackingTable } from './tracking.js';
import { adoptFromWrangler, WranglerTable } from './wrangler-table.js';

/** One command's view of the world: files, database, history, and (for writers) the lock. */
export interface Session {
  readonly config: ResolvedConfig;
  readonly driver: Driver;
  readonly tracking: TrackingTable;
  readonly migrations: readonly Migration[];
  readonly statuses: readonly MigrationStatus[];
  readonly appliedBy: string;
  readonly onEvent: (event: CairnEvent) => void;
  /** Wrangler's d1_migrations, kept in step: its rows go into each step's atomic unit (StepContext.companions). */
  readonly wrangler: WranglerTable;
  readonly companions: WranglerTable['companions'];
}

export interface SessionOptions {
  /** Take the migration lock and create the history table: for commands that write. */
  readonly write: boolean;
  readonly onEvent: (event: CairnEvent) => void;
  /** Ctrl-C: stop waiting for the lock (core/interrupt.ts). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Opens the database, and for writers takes the lock before reading history,
 * so what we plan from cannot change under us. Always releases and closes.
 */
export async function withSession<T>(config: ResolvedConfig, options: SessionOptions, work: (session: Session) => Promise<T>): Promise<T> {
  const migrations = readMigrations(config.migrationsDir, config.root, { encoding: config.encoding, pattern: config.migrationsPattern });
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
      // What wrangler applied counts as applied; a writer copies it into our history once.
      const wrangler = new WranglerTable(driver, config.wranglerTable, config);
      const records = await adoptFromWrangler(wrangler, { driver, tracking, write: options.write, onEvent: options.onEvent }, await tracking.read(), migrations);
      const statuses = reconcile(migrations, records);
      const companions = wrangler.companions.bind(wrangler);
      return await work({ config, driver, tracking, migrations, statuses, appliedBy, onEvent: options.onEvent, wrangler, companions });
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
