import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { changeColumnType } from './change-column-type.js';

const previous = `CREATE TABLE accounts (
  id integer PRIMARY KEY,
  handle varchar(20),
  bio varchar,
  notes text,
  balance numeric(10,2),
  ratio numeric,
  last_ip cidr,
  flags bit varying(8),
  country char(2),
  seen_at timestamp(3),
  tags varchar(20)[]
);
`;
const options = { dialect: 'postgres' as const, previous, rules: [changeColumnType] };

describe('change-column-type', () => {
  it('flags a type change that rewrites the table, naming old and new types, at the column', async () => {
    const sql = '-- migrate:up\nALTER TABLE accounts\n  ALTER COLUMN id TYPE bigint;\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['change-column-type@3']);
    expect(findings[0]).toMatchObject({
      severity: 'error',
      column: 3,
      message: expect.stringContaining('"accounts"."id" from int4 to int8 rewrites "accounts"'),
      help: expect.stringContaining('ADD COLUMN id_new int8'),
    });
    expect(findings[0]!.message).toContain('ACCESS EXCLUSIVE');
  });

  it('flags narrowing, changes of scale, and changes between unrelated types', async () => {
    const sql = `ALTER TABLE accounts ALTER COLUMN handle TYPE varchar(10);
ALTER TABLE accounts ALTER COLUMN notes TYPE varchar(500);
ALTER TABLE accounts ALTER COLUMN balance TYPE numeric(12,4);
ALTER TABLE accounts ALTER COLUMN ratio TYPE numeric(8,3);
ALTER TABLE accounts ALTER COLUMN country TYPE text;
ALTER TABLE accounts ALTER COLUMN last_ip SET DATA TYPE text;
ALTER TABLE accounts ALTER COLUMN seen_at TYPE timestamp(0);
ALTER TABLE accounts ALTER COLUMN tags TYPE varchar(40)[];
`;
    expect(brief(await findingsFor(sql, options))).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((line) => `change-column-type@${line}`));
  });

  it('flags a USING expression that changes the values', async () => {
    const findings = await findingsFor("ALTER TABLE accounts ALTER COLUMN handle TYPE text USING lower(handle);\n", options);
    expect(brief(findings)).toEqual(['change-column-type@1']);
    expect(findings[0]!.message).toContain('with a USING expression');
  });

  it('flags a column whose current type is unknown, and says so', async () => {
    const findings = await findingsFor('ALTER TABLE invoices ALTER COLUMN amount TYPE numeric(12,2);\n', options);
    expect(brief(findings)).toEqual(['change-column-type@1']);
    expect(findings[0]!.message).toContain('"invoices"."amount" to numeric(12,2): its current type is unknown');
  });

  it('accepts the changes PostgreSQL makes without a rewrite', async () => {
    const sql = `ALTER TABLE accounts ALTER COLUMN handle TYPE varchar(40);
ALTER TABLE accounts ALTER COLUMN handle TYPE character varying;
ALTER TABLE accounts ALTER COLUMN handle TYPE text USING handle::text;
ALTER TABLE accounts ALTER COLUMN bio TYPE text;
ALTER TABLE accounts ALTER COLUMN notes TYPE varchar;
ALTER TABLE accounts ALTER COLUMN balance TYPE numeric(14,2);
ALTER TABLE accounts ALTER COLUMN balance TYPE decimal;
ALTER TABLE accounts ALTER COLUMN last_ip TYPE inet;
ALTER TABLE accounts ALTER COLUMN flags TYPE bit varying(16);
ALTER TABLE accounts ALTER COLUMN seen_at TYPE timestamp(6);
ALTER TABLE accounts ALTER COLUMN id TYPE int;
`;
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('accepts any type change on a table created earlier in the same migration', async () => {
    const sql = 'CREATE TABLE drafts (id integer PRIMARY KEY, title varchar(20));\nALTER TABLE drafts ALTER COLUMN id TYPE bigint, ALTER COLUMN title TYPE varchar(10);\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });
});
