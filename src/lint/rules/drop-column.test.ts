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
});
