import { cairnVersion } from '../version.js';
import type { Command } from 'commander';
import { formatGithub, formatSarif, formatText } from '../../lint/index.js';
import { rules } from '../../lint/registry.js';
import { contextFor } from '../context.js';
import { usage } from '../output.js';

const FORMATS = ['text', 'json', 'github', 'sarif'] as const;

export function registerLint(program: Command): void {
  program
    .command('lint')
    .description('check migrations for changes that lose data, break running code or lock production tables')
    .argument('[files...]', 'migration files to report on (default: all in the migrations directory)')
    .option('--pending', 'only migrations not yet applied to the database')
    .option('--format <format>', `${FORMATS.join(' | ')} (default text; --json means json)`)
    .addHelpText(
      'after',
      `
Each finding has a rule id, the file, line and column, why it hurts and the
safe alternative. Earlier migrations are replayed into a model of the schema,
so "CREATE INDEX on a table created in this same migration" is not flagged.
\`cairn up\` runs the same checks on what it is about to apply.

Silence a finding where the change is intended, with a reason:
  -- cairn:allow drop-column no code reads users.legacy since release 41
on the line before the statement, or in the header for the whole file.

Exit code 1 when an error-level finding remains.

Examples:
  cairn lint
  cairn lint migrations/0007_add_index.sql
  cairn lint --pending --format github     annotations in a GitHub Actions job
  cairn lint --format sarif > cairn.sarif  for code scanning`,
    )
    .action(async (files: string[], options: { pending?: boolean; format?: string }, command: Command) => {
      const { cairn, out } = contextFor(command);
      const format = options.format ?? (out.json ? 'json' : 'text');
      if (!(FORMATS as readonly string[]).includes(format)) throw usage(`--format must be one of ${FORMATS.join(', ')}, got "${format}"`);
      const report = await cairn.lint({ files, pending: options.pending });
      process.exitCode = report.errors > 0 ? 1 : 0;
      if (format === 'json') return out.document(report);
      if (format === 'github') return report.files.some((f) => f.findings.length > 0) ? out.line(formatGithub(report)) : undefined;
      if (format === 'sarif') return out.line(formatSarif(report, rules, cairnVersion()));
      out.line(formatText(report));
    });
}
