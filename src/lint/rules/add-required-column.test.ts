import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { addRequiredColumn } from './add-required-column.js';

const previous = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n';

describe.each(['postgres', 'sqlite'] as const)('add-required-column [%s]', (dialect) => {
  const options = { dialect, previous, rules: [addRequiredColumn] };

  it('flags a NOT NULL column without a DEFAULT, at the column', async () => {
    const findings = await findingsFor('-- migrate:up\nALTER TABLE users\n  ADD COLUMN phone TEXT NOT NULL;\n', options);
    expect(brief(findings)).toEqual(['add-required-column@3']);
    expect(findings[0]).toMatchObject({
      severity: 'error',
      column: 14,
      message: expect.stringContaining('"phone" to "users"'),
      help: expect.stringContaining('backfill in batches'),
    });
  });

  it('treats DEFAULT NULL as no default on PostgreSQL; on SQLite leaves that refused form to sqlite-add-column-illegal', async () => {
    const findings = await findingsFor('ALTER TABLE users ADD COLUMN phone TEXT NOT NULL DEFAULT NULL;\n', options);
    expect(brief(findings)).toEqual(dialect === 'postgres' ? ['add-required-column@1'] : []);
  });

  it('accepts the safe forms: nullable, or NOT NULL with a DEFAULT', async () => {
    const sql = "ALTER TABLE users ADD COLUMN phone TEXT;\nALTER TABLE users ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';\nALTER TABLE users ADD COLUMN verified BOOLEAN NOT NULL DEFAULT FALSE;\n";
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag a table created in the same migration', async () => {
    const sql = 'CREATE TABLE teams (id INTEGER PRIMARY KEY);\nALTER TABLE teams ADD COLUMN name TEXT NOT NULL;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('does not flag a generated column, which computes its value', async () => {
    const sql =
      dialect === 'postgres'
        ? "ALTER TABLE users ADD COLUMN domain TEXT GENERATED ALWAYS AS (split_part(email, '@', 2)) STORED NOT NULL;\n"
        : "ALTER TABLE users ADD COLUMN domain TEXT GENERATED ALWAYS AS (substr(email, instr(email, '@') + 1)) VIRTUAL NOT NULL;\n";
    expect(await findingsFor(sql, options)).toEqual([]);
  });
});

describe('add-required-column [postgres only]', () => {
  const options = { dialect: 'postgres' as const, previous, rules: [addRequiredColumn] };

  it('does not flag identity or serial columns', async () => {
    const sql = 'ALTER TABLE users ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY NOT NULL;\nALTER TABLE users ADD COLUMN n bigserial NOT NULL;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('suggests the CHECK … NOT VALID route to SET NOT NULL', async () => {
    const [finding] = await findingsFor('ALTER TABLE users ADD COLUMN tenant_id bigint NOT NULL, ADD COLUMN note text;\n', options);
    expect(finding).toMatchObject({ message: expect.stringContaining('"tenant_id"'), help: expect.stringContaining('NOT VALID') });
    expect(finding!.help).toContain('ADD COLUMN tenant_id bigint;');
  });
});
