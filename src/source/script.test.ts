import { describe, expect, it } from 'vitest';
import type { SourceProblem } from './migration.js';
import { readScriptMigration } from './script.js';

/** What the runner learns from a TypeScript migration's text before importing it. */
function read(text: string) {
  const problems: SourceProblem[] = [];
  const migration = readScriptMigration(text, 'migrations/0003_x.ts', '/p/migrations/0003_x.ts', '0003', 'x', problems);
  return { migration, problems };
}

describe('TypeScript migration text', () => {
  it('runs as one transaction without ctx.batch; a .batch( in a comment or a string does not count', () => {
    const { migration } = read(`// ctx.batch('users', {}, f) would batch\n/* ctx.batch( */\nexport async function up(ctx) {\n  await ctx.sql\`SELECT '.batch('\`;\n}\n`);
    expect(migration!.script).toMatchObject({ transaction: true, batchLines: [] });
    expect(migration!.transaction).toBe(true);
    expect(migration!.down).toBeNull();
  });

  it('a ctx.batch call makes it run batch by batch, with the line of each call', () => {
    const { migration } = read(`export async function up(ctx) {\n  await ctx.sql\`SELECT 1\`;\n  await ctx.batch<{ id: number }>('a', {}, async () => {});\n  await ctx.batch('b', {}, async () => {});\n}\nexport const down = async () => {};\n`);
    expect(migration!.script).toMatchObject({ transaction: false, batchLines: [3, 4] });
    expect(migration!.down).not.toBeNull();
  });

  it('// cairn:no-transaction runs it statement by statement; the checksum follows the text, not its line endings', () => {
    const lf = read(`// cairn:no-transaction\nexport async function up(ctx) {}\n`).migration!;
    const crlf = read(`// cairn:no-transaction\r\nexport async function up(ctx) {}\r\n`).migration!;
    expect(lf.transaction).toBe(false);
    expect(lf.checksum).toBe(crlf.checksum);
    expect(read(`export async function up(ctx) {}\n// changed\n`).migration!.checksum).not.toBe(lf.checksum);
  });

  it('a file without an up export is a problem naming the file and the fix', () => {
    const { migration, problems } = read(`// export async function up(ctx) {}\nexport const nothing = 1;\n`);
    expect(migration).toBeNull();
    expect(problems).toEqual([{ file: 'migrations/0003_x.ts', message: 'a TypeScript migration without an `up` export', fix: expect.stringContaining('cairn new --ts') }]);
  });
});
