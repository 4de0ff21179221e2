import type { Command } from 'commander';
import { contextFor } from '../context.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create cairn.config.ts, migrations/ and .gitignore entries in the current directory')
    .action(async (_options: unknown, command: Command) => {
      const { cairn, out } = contextFor(command);
      const result = cairn.init();
      if (out.json) return out.document(result);
      for (const created of result.created) out.line(`  created ${created}`);
      for (const existing of result.existing) out.line(`  kept existing ${existing}`);
      out.line('Next: `cairn new create_users`, write the SQL, then `cairn up`.');
    });
}
