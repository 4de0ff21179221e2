import type { Command } from 'commander';
import { contextFor } from '../context.js';
import { confirmOptions, environmentFields, printEnvironmentBanner } from '../environment.js';

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

export function registerBaseline(program: Command): void {
  program
    .command('baseline')
    .description('mark an existing database as migrated up to a version, without running anything')
    .requiredOption('--to <version>', 'the newest migration the database already reflects')
    .option('--yes', 'write to a protected environment without asking')
    .addHelpText('after', '\nFor adopting a database that was set up before Cairn:\n  cairn baseline --to 0003     # 0001..0003 recorded as applied; 0004+ stay pending')
    .action(async (options: { to: string; yes?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      const config = await cairn.config();
      printEnvironmentBanner(config, out);
      const result = await cairn.baseline({ to: options.to, ...confirmOptions(config, options.yes) });
      if (out.json) return out.document({ ...environmentFields(config), ...result });
      if (result.marked.length === 0) return out.line(`Nothing to mark: every migration up to ${options.to} is already recorded.`);
      for (const m of result.marked) out.line(`  marked ${m.version}_${m.name} as applied (not run)`);
      out.line(`Baselined ${result.marked.length} migration${result.marked.length > 1 ? 's' : ''}.`);
    });
}

export function registerRepair(program: Command): void {
  program
    .command('repair')
    .description('after review: accept edited checksums, forget deleted files, clear failed records')
    .option('--dry-run', 'show what would be repaired; change nothing')
    .option('--yes', 'write to a protected environment without asking')
    .addHelpText(
      'after',
      `
Run it only after a human has looked at what \`cairn validate\` reports:
  changed  the file's new checksum is accepted (the edit is not re-run)
  missing  the record of the deleted file is forgotten (its changes stay in the database)
  failed   the failed record is cleared, so \`cairn up\` runs the migration again`,
    )
    .action(async (options: { dryRun?: boolean; yes?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      const config = await cairn.config();
      if (!options.dryRun) printEnvironmentBanner(config, out);
      const result = await cairn.repair({ dryRun: options.dryRun, ...confirmOptions(config, options.yes) });
      if (out.json) return out.document({ ...environmentFields(config), ...result });
      const verb = result.dryRun ? 'would ' : '';
      for (const a of result.accepted) out.line(`  ${verb}accept ${a.version}_${a.name}: checksum ${a.from.slice(0, 12)}… → ${a.to.slice(0, 12)}…`);
      for (const f of result.forgotten) out.line(`  ${verb}forget ${f.version}_${f.name} (file deleted; its changes stay in the database)`);
      for (const c of result.cleared) out.line(`  ${verb}clear failed ${c.version}_${c.name}${c.error ? `: ${c.error}` : ''}`);
      const total = result.accepted.length + result.forgotten.length + result.cleared.length;
      out.line(total === 0 ? 'Nothing to repair.' : result.dryRun ? `Dry run: ${total} record(s) would change; nothing was changed.` : `Repaired ${total} record(s).`);
    });
}
