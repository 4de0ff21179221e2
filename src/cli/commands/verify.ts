import type { Command } from 'commander';
import type { VerifiedMigration } from '../../core/verify.js';
import { formatDifference } from '../../safety/snapshot.js';
import { contextFor } from '../context.js';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('replay every migration in a scratch database: up, down, up; prove each down undoes its up')
    .option('--scratch-url <url>', 'PostgreSQL server to create the scratch database on (default: the configured one)')
    .addHelpText(
      'after',
      `
Cairn creates the scratch database and drops it afterwards: a temporary SQLite
file, or a temporary database on the PostgreSQL server (it needs CREATE
DATABASE). The configured database itself is never touched.

For each migration: up applies on top of the ones before; with a down, the
schema after up and down must equal the schema before up, and up must apply
again with the same result. Files marked -- cairn:idempotent are applied twice.
Migrations without a down are listed: not needed (purely additive) or missing.

Exit code 1 when a migration fails verification.

Examples:
  cairn verify
  cairn verify --json
  cairn verify --url postgres://app@db/app --scratch-url postgres://ci@localhost/postgres`,
    )
    .action(async (options: { scratchUrl?: string }, command: Command) => {
      const { cairn, out } = contextFor(command);
      const report = await cairn.verify({ scratchUrl: options.scratchUrl });
      process.exitCode = report.ok ? 0 : 1;
      if (out.json) return out.document(report);
      out.line(`Verified in ${report.scratch}, now dropped`);
      const width = Math.max(0, ...report.migrations.map((m) => `${m.version}_${m.name}`.length));
      for (const migration of report.migrations) {
        out.line(`  ${mark(migration)} ${`${migration.version}_${migration.name}`.padEnd(width)}  ${migration.steps.join(', ')}${downNote(migration)}`);
        for (const problem of migration.problems) {
          out.line(`      ${problem.message}${problem.differences.length > 0 ? ':' : ''}`);
          for (const difference of problem.differences) out.line(`        ${formatDifference(difference)}`);
        }
      }
      if (report.notReached.length > 0) out.line(`  not replayed after that failure: ${report.notReached.join(', ')}`);
      const failed = report.migrations.filter((m) => !m.ok).length;
      const missing = report.migrations.filter((m) => m.down === 'missing').length;
      const notNeeded = report.migrations.filter((m) => m.down === 'not-needed').length;
      const withoutDown = missing + notNeeded > 0 ? ` (${missing + notNeeded} without down: ${notNeeded} not needed, ${missing} missing)` : '';
      out.line(failed > 0 ? `\n${failed} of ${report.migrations.length + report.notReached.length} migrations failed verification${withoutDown}.` : `\nAll ${report.migrations.length} migrations verified${withoutDown}.`);
    });
}

function mark(migration: VerifiedMigration): string {
  if (!migration.ok) return '✗';
  return migration.down === 'missing' ? '!' : '✓';
}

function downNote(migration: VerifiedMigration): string {
  if (migration.down === 'not-needed') return ' (no down; not needed: purely additive)';
  if (migration.down === 'missing') return ' (no down; missing: it is not purely additive)';
  return '';
}
