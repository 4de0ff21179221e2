import { describe, expect, it } from 'vitest';
import type { Migration } from '../source/migration.js';
import { planDown, planUp, reconcile } from './planner.js';
import type { AppliedRecord } from './tracking.js';

function migration(version: string, options: { checksum?: string; down?: boolean } = {}): Migration {
  const section = { file: `migrations/${version}_m.sql`, firstLine: 1, text: 'SELECT 1;', statements: [{ sql: 'SELECT 1', line: 1, column: 1, offset: 0 }] };
  return { version, name: `m${version}`, file: section.file, up: section, down: options.down === false ? null : section, checksum: options.checksum ?? `sum${version}`, transaction: true, header: {}, directives: [] };
}

function record(version: string, options: Partial<AppliedRecord> = {}): AppliedRecord {
  return { version, name: `m${version}`, checksum: `sum${version}`, state: 'applied', appliedAt: new Date('2026-01-01T00:00:00Z'), durationMs: 1, appliedBy: 'me@host', method: 'run', error: null, details: {}, ...options };
}

describe('reconcile', () => {
  it('names each migration applied, pending, changed, missing or failed', () => {
    const statuses = reconcile(
      [migration('0001'), migration('0002', { checksum: 'edited' }), migration('0004'), migration('0005')],
      [record('0001'), record('0002'), record('0003'), record('0004', { state: 'failed', error: 'boom' })],
    );
    expect(statuses.map((s) => [s.version, s.state])).toEqual([
      ['0001', 'applied'],
      ['0002', 'changed'],
      ['0003', 'missing'],
      ['0004', 'failed'],
      ['0005', 'pending'],
    ]);
  });

  it('matches versions numerically (0001 is 1) and flags pending files below the newest applied one', () => {
    const statuses = reconcile([migration('0001'), migration('0002'), migration('0003')], [record('1', { checksum: 'sum0001' }), record('0003')]);
    expect(statuses.map((s) => [s.version, s.state, s.outOfOrder])).toEqual([
      ['0001', 'applied', false],
      ['0002', 'pending', true],
      ['0003', 'applied', false],
    ]);
  });
});

describe('planUp', () => {
  it('plans pending migrations oldest first, up to a target', () => {
    const statuses = reconcile([migration('0001'), migration('0002'), migration('0003')], [record('0001')]);
    expect(planUp(statuses).map((m) => m.version)).toEqual(['0002', '0003']);
    expect(planUp(statuses, { to: '0002' }).map((m) => m.version)).toEqual(['0002']);
    expect(planUp(statuses, { to: '0001' })).toEqual([]);
  });

  it('refuses out-of-order files unless allowed', () => {
    const statuses = reconcile([migration('0001'), migration('0002')], [record('0002')]);
    expect(() => planUp(statuses)).toThrow(expect.objectContaining({ code: 'OUT_OF_ORDER' }));
    expect(planUp(statuses, { allowOutOfOrder: true }).map((m) => m.version)).toEqual(['0001']);
  });

  it('refuses on a damaged history, failed first', () => {
    const changed = reconcile([migration('0001', { checksum: 'x' })], [record('0001')]);
    expect(() => planUp(changed)).toThrow(expect.objectContaining({ code: 'CHECKSUM_MISMATCH' }));
    const failed = reconcile([migration('0001', { checksum: 'x' }), migration('0002')], [record('0001'), record('0002', { state: 'running' })]);
    expect(() => planUp(failed)).toThrow(expect.objectContaining({ code: 'FAILED_MIGRATION', message: expect.stringContaining('never finished') }));
  });

  it('rejects unknown and malformed targets', () => {
    const statuses = reconcile([migration('0001')], []);
    expect(() => planUp(statuses, { to: '0007' })).toThrow(expect.objectContaining({ code: 'TARGET' }));
    expect(() => planUp(statuses, { to: 'latest' })).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});

describe('planDown', () => {
  const statuses = reconcile([migration('0001'), migration('0002'), migration('0003'), migration('0004')], [record('0001'), record('0002'), record('0003')]);

  it('rolls back the newest applied by default, or N steps, or all newer than a version', () => {
    expect(planDown(statuses).map((m) => m.version)).toEqual(['0003']);
    expect(planDown(statuses, { steps: 2 }).map((m) => m.version)).toEqual(['0003', '0002']);
    expect(planDown(statuses, { to: '0001' }).map((m) => m.version)).toEqual(['0003', '0002']);
    expect(planDown(statuses, { to: '0' }).map((m) => m.version)).toEqual(['0003', '0002', '0001']);
  });

  it('refuses bad step counts and both options at once', () => {
    expect(() => planDown(statuses, { steps: 0 })).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => planDown(statuses, { steps: 1, to: '0001' })).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });

  it('refuses when a chosen migration has no down, naming every one', () => {
    const noDown = reconcile([migration('0001', { down: false }), migration('0002', { down: false })], [record('0001'), record('0002')]);
    expect(() => planDown(noDown, { to: '0' })).toThrow(expect.objectContaining({ code: 'NO_DOWN', message: expect.stringMatching(/0001_m.sql[\s\S]*0002_m.sql|0002_m.sql[\s\S]*0001_m.sql/) }));
  });
});
