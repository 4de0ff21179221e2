import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { uniqueConstraintLocks } from './unique-constraint-locks.js';

const previous = `CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, handle text);
CREATE TABLE legacy_events (event_id bigint, payload jsonb);
CREATE TABLE tags (id bigint NOT NULL, name text);
`;
const options = { dialect: 'postgres' as const, previous, rules: [uniqueConstraintLocks] };

describe('unique-constraint-locks', () => {
  it('flags ADD CONSTRAINT … UNIQUE on an existing table, at the constraint', async () => {
    const sql = '-- migrate:up\nALTER TABLE users\n  ADD CONSTRAINT users_email_key UNIQUE (email);\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['unique-constraint-locks@3']);
    expect(findings[0]).toMatchObject({
      severity: 'error',
      column: 7,
      message: expect.stringContaining('UNIQUE constraint users_email_key (email) on "users"'),
      help: expect.stringContaining('CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email)'),
    });
    expect(findings[0]!.help).toContain('ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key');
  });

  it('flags ADD PRIMARY KEY, and says to make nullable key columns NOT NULL first', async () => {
    const findings = await findingsFor('ALTER TABLE legacy_events ADD PRIMARY KEY (event_id);\nALTER TABLE tags ADD PRIMARY KEY (id);\n', options);
    expect(brief(findings)).toEqual(['unique-constraint-locks@1', 'unique-constraint-locks@2']);
    expect(findings[0]).toMatchObject({ message: expect.stringContaining('PRIMARY KEY (event_id) on "legacy_events"'), help: expect.stringContaining('PRIMARY KEY USING INDEX legacy_events_pkey') });
    expect(findings[0]!.help).toContain('make event_id NOT NULL');
    expect(findings[1]!.help).not.toContain('NOT NULL without');
  });

  it('flags a column added with UNIQUE or PRIMARY KEY', async () => {
    const findings = await findingsFor('ALTER TABLE users ADD COLUMN api_key text UNIQUE;\n', options);
    expect(brief(findings)).toEqual(['unique-constraint-locks@1']);
    expect(findings[0]).toMatchObject({ message: expect.stringContaining('column "api_key" to "users" as UNIQUE'), help: expect.stringContaining('CREATE UNIQUE INDEX CONCURRENTLY users_api_key_key ON users (api_key)') });
  });

  it('accepts USING INDEX, which attaches an index built concurrently', async () => {
    const sql = 'ALTER TABLE users ADD CONSTRAINT users_handle_key UNIQUE USING INDEX users_handle_idx;\nALTER TABLE tags ADD CONSTRAINT tags_pkey PRIMARY KEY USING INDEX tags_id_idx;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('accepts unique constraints on a table created earlier in the same migration, and other constraints', async () => {
    const sql = 'CREATE TABLE invites (id bigint, code text);\nALTER TABLE invites ADD PRIMARY KEY (id), ADD CONSTRAINT invites_code_key UNIQUE (code);\nALTER TABLE invites ADD COLUMN token text UNIQUE;\nALTER TABLE users ADD CONSTRAINT users_handle_check CHECK (handle <> \'\') NOT VALID;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });
});
