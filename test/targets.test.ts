import { describe, expect, it } from 'vitest';
import { runCli, tempDir, writeMigrations } from './support/databases.js';

/** `up --to` says what it leaves pending; `down --dry-run` shows the whole plan, the missing downs marked. */
const table = (name: string, down: boolean) => `-- migrate:up\nCREATE TABLE ${name} (id INTEGER PRIMARY KEY);\n${down ? `-- migrate:down\nDROP TABLE ${name};\n` : ''}`;

function project(): (...args: string[]) => ReturnType<typeof runCli> {
  const root = tempDir();
  writeMigrations(root, {
    '0001_t1.sql': table('t1', false),
    '0002_t2.sql': table('t2', true),
    '0003_t3.sql': table('t3', false),
    '0004_t4.sql': table('t4', true),
    '0005_t5.sql': table('t5', true),
    '0006_t6.sql': table('t6', true),
  });
  return (...args: string[]) => runCli(['--url', 'sqlite:app.db', ...args], { cwd: root });
}

describe('up --to and down --dry-run say where they leave the database', () => {
  it('up --to 0004 says the target is reached and what remains pending, as text and --json', () => {
    const cli = project();
    const first = cli('up', '--to', '0004');
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('Applied 4 migrations');
    expect(first.stdout).toContain('Still pending after 0004: 0005_t5, 0006_t6 (2 migrations; `cairn up` applies them).');

    const again = cli('up', '--to', '0004');
    expect(again.status).toBe(0);
    expect(again.stdout).not.toContain('up to date');
    expect(again.stdout).toContain('Nothing to apply: the database has reached 0004 (--to). Still pending after 0004: 0005_t5, 0006_t6');
    expect(cli('up', '--to', '0004', '--dry-run').stdout).toContain('Nothing to apply: the database has reached 0004 (--to). Still pending after 0004: 0005_t5, 0006_t6');
    const json = JSON.parse(cli('up', '--to', '0004', '--json').stdout) as { filesExecuted: number; to: string; remaining: { version: string; name: string }[] };
    expect(json).toMatchObject({ filesExecuted: 0, to: '0004', remaining: [{ version: '0005', name: 't5' }, { version: '0006', name: 't6' }] });

    expect(cli('up').stdout).toContain('Applied 2 migrations');
    expect(cli('up', '--to', '0004').stdout).toContain('Nothing to apply: the database is up to date.');
  });

  it('down --to 0 --dry-run shows the plan with the missing downs marked; a real down still refuses', () => {
    const cli = project();
    expect(cli('up', '--to', '0004').status).toBe(0);
    const plan = cli('down', '--to', '0', '--dry-run');
    expect(plan.status).toBe(0);
    expect(plan.stdout).toMatch(/down 0004_t4 {2}\(migrations\/0004_t4.sql\)\n {2}-- line \d+\n {2}DROP TABLE t4;/);
    expect(plan.stdout).toContain('down 0003_t3  (migrations/0003_t3.sql)\n  -- NO DOWN: this file has no down section; a real `cairn down` refuses it');
    expect(plan.stdout).toContain('down 0001_t1  (migrations/0001_t1.sql)\n  -- NO DOWN');
    expect(plan.stdout).toContain('Dry run: 4 migrations to roll back, 2 of them without a down; nothing was changed.');
    expect(plan.stderr).toContain('`cairn down` will refuse this plan (NO_DOWN): 0003_t3, 0001_t1 have no down section');
    const json = JSON.parse(cli('down', '--to', '0', '--dry-run', '--json').stdout) as { plan: { version: string; missingDown?: boolean }[] };
    expect(json.plan.map((step) => [step.version, step.missingDown ?? false])).toEqual([
      ['0004', false],
      ['0003', true],
      ['0002', false],
      ['0001', true],
    ]);

    const real = cli('down', '--to', '0');
    expect(real.status).toBe(2);
    expect(real.stderr).toContain('error[NO_DOWN]');
    const status = JSON.parse(cli('status', '--json').stdout) as { migrations: { version: string; state: string }[] };
    expect(status.migrations.filter((m) => m.state === 'applied').map((m) => m.version)).toEqual(['0001', '0002', '0003', '0004']);
  });
});
