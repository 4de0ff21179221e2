import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { headerTemplate } from './header-template.js';

const previous = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n';

describe.each(['postgres', 'sqlite'] as const)('header-template [%s]', (dialect) => {
  const options = { dialect, previous, rules: [headerTemplate], fileName: '0002_add_phone_to_users.sql' };

  it('accepts a complete header', async () => {
    const sql = '-- Migration: add phone to users\n-- Type: additive\n-- Rollback: drops the column\n-- migrate:up\nALTER TABLE users ADD COLUMN phone TEXT;\n-- migrate:down\nALTER TABLE users DROP COLUMN phone;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('accepts any case in keys and the Type value', async () => {
    const sql = '-- MIGRATION: add phone to users\n-- type: Additive\n-- ROLLBACK: drops the column\nALTER TABLE users ADD COLUMN phone TEXT;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('leaves a file without any header field alone (adopted from dbmate or wrangler)', async () => {
    const dbmate = '-- migrate:up\nALTER TABLE users ADD COLUMN phone TEXT;\n-- migrate:down\nALTER TABLE users DROP COLUMN phone;\n';
    expect(await findingsFor(dbmate, options)).toEqual([]);
    expect(await findingsFor('-- add the phone column\nALTER TABLE users ADD COLUMN phone TEXT;\n', options)).toEqual([]);
    const wrangler = '-- Migration number: 0002 \t 2024-01-01T00:00:00.000Z\nALTER TABLE users ADD COLUMN phone TEXT;\n';
    expect(await findingsFor(wrangler, options)).toEqual([]);
  });

  it('checks a file with one header field for the others', async () => {
    const findings = await findingsFor('-- Rollback: drops the column\nALTER TABLE users ADD COLUMN phone TEXT;\n', options);
    expect(findings.map((f) => f.message)).toEqual([expect.stringContaining('"-- Migration:"'), expect.stringContaining('"-- Type:"')]);
  });

  it("reports each missing field once, with a filled-in template, under lint.header: 'required'", async () => {
    const findings = await findingsFor('ALTER TABLE users ADD COLUMN phone TEXT;\n', { ...options, header: 'required' });
    expect(brief(findings)).toEqual(['header-template@1', 'header-template@1', 'header-template@1']);
    expect(findings.map((f) => f.message)).toEqual([
      expect.stringContaining('"-- Migration:"'),
      expect.stringContaining('"-- Type:"'),
      expect.stringContaining('"-- Rollback:"'),
    ]);
    expect(findings[0]).toMatchObject({ severity: 'warning', help: expect.stringContaining('-- Migration: add phone to users / -- Type: additive / -- Rollback:') });
  });

  it('reports an empty field and an unknown Type', async () => {
    const sql = '-- Migration: add phone to users\n-- Type: harmless\n-- Rollback:\nALTER TABLE users ADD COLUMN phone TEXT;\n';
    const findings = await findingsFor(sql, options);
    expect(findings.map((f) => f.message)).toEqual([expect.stringContaining('"-- Type: harmless" is not one of additive, destructive, transformative'), expect.stringContaining('"-- Rollback:"')]);
  });

  it('does not read comments after the first statement as the header', async () => {
    const sql = '-- Migration: add phone to users\nALTER TABLE users ADD COLUMN phone TEXT;\n-- Type: additive\n-- Rollback: drops the column\n';
    const findings = await findingsFor(sql, options);
    expect(findings.map((f) => f.message)).toEqual([expect.stringContaining('"-- Type:"'), expect.stringContaining('"-- Rollback:"')]);
  });
});
