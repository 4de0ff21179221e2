import { describe, expect, it } from 'vitest';
import type { Migration } from '../source/migration.js';
import { describePromotionProblems, promotionProblems, promotionRefusal } from './promotion.js';
import type { AppliedRecord } from '../core/tracking.js';

const migration = (version: string, name: string, checksum: string): Migration => ({
  version,
  name,
  file: `migrations/${version}_${name}.sql`,
  up: { file: `migrations/${version}_${name}.sql`, firstLine: 1, text: '', statements: [] },
  down: null,
  checksum,
  transaction: true,
  header: {},
  directives: [],
});

const record = (version: string, checksum: string, state: AppliedRecord['state'] = 'applied'): AppliedRecord => ({
  version,
  name: 'x',
  checksum,
  state,
  appliedAt: new Date(0),
  durationMs: 1,
  appliedBy: 'ci@qa',
  method: 'run',
  error: state === 'failed' ? 'boom' : null,
  details: {},
});

const qa = { name: 'qa', database: 'sqlite:qa.db' };

describe('promotionProblems', () => {
  it('passes what ran on the followed environment with the same checksum, across version spellings', () => {
    expect(promotionProblems([migration('0001', 'create_users', 'aaa'), migration('0002', 'add_phone', 'bbb')], [record('1', 'aaa'), record('0002', 'bbb')])).toEqual([]);
  });

  it('names each migration that is missing there, failed there, or ran there from a different file', () => {
    const problems = promotionProblems(
      [migration('0001', 'create_users', 'aaa'), migration('0002', 'add_phone', 'bbb'), migration('0003', 'add_index', 'ccc'), migration('0004', 'backfill', 'ddd')],
      [record('0001', 'aaa'), record('0002', 'old'), record('0003', 'ccc', 'failed')],
    );
    expect(problems.map((p) => [p.version, p.reason])).toEqual([
      ['0002', 'checksum'],
      ['0003', 'failed'],
      ['0004', 'not-applied'],
    ]);
    expect(describePromotionProblems(problems, qa)).toEqual([
      '0002_add_phone.sql: applied on qa with a different checksum (the file changed after it ran there)',
      '0003_add_index.sql: failed on qa (sqlite:qa.db); it is recorded there but not applied',
      '0004_backfill.sql: not applied on qa (sqlite:qa.db)',
    ]);
  });

  it('refuses with PROMOTION (exit 3), saying where to apply first', () => {
    const error = promotionRefusal('production', promotionProblems([migration('0005', 'add_x', 'e')], []), qa);
    expect(error.code).toBe('PROMOTION');
    expect(error.exitCode).toBe(3);
    expect(error.message).toBe('refusing to apply to production: 1 migration has not been applied on qa first:\n  0005_add_x.sql: not applied on qa (sqlite:qa.db)');
    expect(error.hint).toContain('`cairn up --env qa`');
  });
});
