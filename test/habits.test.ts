import { describe, expect, it } from 'vitest';
import { runCli, tempDir, writeMigrations } from './support/databases.js';

/** What users of dbmate, Flyway and wrangler type out of habit, and what Cairn answers. */
const USERS = '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE users;\n';

describe('habits from other tools', () => {
  it("answers another tool's command name with Cairn's", () => {
    const root = tempDir();
    for (const [theirs, ours] of [['migrate', 'up'], ['rollback', 'down'], ['info', 'status']]) {
      const result = runCli([theirs!], { cwd: root });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(`unknown command '${theirs}' (did you mean \`cairn ${ours}\`?)`);
    }
    expect(runCli(['upp'], { cwd: root }).stderr).not.toContain('did you mean `cairn');
  });

  it('status --exit-code exits 1 while a migration is pending and 0 once none is', () => {
    const root = tempDir();
    writeMigrations(root, { '0001_users.sql': USERS });
    const pending = runCli(['status', '--exit-code'], { cwd: root });
    expect(pending.status).toBe(1);
    expect(pending.stdout).toContain('1 pending');
    expect(runCli(['status'], { cwd: root }).status).toBe(0);
    expect(runCli(['up'], { cwd: root }).status).toBe(0);
    expect(runCli(['status', '--exit-code'], { cwd: root }).status).toBe(0);
  });

  it('accepts --local with --d1 as wrangler does, and refuses it with --remote', () => {
    const root = tempDir();
    const both = runCli(['--d1', 'DB', '--local', '--remote', 'status'], { cwd: root });
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('--local and --remote contradict each other');
    const local = runCli(['--d1', 'DB', '--local', 'status'], { cwd: root });
    expect(local.stderr).not.toContain("unknown option '--local'");
  });
});
