import type { DatabaseUrl } from '../config/url.js';
import type { Driver } from './types.js';

export interface OpenOptions {
  /** False for read-only commands: do not create a database that does not exist yet. */
  readonly create: boolean;
}

/** The one place that maps a URL scheme to a driver. Drivers load on demand: a SQLite run never loads pg. */
export async function openDriver(url: DatabaseUrl, options: OpenOptions): Promise<Driver> {
  switch (url.scheme) {
    case 'sqlite':
      return (await import('./sqlite/driver.js')).openSqlite(url.path, url.display, options);
    case 'postgres':
      return (await import('./postgres/driver.js')).openPostgres(url.url, url.display, url.secrets);
  }
}

export type { Capabilities, Driver, HeldLock, SqlCommand } from './types.js';
