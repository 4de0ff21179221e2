import { CairnError } from '../errors.js';

/**
 * D1's local engine (miniflare) and embedded PostgreSQL (PGlite) are optional
 * installs: a SQLite or PostgreSQL project does not carry workerd's hundreds
 * of megabytes. Loading one that is missing is a user error that says what to
 * install, never a stack trace.
 *
 *   const { Miniflare } = await loadOptional('miniflare', 'a local D1 database', () => import('miniflare'));
 */
export async function loadOptional<T>(name: string, neededFor: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (!isMissing(error, name)) throw error;
    throw new CairnError('CONFIG', `${neededFor} needs the package ${name}, which is not installed`, {
      hint: `install it next to cairn-migrate: npm install -D ${name}`,
      cause: error,
    });
  }
}

function isMissing(error: unknown, name: string): boolean {
  const { code, message } = error as { code?: string; message?: string };
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && typeof message === 'string' && message.includes(name);
}
