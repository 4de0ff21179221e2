import type { DatabaseUrl } from '../config/url.js';
import { openPostgres } from './postgres/driver.js';
import { openSqlite } from './sqlite/driver.js';
import type { Driver } from './types.js';

export interface OpenOptions {
  /** False for read-only commands: do not create a database that does not exist yet. */
  readonly create: boolean;
}

/** The one place that maps a URL scheme to a driver. */
export async function openDriver(url: DatabaseUrl, options: OpenOptions): Promise<Driver> {
  switch (url.scheme) {
    case 'sqlite':
      return openSqlite(url.path, url.display, options);
    case 'postgres':
      return openPostgres(url.url, url.display, url.secrets);
  }
}

export type { Capabilities, Driver, HeldLock, SqlCommand } from './types.js';
