import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { typeMismatch } from './type-mismatch.js';

const previous = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, legacy TEXT);\nCREATE TABLE audit_log (id INTEGER PRIMARY KEY, payload TEXT);\n';
const header = (type: string) => `-- Migration: change users\n-- Type: ${type}\n-- Rollback: see below\n`;

describe.each(['postgres', 'sqlite'] as const)('type-mismatch [%s]', (dialect) => {
  const options = { dialect, previous, rules: [typeMismatch] };

  it('flags a destructive migration declared additive, naming the reasons', async () => {
    const sql = `${header('additive')}ALTER TABLE users ADD COLUMN phone TEXT;\nDROP TABLE audit_log;\n`;
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['type-mismatch@1']);
    expect(findings[0]).toMatchObject({
      severity: 'warning',
      message: expect.stringContaining('"-- Type: additive" but this migration is destructive: line 5: drops table audit_log'),
      help: expect.stringContaining('"-- Type: destructive"'),
    });
  });

  it('flags a transformative migration declared additive', async () => {
    const sql = `${header('Additive')}UPDATE users SET email = lower(email) WHERE id < 1000;\n`;
    const findings = await findingsFor(sql, options);
    expect(findings).toEqual([expect.objectContaining({ rule: 'type-mismatch', message: expect.stringContaining('is transformative: line 4: updates rows of users') })]);
  });

  it('names at most three reasons', async () => {
    const sql = `${header('additive')}${[1, 2, 3, 4, 5].map((n) => `DELETE FROM audit_log WHERE id = ${n};`).join('\n')}\n`;
    const [finding] = await findingsFor(sql, options);
    expect(finding!.message).toMatch(/line 6: deletes rows from audit_log; and 2 more$/);
  });

  it('flags a destructive migration declared transformative', async () => {
    const sql = `${header('transformative')}ALTER TABLE users DROP COLUMN legacy;\n`;
    expect(brief(await findingsFor(sql, options))).toEqual(['type-mismatch@1']);
  });

  it('accepts a matching Type', async () => {
    expect(await findingsFor(`${header('additive')}ALTER TABLE users ADD COLUMN phone TEXT;\n`, options)).toEqual([]);
    expect(await findingsFor(`${header('destructive')}DROP TABLE audit_log;\n`, options)).toEqual([]);
  });

  it('accepts declaring riskier than it is', async () => {
    expect(await findingsFor(`${header('destructive')}ALTER TABLE users ADD COLUMN phone TEXT;\n`, options)).toEqual([]);
    expect(await findingsFor(`${header('transformative')}CREATE INDEX users_email ON users (email);\n`, options)).toEqual([]);
  });

  it('leaves a missing or unknown Type to header-template', async () => {
    expect(await findingsFor('DROP TABLE audit_log;\n', options)).toEqual([]);
    expect(await findingsFor(`${header('harmless')}DROP TABLE audit_log;\n`, options)).toEqual([]);
  });
});
