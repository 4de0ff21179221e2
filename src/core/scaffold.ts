import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { CONFIG_FILES } from '../config/load.js';
import { CairnError } from '../errors.js';
import { ROLLBACK_PLACEHOLDER } from '../source/migration.js';
import { compareVersions } from '../source/version.js';

/** `cairn init` and `cairn new`: files only, no database. */
export interface InitResult {
  readonly created: readonly string[];
  readonly existing: readonly string[];
}

const CONFIG_TEMPLATE = `import { defineConfig } from 'cairn-migrate';

export default defineConfig({
  // sqlite:path/to.db (created on first \`cairn up\`) or postgres://user@host:5432/db.
  // DATABASE_URL, --url and --env override it.
  database: 'sqlite:cairn.db',
  migrations: 'migrations',
  // environments: {
  //   production: { database: process.env.PRODUCTION_DATABASE_URL },
  // },
});
`;

const IGNORED = ['cairn.db', 'cairn.db-journal', '.cairn/'];

export function init(root: string): InitResult {
  const created: string[] = [];
  const existing: string[] = [];
  const configPath = join(root, 'cairn.config.ts');
  if (CONFIG_FILES.some((f) => existsSync(join(root, f)))) {
    existing.push('cairn.config.*');
  } else {
    writeFileSync(configPath, CONFIG_TEMPLATE);
    created.push('cairn.config.ts');
  }
  const dir = join(root, 'migrations');
  if (existsSync(dir)) existing.push('migrations/');
  else {
    mkdirSync(dir, { recursive: true });
    created.push('migrations/');
  }
  const gitignore = join(root, '.gitignore');
  const lines = existsSync(gitignore) ? readFileSync(gitignore, 'utf8').split(/\r?\n/) : [];
  const missing = IGNORED.filter((entry) => !lines.includes(entry));
  if (missing.length > 0) {
    const prefix = lines.length > 0 && lines.at(-1) !== '' ? '\n' : '';
    appendFileSync(gitignore, `${prefix}# cairn: local database and backups\n${missing.join('\n')}\n`);
    created.push(`.gitignore entries (${missing.join(', ')})`);
  }
  return { created, existing };
}

export type MigrationType = 'additive' | 'destructive' | 'transformative';

export interface NewMigrationResult {
  readonly version: string;
  readonly file: string;
  readonly path: string;
}

/** The file line on which a new migration's up section starts (after the header and the up marker). */
export const UP_FIRST_LINE = 6;

/** What goes under the markers (`cairn new --from`): the up SQL, the down (or a comment why there is none), the Rollback header. */
export interface MigrationBody {
  readonly up: string;
  readonly down: string;
  readonly rollback: string;
  /** More header lines after Rollback, e.g. `-- cairn:no-transaction`. */
  readonly header?: readonly string[];
}

/** Writes the next-numbered migration with its header and markers, and `body` under them if given. */
export function newMigration(dir: string, root: string, rawName: string, type: MigrationType = 'additive', now = new Date(), body?: MigrationBody, pattern: string | null = null): NewMigrationResult {
  return writeNext(dir, root, rawName, now, (stem) => placeFor(pattern, stem), (title) => migrationText(title, type, body));
}

/** `cairn new --ts`: the next-numbered TypeScript migration, exporting up and down. */
export function newScriptMigration(dir: string, root: string, rawName: string, now = new Date()): NewMigrationResult {
  return writeNext(dir, root, rawName, now, (stem) => `${stem}.ts`, scriptText);
}

/** Writes the next-numbered file: `place` turns `<version>_<name>` into its path in `dir`, `text` the title into its text. */
function writeNext(dir: string, root: string, rawName: string, now: Date, place: (stem: string) => string, text: (title: string) => string): NewMigrationResult {
  const name = rawName.trim().toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  if (!name) throw new CairnError('USAGE', `"${rawName}" has no letters or digits to name a migration`, { hint: 'name it verb_object, e.g. `cairn new add_phone_to_users`' });
  if (!existsSync(dir)) throw new CairnError('SOURCE', `migrations directory ${relative(root, dir)} does not exist`, { hint: 'run `cairn init` first' });
  const version = nextVersion(readdirSync(dir).map((f) => /^(\d{8,}_\d+|\d+)_/.exec(f)?.[1]).filter((v): v is string => v !== undefined), now);
  const fileName = place(`${version}_${name}`);
  const path = join(dir, fileName);
  const title = name.replace(/_/g, ' ');
  if (fileName.includes('/')) mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text(title), { flag: 'wx' });
  return { version, file: relative(root, path), path };
}

/**
 * Where a new migration goes so that a wrangler `migrations_pattern` matches it: `0002_x/migration.sql`
 * for `*\/migration.sql`, a flat `0002_x.sql` for `*.sql` or `**\/*.sql`.
 */
function placeFor(pattern: string | null, stem: string): string {
  if (pattern === null || /^(\*\*\/)?\*\.sql$/i.test(pattern)) return `${stem}.sql`;
  const nested = /^\*\/([^*?[\]{}/]+\.sql)$/i.exec(pattern);
  if (nested) return `${stem}/${nested[1]!}`;
  throw new CairnError('USAGE', `cairn new cannot tell where a file matching migrations_pattern "${pattern}" goes`, {
    hint: `create ${stem}… by hand where the pattern matches it, or use a pattern of the form "<dir>/*/migration.sql" or "<dir>/*.sql"`,
  });
}

/** A TypeScript migration to fill in. */
export function scriptText(title: string): string {
  return `// Migration: ${title}
// Runs as one transaction (SQLite, PostgreSQL) unless it calls ctx.batch: then each batch
// commits with a checkpoint, a killed run resumes after the last one, and the code outside
// ctx.batch runs again on resume (keep it idempotent). On D1 every write goes in a batch.
import type { MigrationContext } from 'cairn-migrate';

export async function up(ctx: MigrationContext): Promise<void> {
  // Values in ctx.sql are bound parameters:
  // await ctx.sql\`UPDATE users SET plan = \${'free'} WHERE plan IS NULL\`;
  // Keyset batches on the table's primary key, checkpointed:
  // await ctx.batch('users', { size: 1000, where: 'slug IS NULL' }, async (rows) => {
  //   for (const row of rows) await ctx.sql\`UPDATE users SET slug = \${String(row.name).toLowerCase()} WHERE id = \${row.id}\`;
  // });
  throw new Error('${title.replace(/'/g, "\\'")}: write up() first');
}

export async function down(ctx: MigrationContext): Promise<void> {
  ctx.log('nothing to undo');
}
`;
}

/** A migration file's text: header, markers, and `body` under them. */
export function migrationText(title: string, type: MigrationType, body?: MigrationBody): string {
  const header = (body?.header ?? []).map((line) => `${line}\n`).join('');
  return `-- Migration: ${title}\n-- Type: ${type}\n-- Rollback: ${body?.rollback ?? ROLLBACK_PLACEHOLDER}\n${header}\n-- migrate:up\n${body?.up ?? ''}\n\n-- migrate:down\n${body?.down ?? ''}\n`;
}

/** One more than the newest, in the same style: `0007` after `0006`, `20261122_002` after `20261122_001`. */
export function nextVersion(existing: readonly string[], now: Date): string {
  const newest = [...existing].sort(compareVersions).at(-1);
  if (!newest) return '0001';
  const [head, sequence] = newest.split('_') as [string, string | undefined];
  if (sequence !== undefined) {
    const today = now.toISOString().slice(0, 10).replace(/-/g, '');
    const next = today > head ? 1 : Number(sequence) + 1;
    return `${today > head ? today : head}_${String(next).padStart(sequence.length, '0')}`;
  }
  return (BigInt(head) + 1n).toString().padStart(Math.max(4, head.length), '0');
}
