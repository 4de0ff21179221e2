import { describe, expect, it } from 'vitest';
import type { Migration } from '../source/migration.js';
import type { AppliedRecord } from '../core/tracking.js';
import { parseMigrationFileName as parseName } from '../source/files.js';
import { adoptWranglerRows, unmirrored, type WranglerRow } from './table.js';

const file = (version: string, name: string): Migration => ({
  version,
  name,
  file: `migrations/${version}_${name}.sql`,
  up: { file: `migrations/${version}_${name}.sql`, firstLine: 1, text: 'SELECT 1;', statements: [] },
  down: null,
  checksum: `sum-${version}`,
  transaction: true,
  header: {},
  directives: [],
});

const row = (id: number, name: string): WranglerRow => ({ id, name, appliedAt: new Date(Date.UTC(2024, 0, id)) });

const cairnRecord = (version: string): AppliedRecord => ({
  version,
  name: 'x',
  checksum: 'c',
  state: 'applied',
  appliedAt: new Date(0),
  durationMs: 1,
  appliedBy: 'me',
  method: 'run',
  error: null,
  details: {},
});

describe("adopting wrangler's rows", () => {
  it('counts a version wrangler applied as applied, with the file as it is now and wrangler\'s time', () => {
    const { records, importable } = adoptWranglerRows([row(1, '0001_users.sql'), row(2, '0002_posts.sql')], [cairnRecord('0001')], [file('0001', 'users'), file('0002', 'posts'), file('0003', 'tags')]);
    expect(records).toEqual([
      { version: '0002', name: 'posts', checksum: 'sum-0002', state: 'applied', appliedAt: new Date(Date.UTC(2024, 0, 2)), durationMs: 0, appliedBy: 'wrangler', method: 'adopted', error: null, details: { wrangler: { id: 2, name: '0002_posts.sql' } } },
    ]);
    expect(importable).toEqual(records);
  });

  it('matches versions across spellings, keeps one row per version, and skips names Cairn cannot read', () => {
    const rows = [row(1, '1_users.sql'), row(2, '0002_posts.down.sql'), row(3, '0002_posts.sql'), row(4, 'seed.sql')];
    const { records } = adoptWranglerRows(rows, [], [file('0001', 'users'), file('0002', 'posts')]);
    expect(records.map((r) => [r.version, r.name, (r.details.wrangler as { id: number }).id])).toEqual([
      ['0001', 'users', 1],
      ['0002', 'posts', 2],
    ]);
  });

  it('gives a name with no file a record that reconciles as missing, and does not import it', () => {
    const { records, importable } = adoptWranglerRows([row(1, '0007_drop_legacy.sql')], [], []);
    expect(records).toEqual([expect.objectContaining({ version: '0007', name: 'drop_legacy', checksum: '', method: 'adopted' })]);
    expect(importable).toEqual([]);
  });

  it("reads wrangler's file names with the grammar of source/files.ts", () => {
    expect(parseName('0001_create_users.sql')).toEqual({ version: '0001', name: 'create_users' });
    expect(parseName('20240115_001_add_index.sql')).toEqual({ version: '20240115_001', name: 'add_index' });
    expect(parseName('0003_x.up.sql')).toEqual({ version: '0003', name: 'x' });
    expect(parseName('notes.sql')).toBeNull();
  });

  it('lists what Cairn applied that wrangler has no row for, so wrangler would not run it again', () => {
    const migrations = [file('0001', 'users'), file('0002', 'posts'), file('0003', 'tags')];
    const failed = { ...cairnRecord('0003'), state: 'failed' as const };
    expect(unmirrored([row(1, '1_users.sql')], [cairnRecord('0001'), cairnRecord('0002'), failed], migrations)).toEqual(['0002_posts.sql']);
    expect(unmirrored([], [], migrations)).toEqual([]);
  });
});
