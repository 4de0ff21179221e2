import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { volatileDefault } from './volatile-default.js';

const previous = 'CREATE TABLE users (id bigint PRIMARY KEY, email text);\nCREATE SEQUENCE users_legacy_seq;\n';
const options = { dialect: 'postgres' as const, previous, rules: [volatileDefault] };

describe('volatile-default', () => {
  it('flags a volatile default on an existing table, at the call', async () => {
    const sql = '-- migrate:up\nALTER TABLE users\n  ADD COLUMN public_id uuid NOT NULL DEFAULT gen_random_uuid();\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['volatile-default@3']);
    expect(findings[0]).toMatchObject({
      severity: 'error',
      column: 46,
      message: expect.stringContaining('column "public_id" to "users" with DEFAULT gen_random_uuid(): gen_random_uuid() is volatile'),
      help: expect.stringContaining('ALTER TABLE users ALTER COLUMN public_id SET DEFAULT gen_random_uuid();'),
    });
    expect(findings[0]!.help).toContain('ADD COLUMN public_id uuid;');
  });

  it('flags the usual volatile functions, also nested or schema-qualified', async () => {
    const sql = `ALTER TABLE users ADD COLUMN score float8 DEFAULT random();
ALTER TABLE users ADD COLUMN seen_at timestamptz DEFAULT clock_timestamp();
ALTER TABLE users ADD COLUMN legacy_id bigint DEFAULT nextval('users_legacy_seq');
ALTER TABLE users ADD COLUMN token text DEFAULT md5(random()::text);
ALTER TABLE users ADD COLUMN ref uuid DEFAULT public.uuid_generate_v4();
ALTER TABLE users ADD COLUMN stamp text DEFAULT timeofday();
`;
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual([1, 2, 3, 4, 5, 6].map((line) => `volatile-default@${line}`));
    expect(findings[2]!.message).toContain("DEFAULT nextval('users_legacy_seq')");
    expect(findings[3]!.message).toContain('random() is volatile');
  });

  it('flags an unknown function, saying it is volatile unless declared otherwise', async () => {
    const findings = await findingsFor('ALTER TABLE users ADD COLUMN code text DEFAULT make_invite_code();\n', options);
    expect(brief(findings)).toEqual(['volatile-default@1']);
    expect(findings[0]).toMatchObject({ message: expect.stringContaining('unless its function was declared STABLE or IMMUTABLE'), help: expect.stringContaining('cairn:allow volatile-default') });
  });

  it('accepts constant and stable defaults on PostgreSQL 11+ (stored once, no rewrite)', async () => {
    const sql = `ALTER TABLE users ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE users ADD COLUMN updated_at timestamptz DEFAULT CURRENT_TIMESTAMP;
ALTER TABLE users ADD COLUMN signup_day date DEFAULT CURRENT_DATE;
ALTER TABLE users ADD COLUMN active boolean NOT NULL DEFAULT true;
ALTER TABLE users ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE users ADD COLUMN expires_at timestamptz DEFAULT now() + interval '30 days';
ALTER TABLE users ADD COLUMN created_xid bigint DEFAULT txid_current();
ALTER TABLE users ADD COLUMN nickname text DEFAULT NULL;
`;
    expect(await findingsFor(sql, { ...options, postgresVersion: 15 })).toEqual([]);
  });

  it('flags every non-NULL default before PostgreSQL 11, now() included', async () => {
    const sql = "ALTER TABLE users ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();\nALTER TABLE users ADD COLUMN active boolean DEFAULT true;\nALTER TABLE users ADD COLUMN nickname text DEFAULT NULL;\n";
    const findings = await findingsFor(sql, { ...options, postgresVersion: 10 });
    expect(brief(findings)).toEqual(['volatile-default@1', 'volatile-default@2']);
    expect(findings[0]!.message).toContain('on PostgreSQL 10 (before 11, any non-NULL default does)');
  });

  it('accepts volatile defaults on a table created earlier in the same migration, and SET DEFAULT', async () => {
    const sql = 'CREATE TABLE sessions (id bigint PRIMARY KEY);\nALTER TABLE sessions ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();\nALTER TABLE users ALTER COLUMN email SET DEFAULT md5(random()::text);\nALTER TABLE users ADD COLUMN public_id uuid;\n';
    expect(await findingsFor(sql, { ...options, postgresVersion: 10 })).toEqual([]);
  });
});
