import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { indexNotConcurrent } from './index-not-concurrent.js';

const options = { dialect: 'postgres' as const, previous: 'CREATE TABLE users (id bigint PRIMARY KEY, email text);\n', rules: [indexNotConcurrent] };

describe('index-not-concurrent', () => {
  it('flags CREATE INDEX, DROP INDEX and REINDEX on existing tables', async () => {
    const sql = 'CREATE INDEX users_email ON users (email);\nDROP INDEX users_email;\nREINDEX INDEX users_pkey;\n';
    expect(brief(await findingsFor(sql, options))).toEqual(['index-not-concurrent@1', 'index-not-concurrent@2', 'index-not-concurrent@3']);
  });

  it('accepts the CONCURRENTLY forms', async () => {
    const sql = '-- cairn:no-transaction\nCREATE INDEX CONCURRENTLY users_email ON users (email);\nDROP INDEX CONCURRENTLY users_email;\nREINDEX (CONCURRENTLY) INDEX users_pkey;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('accepts a plain index on a table created earlier in the same migration', async () => {
    const sql = 'CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint);\nCREATE INDEX posts_user ON posts (user_id);\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('points at the statement in a file with markers', async () => {
    const findings = await findingsFor('-- Migration: x\n-- migrate:up\n\nCREATE UNIQUE INDEX users_email ON users (email);\n-- migrate:down\nDROP INDEX users_email;\n', options);
    expect(findings).toEqual([expect.objectContaining({ rule: 'index-not-concurrent', line: 4, column: 1, source: 'CREATE UNIQUE INDEX users_email ON users (email);' })]);
  });
});
