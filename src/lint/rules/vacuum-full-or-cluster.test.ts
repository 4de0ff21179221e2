import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { vacuumFullOrCluster } from './vacuum-full-or-cluster.js';

const previous = 'CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamptz NOT NULL);\nCREATE INDEX events_created_at_idx ON events (created_at);\n';
const options = { dialect: 'postgres' as const, previous, rules: [vacuumFullOrCluster] };

describe('vacuum-full-or-cluster', () => {
  it('flags VACUUM FULL, at FULL, naming the table', async () => {
    const findings = await findingsFor('-- cairn:no-transaction\n-- migrate:up\nVACUUM FULL events;\n', options);
    expect(brief(findings)).toEqual(['vacuum-full-or-cluster@3']);
    expect(findings[0]).toMatchObject({ severity: 'error', column: 8, message: expect.stringContaining('"events"'), help: expect.stringContaining('pg_repack') });
    expect(findings[0]!.message).toContain('ACCESS EXCLUSIVE');
  });

  it('flags the parenthesised forms, a database-wide VACUUM FULL and CLUSTER', async () => {
    const sql = '-- cairn:no-transaction\nVACUUM (FULL, ANALYZE) events;\nVACUUM (VERBOSE, FULL true) events;\nVACUUM FULL;\nCLUSTER events USING events_created_at_idx;\nCLUSTER;\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['vacuum-full-or-cluster@2', 'vacuum-full-or-cluster@3', 'vacuum-full-or-cluster@4', 'vacuum-full-or-cluster@5', 'vacuum-full-or-cluster@6']);
    expect(findings[2]!.message).toContain('every table in the database');
    expect(findings[3]!.message).toMatch(/^CLUSTER rewrites "events"/);
  });

  it('does not flag plain VACUUM, ANALYZE or FULL turned off', async () => {
    const sql = '-- cairn:no-transaction\nVACUUM events;\nVACUUM (ANALYZE, VERBOSE) events;\nVACUUM ANALYZE events;\nANALYZE events;\nVACUUM (FULL false) events;\nVACUUM (FULL off) events;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag a table created in the same migration', async () => {
    const sql = 'CREATE TABLE staging (id bigint PRIMARY KEY);\nCLUSTER staging USING staging_pkey;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('is silenced by an allow with a reason', async () => {
    const sql = '-- cairn:no-transaction\n-- cairn:allow vacuum-full-or-cluster run during the Sunday maintenance window\nVACUUM FULL events;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('suggests REPACK (CONCURRENTLY) only when the target is PostgreSQL 19+', async () => {
    const sql = '-- cairn:no-transaction\nVACUUM FULL events;\n';
    const [pg15] = await findingsFor(sql, options);
    const [pg19] = await findingsFor(sql, { ...options, postgresVersion: 19 });
    expect(pg15!.help).not.toContain('REPACK');
    expect(pg19!.help).toContain('REPACK (CONCURRENTLY)');
  });
});
