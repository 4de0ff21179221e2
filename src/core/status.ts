import { describeSource } from '../config/wrangler.js';
import { lintProject } from '../lint/index.js';
import { compareVersions } from '../source/version.js';
import { changeOf, contractOf, contractProblems } from './phases.js';
import type { MigrationState, MigrationStatus } from './planner.js';
import type { Session } from './session.js';

/** One line of `cairn status`, JSON-safe. */
export interface StatusEntry {
  readonly version: string;
  readonly name: string;
  readonly state: MigrationState;
  /** Null when the file is missing. */
  readonly file: string | null;
  readonly checksum: string | null;
  readonly appliedChecksum: string | null;
  readonly appliedAt: string | null;
  readonly durationMs: number | null;
  readonly appliedBy: string | null;
  /** `run`, `baseline` for one marked applied without running, `adopted` for one applied by wrangler. */
  readonly method: string | null;
  readonly outOfOrder: boolean;
  readonly transaction: boolean | null;
  readonly hasDown: boolean | null;
  /** Why a `failed` migration failed. */
  readonly error: string | null;
  /** Remote D1: the Time Travel bookmark taken before the run that applied it (`cairn restore <version> --bookmark`). */
  readonly bookmark?: string | null;
  /** additive | transformative | destructive, with a risk level; null when the file is missing. */
  readonly classification: { readonly type: string; readonly risk: string } | null;
  /** The `-- Type:` its header declares, if any. */
  readonly declaredType: string | null;
  /** `unfilled`: nothing under the up marker yet (`up` refuses it); `no-op`: an up of comments only, recorded when applied. Null otherwise. */
  readonly content: 'unfilled' | 'no-op' | null;
  /** A batched migration that is `running` (or failed part-way): where it is. */
  readonly progress: { readonly line: number; readonly rows: number; readonly total: number | null; readonly percent: number | null } | null;
}

export interface StatusReport {
  readonly target: string;
  /** Where the database came from: flag, environment, DATABASE_URL, config, default, or wrangler. */
  readonly databaseSource: string;
  /** For a wrangler binding: "wrangler.toml binding DB (env qa, local)". */
  readonly wranglerBinding: string | null;
  readonly table: string;
  /** Wrangler's history table when the database has one: Cairn adopts from it and keeps it in step. */
  readonly wranglerTable: string | null;
  readonly migrations: readonly StatusEntry[];
  /** Expand–contract changes (`cairn plan`) whose contract has not been applied yet. */
  readonly changes: readonly ChangeInFlight[];
}

/** One change of `cairn plan` under way: its phases, and what its contract waits for. */
export interface ChangeInFlight {
  /** `rename-column users.name display_name`. */
  readonly change: string;
  readonly phases: readonly { readonly phase: string; readonly version: string; readonly state: MigrationState; readonly appliedAt: string | null; readonly percent: number | null }[];
  /** Why the contract cannot run now here; null when `up` would run it. */
  readonly contractWaitsFor: string | null;
  /** One line: "rename-column users.name display_name: expand applied 2026-12-01; backfill 100%; contract pending (waits for …)". */
  readonly summary: string;
}

export async function status(session: Session): Promise<StatusReport> {
  const classes = new Map((await lintProject(session.migrations, session.config.lint)).files.map((f) => [f.version, f.classification]));
  return {
    target: session.driver.target,
    databaseSource: session.config.databaseSource,
    wranglerBinding: session.config.wrangler ? describeSource(session.config.wrangler, session.config.root) : null,
    table: session.config.table,
    wranglerTable: session.companionTable,
    changes: changesInFlight(session.statuses, session.config.environmentSettings),
    migrations: session.statuses.map((s) => ({
      version: s.version,
      name: s.name,
      state: s.state,
      file: s.migration?.file ?? null,
      checksum: s.migration?.checksum ?? null,
      appliedChecksum: s.record?.checksum ?? null,
      appliedAt: s.record?.appliedAt.toISOString() ?? null,
      durationMs: s.record?.durationMs ?? null,
      appliedBy: s.record?.appliedBy ?? null,
      method: s.record?.method ?? null,
      bookmark: typeof s.record?.details.bookmark === 'string' ? s.record.details.bookmark : null,
      outOfOrder: s.outOfOrder,
      transaction: s.migration?.transaction ?? null,
      hasDown: s.migration ? s.migration.down !== null : null,
      progress: progressOf(s.record?.state !== 'applied' ? s.record?.details.progress : undefined),
      error: s.state === 'running' ? null : s.record?.state === 'running' ? 'started and never finished (process died, or still running)' : (s.record?.error ?? null),
      classification: s.migration ? pick(classes.get(s.migration.version)) : null,
      declaredType: s.migration?.header.type ?? null,
      content: !s.migration || s.migration.script ? null : s.migration.unfilled ? 'unfilled' : s.migration.noOp ? 'no-op' : null,
    })),
  };
}

export function changesInFlight(statuses: readonly MigrationStatus[], settings: Parameters<typeof contractProblems>[2]): ChangeInFlight[] {
  const byChange = new Map<string, MigrationStatus[]>();
  for (const s of statuses) {
    const change = s.migration ? changeOf(s.migration) : null;
    if (change) byChange.set(change, [...(byChange.get(change) ?? []), s]);
  }
  return [...byChange].flatMap(([change, members]): ChangeInFlight[] => {
    const contract = members.find((m) => m.migration && contractOf(m.migration) !== null);
    if (!contract || contract.state === 'applied') return [];
    const pending = statuses.filter((s) => s.state === 'pending' && s !== contract && compareVersions(s.version, contract.version) < 0).map((s) => s.migration!);
    const waits = contractProblems(statuses, [...pending, contract.migration!], settings, new Date()).find((p) => p.contract.version === contract.version);
    const phases = members.map((m) => {
      const name = /^\s*(\w+)/.exec(m.migration?.header.phase ?? '')?.[1] ?? 'phase';
      const progress = progressOf(m.record?.state !== 'applied' ? m.record?.details.progress : undefined);
      return { phase: name, version: m.version, state: m.state, appliedAt: m.state === 'applied' ? (m.record?.appliedAt.toISOString() ?? null) : null, percent: m.state === 'applied' ? 100 : (progress?.percent ?? null) };
    });
    const describe = (p: ChangeInFlight['phases'][number]) =>
      p.phase === 'contract'
        ? `contract ${p.state}${waits ? ` (waits: ${waits.message})` : ' (ready: `cairn up` runs it)'}`
        : p.phase === 'backfill'
          ? `backfill ${p.state === 'applied' ? '100%' : p.percent !== null ? `${p.percent}% (${p.state})` : p.state}`
          : `${p.phase} ${p.appliedAt ? `applied ${p.appliedAt.slice(0, 10)}` : p.state}`;
    return [{ change, phases, contractWaitsFor: waits?.message ?? null, summary: `${change}: ${phases.map(describe).join('; ')}` }];
  });
}

function progressOf(value: unknown): StatusEntry['progress'] {
  if (!value || typeof value !== 'object') return null;
  const { line, rows, total } = value as { line?: number; rows?: number; total?: number | null };
  const percent = typeof total === 'number' && total > 0 ? Math.min(100, Math.floor(((rows ?? 0) / total) * 100)) : null;
  return { line: line ?? 0, rows: rows ?? 0, total: total ?? null, percent };
}

function pick(classification: { type: string; risk: string } | undefined): { type: string; risk: string } | null {
  return classification ? { type: classification.type, risk: classification.risk } : null;
}
