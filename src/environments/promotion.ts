import type { ResolvedConfig } from '../config/load.js';
import { openDriver } from '../drivers/index.js';
import { readProjectMigrations } from '../source/files.js';
import type { Migration } from '../source/migration.js';
import { compareVersions } from '../source/version.js';
import { CairnError, isCairnError } from '../errors.js';
import type { CairnEvent } from '../core/events.js';
import { TrackingTable, type AppliedRecord } from '../core/tracking.js';
import { adoptWranglerRows, WranglerTable } from '../wrangler/table.js';

/**
 * The promotion gate: an environment that `follows` another (production
 * follows qa) only takes migrations that already ran cleanly there, with the
 * same checksum. The file that reached production is then the file qa tested.
 */
export interface PromotionProblem {
  readonly version: string;
  readonly name: string;
  readonly file: string;
  /** `not-applied`: no record; `failed`: recorded but not applied; `checksum`: applied from a different file. */
  readonly reason: 'not-applied' | 'failed' | 'checksum';
}

/** Where the followed environment lives, as the messages name it. */
export interface FollowedEnvironment {
  readonly name: string;
  /** Redacted database URL. */
  readonly database: string;
}

/** Pure: which of `toApply` have not been applied with the same checksum in the followed history. */
export function promotionProblems(toApply: readonly Migration[], followedHistory: readonly AppliedRecord[]): PromotionProblem[] {
  return toApply.flatMap((migration): PromotionProblem[] => {
    const record = followedHistory.find((r) => compareVersions(r.version, migration.version) === 0);
    const problem = (reason: PromotionProblem['reason']) => [{ version: migration.version, name: migration.name, file: migration.file, reason }];
    if (!record) return problem('not-applied');
    if (record.state !== 'applied') return problem('failed');
    if (record.checksum !== migration.checksum) return problem('checksum');
    return [];
  });
}

/** One line per problem, e.g. `0005_add_x.sql: not applied on qa (sqlite:qa.db)`. */
export function describePromotionProblems(problems: readonly PromotionProblem[], followed: FollowedEnvironment): string[] {
  return problems.map((p) => {
    const file = p.file.split('/').at(-1) ?? p.file;
    switch (p.reason) {
      case 'not-applied':
        return `${file}: not applied on ${followed.name} (${followed.database})`;
      case 'failed':
        return `${file}: failed on ${followed.name} (${followed.database}); it is recorded there but not applied`;
      case 'checksum':
        return `${file}: applied on ${followed.name} with a different checksum (the file changed after it ran there)`;
    }
  });
}

/** `ready`: the pending migrations before the first problem, which did run there (`up --to-followed` applies them). */
export function promotionRefusal(environment: string, problems: readonly PromotionProblem[], followed: FollowedEnvironment, ready: readonly Migration[] = []): CairnError {
  const count = problems.length === 1 ? '1 migration has' : `${problems.length} migrations have`;
  const changed = problems.some((p) => p.reason === 'checksum');
  const prefix = ready.length === 0 ? '' : `; or apply the ${ready.length === 1 ? 'one' : ready.length} before it that ran there (up to ${ready.at(-1)!.version}) with \`cairn up --env ${environment} --to-followed\``;
  return new CairnError(
    'PROMOTION',
    `refusing to apply to ${environment}: ${count} not been applied on ${followed.name} first:\n${describePromotionProblems(problems, followed).map((line) => `  ${line}`).join('\n')}`,
    {
      hint: `${environment} follows ${followed.name}: apply to ${followed.name} first (\`cairn up --env ${followed.name}\`)${prefix}${changed ? `; a file edited after it ran on ${followed.name} belongs in a new migration` : ''}`,
      details: { environment, follows: followed.name, followedDatabase: followed.database, problems },
    },
  );
}

/**
 * The gate as `up` runs it, under the target's lock and before the first step.
 * A real run throws PROMOTION; a dry run only reports, as a notice.
 */
export async function checkPromotion(
  config: ResolvedConfig,
  resolveEnvironment: (name: string) => Promise<ResolvedConfig>,
  migrations: readonly Migration[],
  options: { readonly dryRun: boolean; readonly onNotice: (message: string) => void },
): Promise<void> {
  const follows = config.environmentSettings?.follows;
  const environment = config.environment;
  if (!follows || !environment) return;
  const followed = await resolveEnvironment(follows);
  if (followed.database.display === config.database.display && followed.table === config.table) {
    throw new CairnError('CONFIG', `${environment} follows ${follows}, but both resolve to the same database (${config.database.display})`, {
      hint: `give ${follows} its own \`database\` in ${config.configFile ?? 'cairn.config.ts'}: the gate compares ${environment} with what ran there`,
    });
  }
  const problems = promotionProblems(migrations, await readFollowedHistory(followed, environment));
  if (problems.length === 0) return;
  const ready = migrations.slice(0, migrations.findIndex((m) => m.version === problems[0]!.version));
  const refusal = promotionRefusal(environment, problems, { name: follows, database: followed.database.display }, ready);
  if (!options.dryRun) throw refusal;
  options.onNotice(`a real run would refuse: ${refusal.message}
  hint: ${refusal.hint}`);
}

/** Reads the followed environment's history without creating or locking anything. */
export async function readFollowedHistory(followed: ResolvedConfig, environment: string): Promise<AppliedRecord[]> {
  const name = followed.environment ?? 'the followed environment';
  let driver;
  try {
    driver = await openDriver(followed.database, { create: false });
  } catch (error) {
    throw unreachable(name, followed, environment, error);
  }
  try {
    const history = await new TrackingTable(driver, followed.table).read();
    // What wrangler applied there counts too (it records no checksum: the file as it is now stands in).
    const wranglerRows = await new WranglerTable(driver, followed.wranglerTable).load(false);
    return [...history, ...adoptWranglerRows(wranglerRows, history, readProjectMigrations(followed)).records];
  } catch (error) {
    throw unreachable(name, followed, environment, error);
  } finally {
    await driver.close().catch(() => undefined);
  }
}

function unreachable(name: string, followed: ResolvedConfig, environment: string, error: unknown): CairnError {
  const reason = isCairnError(error) ? error.message : (error as Error).message;
  return new CairnError('CONNECTION', `cannot read the history of ${name} (${followed.database.display}), which ${environment} follows: ${reason}`, {
    hint: `${environment} only takes migrations that ran on ${name}: make ${name}'s database reachable from here, or check its URL in ${followed.configFile ?? 'the config'}`,
    details: { follows: name, database: followed.database.display },
    cause: error,
  });
}

/**
 * `up --to-followed`: instead of refusing every pending migration while one is
 * missing on the followed environment, apply those up to the first that has not
 * run cleanly there (files in version order; `to`, when also given, caps it).
 * Returns the `--to` to use; `to` unchanged when every file ran there, or when
 * the very first has not (then the gate refuses as usual and says why).
 */
export async function followedTarget(
  config: ResolvedConfig,
  resolveEnvironment: (name: string) => Promise<ResolvedConfig>,
  to: string | undefined,
  onEvent: (event: CairnEvent) => void,
): Promise<string | undefined> {
  const follows = config.environmentSettings?.follows;
  const environment = config.environment;
  if (!follows || !environment) {
    throw new CairnError('USAGE', `--to-followed needs an environment that follows another${environment ? `: ${environment} follows none` : ''}`, {
      hint: 'set `follows: \'qa\'` on the environment in cairn.config.ts and run with --env <name>; without one, use --to <version>',
    });
  }
  const files = readProjectMigrations(config)
    .filter((m) => to === undefined || compareVersions(m.version, to) <= 0)
    .sort((a, b) => compareVersions(a.version, b.version));
  const history = await readFollowedHistory(await resolveEnvironment(follows), environment);
  const first = files.findIndex((m) => promotionProblems([m], history).length > 0);
  if (first <= 0) return to;
  const target = files[first - 1]!.version;
  const missing = files.slice(first);
  onEvent({
    type: 'notice',
    message: `--to-followed: applying up to ${target}, what ${follows} has; ${missing[0]!.version}_${missing[0]!.name}${missing.length > 1 ? ` and ${missing.length - 1} after it wait` : ' waits'} for ${follows}`,
  });
  return target;
}
