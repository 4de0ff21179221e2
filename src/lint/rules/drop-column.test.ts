import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { dropColumn } from './drop-column.js';

const previous = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, legacy TEXT);\n';

describe.each(['postgres', 'sqlite'] as const)('drop-column [%s]', (dialect) => {
  it('flags dropping a column of an existing table, at the column', async () => {
    const findings = await findingsFor('-- migrate:up\nALTER TABLE users\n  DROP COLUMN legacy;\n', { dialect, previous, rules: [dropColumn] });
    expect(brief(findings)).toEqual(['drop-column@3']);
    expect(findings[0]).toMatchObject({ severity: 'error', message: expect.stringContaining('"legacy" of "users"'), help: expect.stringContaining('expand–contract') });
  });

  it('does not flag a column of a table created in the same migration', async () => {
    const findings = await findingsFor('CREATE TABLE drafts (id INTEGER PRIMARY KEY, scratch TEXT);\nALTER TABLE drafts DROP COLUMN scratch;\n', { dialect, rules: [dropColumn] });
    expect(findings).toEqual([]);
  });

  it('is silenced by an allow with a reason on the line before', async () => {
    const sql = '-- migrate:up\n-- cairn:allow drop-column unused since release 41, backed up\nALTER TABLE users DROP COLUMN legacy;\n';
    expect(await findingsFor(sql, { dialect, previous, rules: [dropColumn] })).toEqual([]);
  });

  it('is a warning in a file whose header declares Type: destructive with a Rollback: line', async () => {
    const declared = '-- Migration: drop users.legacy\n-- Type: destructive\n-- Rollback: restore the column from the backup Cairn takes before the drop\n-- migrate:up\nALTER TABLE users DROP COLUMN legacy;\n';
    const findings = await findingsFor(declared, { dialect, previous, rules: [dropColumn] });
    expect(findings).toEqual([expect.objectContaining({ rule: 'drop-column', severity: 'warning', line: 5 })]);
  });

  it('stays an error without the Rollback: line, with another Type, or when the config raises it', async () => {
    const noRollback = '-- Migration: drop users.legacy\n-- Type: destructive\nALTER TABLE users DROP COLUMN legacy;\n';
    expect((await findingsFor(noRollback, { dialect, previous, rules: [dropColumn] })).map((f) => f.severity)).toEqual(['error']);
    const additive = '-- Migration: drop users.legacy\n-- Type: additive\n-- Rollback: none\nALTER TABLE users DROP COLUMN legacy;\n';
    expect((await findingsFor(additive, { dialect, previous, rules: [dropColumn] })).map((f) => f.severity)).toEqual(['error']);
    const declared = '-- Migration: drop users.legacy\n-- Type: destructive\n-- Rollback: from the backup\nALTER TABLE users DROP COLUMN legacy;\n';
    expect((await findingsFor(declared, { dialect, previous, rules: [dropColumn], severities: { 'drop-column': 'error' } })).map((f) => f.severity)).toEqual(['error']);
  });
});
