import { describe, expect, it } from 'vitest';
import type { Migration } from '../source/migration.js';
import { contractProblems } from './phases.js';
import { reconcile } from './planner.js';
import type { AppliedRecord } from './tracking.js';

function migration(version: string, phase: string | null, directives: Migration['directives'] = []): Migration {
  const section = { file: `migrations/${version}_m.sql`, firstLine: 1, text: 'SELECT 1;', statements: [{ sql: 'SELECT 1', line: 1, column: 1, offset: 0 }] };
  return { version, name: `m${version}`, file: section.file, up: section, down: section, checksum: `sum${version}`, transaction: true, header: phase ? { phase: `${phase} of rename-column users.name display_name` } : {}, directives };
}

const record = (version: string, options: Partial<AppliedRecord> = {}): AppliedRecord => ({ version, name: `m${version}`, checksum: `sum${version}`, state: 'applied', appliedAt: new Date('2026-12-01T00:00:00Z'), durationMs: 1, appliedBy: 'me@host', method: 'run', error: null, details: {}, ...options });

const files = [migration('0002', 'expand'), migration('0003', 'backfill', [{ name: 'batch', args: '', line: 6 }]), migration('0004', 'contract', [{ name: 'contract', args: '0002', line: 5 }])];
const settings = { name: 'production', protected: false, follows: null, healthCheck: null, contractAfterMs: 24 * 3_600_000, confirmContract: true };

describe('contractProblems', () => {
  it('refuses the contract while the backfill of the same change is still running', () => {
    const statuses = reconcile(files, [record('0002'), record('0003', { state: 'running', details: { progress: { rows: 10 } } })]);
    const problems = contractProblems(statuses, [files[2]!], null, new Date('2026-12-05T00:00:00Z'));
    expect(problems.map((p) => [p.reason, p.message])).toEqual([['not-applied', expect.stringContaining('0003_m.sql is still running')]]);
  });

  it('waits for contractAfter, then for the confirmation, then lets it run', () => {
    const young = reconcile(files, [record('0002', { appliedAt: new Date('2026-12-04T12:00:00Z') }), record('0003')]);
    expect(contractProblems(young, [files[2]!], settings, new Date('2026-12-05T00:00:00Z')).map((p) => p.reason)).toEqual(['too-young']);
    const old = reconcile(files, [record('0002'), record('0003')]);
    expect(contractProblems(old, [files[2]!], settings, new Date('2026-12-05T00:00:00Z')).map((p) => p.reason)).toEqual(['unconfirmed']);
    const confirmed = reconcile(files, [record('0002', { details: { contractConfirmed: { by: 'ann@host', at: '2026-12-04T00:00:00Z' } } }), record('0003')]);
    expect(contractProblems(confirmed, [files[2]!], settings, new Date('2026-12-05T00:00:00Z'))).toEqual([]);
    // Without environment settings, only the order matters.
    expect(contractProblems(old, [files[2]!], null, new Date('2026-12-05T00:00:00Z'))).toEqual([]);
  });
});
