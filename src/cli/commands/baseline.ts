import type { Command } from 'commander';
import { contextFor } from '../context.js';
import { confirmOptions, environmentFields, printEnvironmentBanner } from '../environment.js';

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
