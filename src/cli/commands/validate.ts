import type { Command } from 'commander';
import { contextFor } from '../context.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check file names, duplicates and markers, and that applied files are unchanged and present')
    .addHelpText('after', '\nExits 0 when everything is in order, 3 when it is not. Good for CI:\n  cairn validate --json')
    .action(async (_options: unknown, command: Command) => {
      const { cairn, out } = contextFor(command);
      const report = await cairn.validate();
      process.exitCode = report.valid ? 0 : 3;
      if (out.json) return out.document(report);
      if (report.valid) return out.line('All migrations are valid: names, markers and checksums of applied files check out.');
      out.line(`${report.problems.length} problem${report.problems.length > 1 ? 's' : ''}:`);
      for (const p of report.problems) {
        out.line(`  ${p.file ? `${p.file}${p.line ? `:${p.line}` : ''}: ` : ''}${p.kind === 'file' ? '' : `[${p.kind}] `}${p.message}`);
        out.line(`    fix: ${p.fix}`);
      }
    });
}
