import type { Command } from 'commander';
import { contextFor } from '../context.js';
import { confirmOptions, environmentFields, printEnvironmentBanner } from '../environment.js';

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
