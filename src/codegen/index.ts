import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type { ResolvedConfig } from '../config/load.js';
import { CairnError } from '../core/errors.js';
import { runStep, runStepGroup, StepFailed } from '../core/migrator.js';
import { withScratch, withScratchHint } from '../core/scratch.js';
import { withSession } from '../core/session.js';
import { bookkeepingTables } from '../core/tracking.js';
import { typedRelations, type TypedRelation } from '../drivers/columns.js';
import { scratchFor } from '../drivers/index.js';
import { readMigrations } from '../source/files.js';
import { compareVersions } from '../source/version.js';
import { generateTypes } from './generate.js';

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

/** Migrations replayed per transaction. */
const REPLAY_GROUP = 200;

async function fromReplay(config: ResolvedConfig, exclude: readonly string[]): Promise<{ relations: TypedRelation[]; asOf: string | null }> {
  const migrations = readMigrations(config.migrationsDir, config.root, { encoding: config.encoding, pattern: config.migrationsPattern });
  const { like } = scratchFor(config.database, config.lint.dialect);
  try {
    const relations = await withScratch(like, config.table, async (context) => {
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
        for (const migration of group) {
          try {
            await runStep(context, migration, 'up');
          } catch (error) {
            if (!(error instanceof StepFailed)) throw error;
            const { file, line, message } = error.failure;
            throw new CairnError('MIGRATION_FAILED', `replaying the migrations in a scratch database failed at ${file}:${line}: ${message}`, {
              hint: 'fix the migration (`cairn verify` shows more), or generate from the live database with --from-db',
              details: { failure: error.failure },
            });
          }
        }
        start += group.length;
      }
      return typedRelations(like, context.driver, exclude);
    });
    const last = migrations.at(-1);
    return { relations, asOf: last ? `${last.version}_${last.name}` : null };
  } catch (error) {
    throw withScratchHint(error, like);
  }
}

async function fromDatabase(config: ResolvedConfig, exclude: readonly string[]): Promise<{ relations: TypedRelation[]; asOf: string | null }> {
  return withSession(config, { write: false, onEvent: () => undefined }, async (session) => {
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
