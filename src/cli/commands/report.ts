import type { Command } from 'commander';
import { contextFor } from '../context.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('write one self-contained HTML page: what ran where, lint findings, verify, backups, the schema diagram')
    .option('-o, --out <file>', 'where to write it', 'cairn-report.html')
    .option('--no-schema', 'leave out the schema diagram (it replays every migration in a scratch database)')
    .option('--from-db', 'draw the diagram from the configured database instead of a scratch replay')
    .addHelpText(
      'after',
      `
Reads the history of every environment in cairn.config.ts (read-only: no lock,
nothing created), or of the configured database when there are none, and
shows them side by side: which migration ran where, when, by whom and how
long, and the gaps (applied on qa, pending on production; failed; changed
after it was applied). An environment that cannot be reached is a column that
says why; the report is still written. Each migration's classification, risk,
lint findings (rule ids link to docs/rules/), whether it has a down, and the
last \`cairn verify --record\` result; backups taken; expand–contract changes
waiting for their contract; and the schema diagram of \`cairn schema\`.

The file needs no network and no server: CSS, SVG and data are inline, and it
reads with JavaScript off (a few lines of script add filtering).

Examples:
  cairn report
  cairn report --out public/migrations.html
  cairn verify --record && cairn report
  cairn report --no-schema --json`,
    )
    .action(async (options: { out: string; schema: boolean; fromDb?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      const { report, file } = await cairn.report({ out: options.out, schema: options.schema, fromDb: options.fromDb });
      const unreachable = report.environments.filter((e) => e.error !== null);
      if (out.json) return out.document({ file, ...report, schema: 'error' in report.schema ? report.schema : { ...report.schema, svg: undefined } });
      out.line(`Wrote ${file} (${report.migrations.length} migration${report.migrations.length === 1 ? '' : 's'}, ${report.environments.length} environment${report.environments.length === 1 ? '' : 's'})`);
      for (const env of unreachable) out.warn(`warning: ${env.name} could not be read: ${env.error}`);
    });
}
