import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type { ResolvedConfig } from '../config/load.js';
import { CairnError } from '../errors.js';
import { withSession } from '../core/session.js';
import { bookkeepingTables } from '../core/tracking.js';
import { typedRelations, type TypedRelation } from '../drivers/columns.js';
import { readAfterReplay } from '../replay/latest.js';
import { compareVersions } from '../source/version.js';
import { generateTypes } from './generate.js';
import { wranglerCompanion } from '../wrangler/table.js';

export interface CodegenOptions {
  /** Absolute path to write (default: `codegen.out` of the config). */
  readonly out?: string | undefined;
  /** Write nothing; `stale` says whether the file differs from what would be written. */
  readonly check?: boolean | undefined;
  /** Read the configured database as it is, instead of replaying every migration in a scratch database. */
  readonly fromDb?: boolean | undefined;
}

export interface CodegenResult {
  /** Project-relative path of the file. */
  readonly file: string;
  readonly text: string;
  /** The file differed from `text` (or did not exist) before this run. */
  readonly stale: boolean;
  /** False with `check`, and when the file already held `text`. */
  readonly written: boolean;
  /** `0008_create_published_posts_view`: the newest migration the schema includes. */
  readonly asOf: string | null;
  readonly tables: number;
  readonly views: number;
  /** Types come from kysely (a dependency of the project), or are defined in the file. */
  readonly kysely: boolean;
}

/**
 * `cairn codegen`: TypeScript types of the schema after the migrations, from a
 * scratch replay of every migration (no live database needed), or with
 * `fromDb` from the configured database (its applied migrations).
 */
export async function codegen(config: ResolvedConfig, options: CodegenOptions = {}): Promise<CodegenResult> {
  const exclude = bookkeepingTables(config);
  const { relations, asOf } = options.fromDb ? await fromDatabase(config, exclude) : await fromReplay(config, exclude);
  const kysely = dependsOnKysely(config.root);
  const text = generateTypes(relations, { kysely, asOf });
  const out = options.out ?? config.codegen.out;
  const stale = !existsSync(out) || readFileSync(out, 'utf8') !== text;
  if (stale && !options.check) {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, text);
  }
  const views = relations.filter((r) => r.kind === 'view').length;
  return { file: relative(config.root, out) || out, text, stale, written: stale && !options.check, asOf, tables: relations.length - views, views, kysely };
}

async function fromReplay(config: ResolvedConfig, exclude: readonly string[]): Promise<{ relations: TypedRelation[]; asOf: string | null }> {
  const { value, asOf } = await readAfterReplay(config, (like, driver) => typedRelations(like, driver, exclude), 'fix the migration (`cairn verify` shows more), or generate from the live database with --from-db');
  return { relations: value, asOf };
}

async function fromDatabase(config: ResolvedConfig, exclude: readonly string[]): Promise<{ relations: TypedRelation[]; asOf: string | null }> {
  return withSession(config, { write: false, onEvent: () => undefined, companion: wranglerCompanion }, async (session) => {
    const applied = session.statuses.filter((s) => s.state === 'applied').sort((a, b) => compareVersions(a.version, b.version)).at(-1);
    return { relations: await typedRelations(config.database, session.driver, exclude), asOf: applied ? `${applied.version}_${applied.name}` : null };
  });
}

/** Whether the project's package.json lists kysely (in any kind of dependency). */
function dependsOnKysely(root: string): boolean {
  try {
    const manifest = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as Record<string, Record<string, string> | undefined>;
    return ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'].some((kind) => manifest[kind]?.kysely !== undefined);
  } catch {
    return false;
  }
}
