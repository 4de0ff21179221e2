import type { EnvironmentSettings } from '../config/load.js';
import type { Migration } from '../source/migration.js';
import { compareVersions } from '../source/version.js';
import { CairnError } from '../errors.js';
import type { MigrationStatus } from './planner.js';
import type { Session } from './session.js';

/**
 * The contract gate. A migration headed `-- cairn:contract <expand version>`
 * drops the old shape that the previous version of the application still
 * uses, so it must not run before that application is gone: not in the same
 * `up` as its expand, not while the backfill of the same change is
 * unfinished, not before the environment's `contractAfter` has passed since
 * the expand was applied there, and, where the environment says
 * `confirmContract: true`, not before someone ran `cairn phase confirm`.
 * Pure but for the clock, which callers pass in.
 */
export interface ContractProblem {
  readonly contract: { readonly version: string; readonly file: string };
  readonly expand: { readonly version: string; readonly file: string | null };
  readonly reason: 'unknown-expand' | 'same-run' | 'not-applied' | 'too-young' | 'unconfirmed';
  /** What is wrong, in words, naming the file that is not done. */
  readonly message: string;
}

/** The expand version a contract migration names, or null for a migration that is not a contract. */
export function contractOf(migration: Pick<Migration, 'directives'>): string | null {
  return migration.directives.find((d) => d.name === 'contract')?.args.split(/\s+/)[0] ?? null;
}

/** `-- Phase: contract of rename-column users.name display_name` → `rename-column users.name display_name`. */
export function changeOf(migration: Pick<Migration, 'header'>): string | null {
  return /^\s*\w+\s+of\s+(.+)$/.exec(migration.header.phase ?? '')?.[1]?.trim() ?? null;
}

export function contractProblems(statuses: readonly MigrationStatus[], toApply: readonly Migration[], settings: EnvironmentSettings | null, now: Date): ContractProblem[] {
  const inRun = new Set(toApply.map((m) => m.version));
  return toApply.flatMap((migration): ContractProblem[] => {
    const expandVersion = contractOf(migration);
    if (expandVersion === null) return [];
    const contract = { version: migration.version, file: migration.file };
    const expand = statuses.find((s) => compareVersions(s.version, expandVersion) === 0);
    const problem = (reason: ContractProblem['reason'], message: string): ContractProblem[] => [{ contract, expand: { version: expandVersion, file: expand?.migration?.file ?? null }, reason, message }];
    if (!expand) return problem('unknown-expand', `its expand ${expandVersion} is not a migration here`);
    // The expand and every earlier phase of the same change (the backfill) must be done before this run.
    const change = changeOf(migration);
    const earlier = statuses.filter((s) => s === expand || (change !== null && s.migration && changeOf(s.migration) === change && compareVersions(s.version, migration.version) < 0));
    for (const phase of earlier) {
      const file = phase.migration?.file ?? `${phase.version}_${phase.name}`;
      if (inRun.has(phase.version)) return problem('same-run', `${file} is applied in this same run: the application that still uses the old shape has had no time to go`);
      if (phase.state === 'running') return problem('not-applied', `${file} is still running (${phase.record?.details.progress ? 'a backfill, interrupted or in progress' : 'unfinished'})`);
      if (phase.state !== 'applied') return problem('not-applied', `${file} is not applied here`);
    }
    const record = expand.record!;
    if (settings?.contractAfterMs) {
      const due = record.appliedAt.getTime() + settings.contractAfterMs;
      if (due > now.getTime()) return problem('too-young', `${expand.migration?.file ?? expandVersion} was applied on ${settings.name} at ${record.appliedAt.toISOString()}; contractAfter says wait until ${new Date(due).toISOString()}`);
    }
    if (settings?.confirmContract && !record.details.contractConfirmed) {
      return problem('unconfirmed', `${settings.name} has confirmContract: true, and nobody has confirmed that every running version of the application uses the new shape`);
    }
    return [];
  });
}

export function contractRefusal(problems: readonly ContractProblem[], settings: EnvironmentSettings | null): CairnError {
  const lines = problems.map((p) => `  ${p.contract.file} (contract of ${p.expand.file ?? p.expand.version}): ${p.message}`);
  const unconfirmed = problems.find((p) => p.reason === 'unconfirmed');
  const hint = unconfirmed
    ? `once every running version of the application uses the new shape, record it: cairn phase confirm ${unconfirmed.expand.version}${settings ? ` --env ${settings.name}` : ''}; then run up again`
    : problems.some((p) => p.reason === 'too-young')
      ? 'wait, then run up again; apply the other migrations now with `cairn up --to <version before the contract>`'
      : `apply up to the migration before the contract (\`cairn up --to <version>\`), deploy the application that uses the new shape, then run \`cairn up\` again`;
  return new CairnError('PHASE', `${problems.length === 1 ? 'a contract migration has' : `${problems.length} contract migrations have`} to wait; nothing was applied:\n${lines.join('\n')}`, {
    hint,
    details: { problems },
  });
}

/** `cairn phase confirm <version>`: records, on the expand's history row, who confirmed the contract may run here, and when. */
export async function confirmPhase(session: Session, version: string): Promise<{ readonly expand: string; readonly by: string; readonly at: string }> {
  const named = session.statuses.find((s) => compareVersions(s.version, version) === 0);
  const expandVersion = named?.migration ? (contractOf(named.migration) ?? named.version) : version;
  const expand = session.statuses.find((s) => compareVersions(s.version, expandVersion) === 0);
  if (!expand || expand.state !== 'applied' || !expand.record) {
    throw new CairnError('PHASE', `${expand?.migration?.file ?? expandVersion} is not applied on ${session.config.environment ?? session.driver.target}: there is nothing to confirm yet`, {
      hint: 'apply the expand (and its backfill) here first, deploy the application that uses the new shape, then confirm',
    });
  }
  const confirmed = { by: session.appliedBy, at: new Date().toISOString() };
  await session.driver.atomic([session.tracking.updateDetails(expand.version, { ...expand.record.details, contractConfirmed: confirmed })]);
  return { expand: expand.version, ...confirmed };
}
