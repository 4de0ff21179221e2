import type { Command } from 'commander';
import type { StatusEntry } from '../../core/status.js';
import { contextFor } from '../context.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('list every migration: applied, pending, changed (edited after apply), missing (file deleted) or failed')
    .addHelpText(
      'after',
      `
Reads only; never creates the database or the history table.

Examples:
  cairn status
  cairn status --json | jq '.migrations[] | select(.state == "pending")'
  cairn status --exit-code || cairn up    # exit 1 while anything is pending (as dbmate's)`,
    )
    .option('--exit-code', 'exit 1 when a migration is pending (for scripts: "is there anything to apply?")')
    .action(async (options: { exitCode?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      const report = await cairn.status();
      if (options.exitCode && report.migrations.some((m) => m.state === 'pending')) process.exitCode = 1;
      if (out.json) return out.document(report);
      const history = report.wranglerTable ? `${report.table}, kept in step with wrangler's ${report.wranglerTable}` : report.table;
      out.line(`Database: ${report.target}${report.wranglerBinding ? `  from ${report.wranglerBinding}` : ''}  (history in ${history})`);
      if (report.migrations.length === 0) return out.line('No migrations yet: create one with `cairn new <name>`.');
      const header = ['VERSION', 'NAME', 'STATE', 'CHANGE', 'APPLIED AT', ''];
      const rows = report.migrations.map((m) => [m.version, m.name, label(m), change(m), m.appliedAt ? m.appliedAt.replace('T', ' ').slice(0, 19) : '', note(m)]);
      const widths = header.map((title, i) => Math.max(title.length, ...rows.map((r) => r[i]!.length)));
      const format = (cells: string[]) => cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd();
      // One write for the table: a line per write is a system call per migration.
      out.line([header, ...rows].map(format).join('\n'));
      const counts = new Map<string, number>();
      for (const m of report.migrations) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
      out.line(`\n${[...counts].map(([state, n]) => `${n} ${state}`).join(', ')}`);
      if (report.changes.length > 0) out.line(`\nChanges in flight:\n${report.changes.map((c) => `  ${c.summary}`).join('\n')}`);
      if (report.migrations.some((m) => ['changed', 'missing', 'failed'].includes(m.state))) {
        out.line('`cairn up` and `cairn down` refuse to run until this is resolved: `cairn validate` explains each problem.');
      }
    });
}

/** "destructive/high", marked when the header declares something milder. */
function change(m: StatusEntry): string {
  if (!m.classification) return '';
  const mismatch = m.declaredType && m.declaredType !== m.classification.type ? ` (says ${m.declaredType})` : '';
  return `${m.classification.type}/${m.classification.risk}${mismatch}`;
}

function label(m: StatusEntry): string {
  return m.state === 'pending' && m.outOfOrder ? 'pending*' : m.state;
}

function note(m: StatusEntry): string {
  if (m.state === 'running') return `batches in progress at line ${m.progress?.line ?? '?'}: ${m.progress?.rows ?? 0}${m.progress?.total !== null && m.progress?.total !== undefined ? `/${m.progress.total} rows (${m.progress.percent ?? 0}%)` : ' rows'}; \`cairn up\` resumes it`;
  if (m.state === 'failed') return m.error ?? '';
  if (m.state === 'changed') return 'file edited after it was applied';
  if (m.state === 'missing') return 'file deleted';
  if (m.outOfOrder) return '* numbered below the newest applied migration';
  if (m.content === 'unfilled') return 'no SQL under -- migrate:up yet: `cairn up` refuses it until it has some';
  if (m.content === 'no-op') return 'no statements, only comments: a no-op, recorded when applied';
  if (m.method === 'baseline') return 'baselined (not run by cairn)';
  if (m.method === 'adopted') return 'applied by wrangler';
  return m.transaction === false ? 'no transaction' : '';
}
