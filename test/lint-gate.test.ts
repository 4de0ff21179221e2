import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCairn } from '../src/index.js';
import { tempDir, writeMigrations } from './support/databases.js';

/**
 * The linter in front of `up`: what it says about files adopted from other
 * tools, about files already applied, and what it prints when it refuses.
 * Real SQLite files; the findings are what the user would read.
 */
const DBMATE_USERS = '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n-- migrate:down\nDROP TABLE users;\n';
const DBMATE_POSTS = '-- migrate:up\nCREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);\n-- migrate:down\nDROP TABLE posts;\n';

function project(files: Record<string, string>, config?: unknown) {
  const root = tempDir('cairn-lintgate-');
  const dir = writeMigrations(root, files);
  if (config) writeFileSync(join(root, 'cairn.config.json'), JSON.stringify(config));
  return { root, dir, cairn: createCairn({ url: `sqlite:${join(root, 'app.db')}`, dir, cwd: root, envVars: {} }) };
}

describe('lint before up', () => {
  it('says nothing about the header of files adopted from dbmate, and keeps their risk low', async () => {
    const { cairn } = project({ '0001_create_users.sql': DBMATE_USERS, '0002_create_posts.sql': DBMATE_POSTS });
    const report = await cairn.lint();
    expect(report.files.flatMap((f) => f.findings.map((x) => x.rule))).not.toContain('header-template');
    expect(report.files.map((f) => f.classification.risk)).toEqual(['low', 'low']);
    const plan = await cairn.up({ dryRun: true });
    expect(plan.lint.flatMap((f) => f.findings)).toEqual([]);
  });

  it("checks every file's header under lint.header: 'required'", async () => {
    const { cairn } = project({ '0001_create_users.sql': DBMATE_USERS }, { lint: { header: 'required' } });
    const report = await cairn.lint();
    expect(report.files[0]!.findings.map((f) => f.rule)).toEqual(['header-template', 'header-template', 'header-template']);
  });

  it('rejects an unknown lint.header value', async () => {
    const { cairn } = project({ '0001_create_users.sql': DBMATE_USERS }, { lint: { header: 'always' } });
    await expect(cairn.lint()).rejects.toMatchObject({ code: 'CONFIG', message: expect.stringContaining('lint.header must be "opt-in" or "required"') });
  });

  it('does not repeat the findings of files already applied', async () => {
    const noisy = '-- Migration: users\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n';
    const { root, cairn } = project({ '0001_create_users.sql': noisy });
    const first = await cairn.up();
    expect(first.lint.flatMap((f) => f.findings.map((x) => `${f.version} ${x.rule}`))).toContain('0001 header-template');
    writeMigrations(root, { '0002_create_posts.sql': DBMATE_POSTS });
    const second = await cairn.up();
    expect(second.filesExecuted).toBe(1);
    expect(second.lint.map((f) => f.version)).toEqual(['0002']);
    expect(second.lint.flatMap((f) => f.findings)).toEqual([]);
  });

  it('shows the unused allows of a refused file next to its errors', async () => {
    // The allow sits above the wrong statement: it suppresses nothing, and that is why up refuses.
    const misplaced = '-- migrate:up\n-- cairn:allow drop-column the column was never read\nCREATE INDEX posts_title ON posts (title);\nALTER TABLE posts DROP COLUMN title;\n-- migrate:down\nALTER TABLE posts ADD COLUMN title TEXT;\n';
    const { cairn } = project({ '0001_create_posts.sql': DBMATE_POSTS, '0002_drop_title.sql': misplaced });
    const refusal = await cairn.up().catch((error: unknown) => error);
    expect(refusal).toMatchObject({ code: 'LINT', details: { unusedAllows: [expect.objectContaining({ rule: 'unused-allow', line: 2 })] } });
    const message = (refusal as Error).message;
    expect(message).toContain('0002_drop_title.sql:4:');
    expect(message).toMatch(/0002_drop_title\.sql:2:1 warning unused-allow/);
  });
});
