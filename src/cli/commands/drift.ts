import type { Command } from 'commander';
import { contextFor } from '../context.js';

export function registerDrift(program: Command): void {
  program
    .command('drift')
    .description('compare the live schema with what its applied migrations produce; list what was changed by hand')
    .option('--scratch-url <url>', 'PostgreSQL server to replay on (default: the configured one)')
    .addHelpText(
      'after',
      `
The applied migrations are replayed in a scratch database (created and
dropped by Cairn), and its schema is compared with the live one: a hand-made
index, a column dropped by hand, a changed default each show as one line.
  + in the database, not from the migrations
  - from the migrations, missing in the database
  ~ different (migrations → database)

Exit code 3 when the schema has drifted.

Examples:
  cairn drift
  cairn drift --env production --json`,
    )
    .action(async (options: { scratchUrl?: string }, command: Command) => {
      const { cairn, out } = contextFor(command);
      const report = await cairn.drift({ scratchUrl: options.scratchUrl });
      process.exitCode = report.drifted ? 3 : 0;
      if (out.json) return out.document(report);
      if (!report.drifted) return out.line(`No drift: ${report.database} has exactly the schema its ${report.replayed} applied migrations produce.`);
      out.line(`${report.database} has drifted from its ${report.replayed} applied migrations (${report.differences.length} difference${report.differences.length > 1 ? 's' : ''}):`);
      for (const d of report.differences) {
        const line =
          d.kind === 'added' ? `  + ${d.key}: ${d.after} (in the database only)` : d.kind === 'removed' ? `  - ${d.key}: ${d.before} (missing from the database)` : `  ~ ${d.key}: ${d.before} → ${d.after}`;
        out.line(line);
      }
      out.line('\nFix it with a migration that makes the change on purpose, or undo the hand-made change.');
    });
}
