import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** `npm run demo`, the README's first command, as a new user runs it. */
describe('the demo', () => {
  it('catches a cascading drop before it runs, and backs up and restores the rows of a destructive one', () => {
    const root = join(import.meta.dirname, '..');
    const demo = spawnSync(process.execPath, ['scripts/demo.mjs'], { cwd: root, encoding: 'utf8', env: { ...process.env, DATABASE_URL: '', CAIRN_ENV: '' } });
    expect(demo.stderr).not.toContain('Demo step');
    expect(demo.status).toBe(0);
    const out = demo.stdout + demo.stderr;
    expect(out).toContain('rows: users 100, teams 5, memberships 100, posts 50, comments 300');
    expect(out).toContain('error cascade-on-drop DROP TABLE teams');
    expect(out).toContain('error[LINT]: the linter found 2 errors in the migrations to apply; nothing was applied');
    expect(out).toContain('notice: backed up comments (300 rows)');
    expect(out).toContain('rows: users 100, teams 5, memberships 100, posts 50, comments (no table)');
    expect(out).toContain('comments: 300 rows that were missing inserted');
    // After the refused drop and after the restore, every row is where it was.
    expect(out.split('rows: users 100, teams 5, memberships 100, posts 50, comments 300').length - 1).toBe(3);
    expect(out).toMatch(/verified|✓/i);
    expect(out).toContain('Done.');
  });
});
