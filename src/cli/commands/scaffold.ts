import type { Command } from 'commander';
import type { MigrationType } from '../../core/scaffold.js';
import { contextFor } from '../context.js';
import { usage } from '../output.js';

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

const TYPES: readonly MigrationType[] = ['additive', 'destructive', 'transformative'];

export function registerNew(program: Command): void {
  program
    .command('new')
    .description('create the next-numbered migration file with its header and up/down markers')
    .argument('<name>', 'what it does, verb_object: add_phone_to_users')
    .option('--type <type>', `${TYPES.join(' | ')}`, 'additive')
    .addHelpText('after', '\nExample:\n  cairn new add_phone_to_users     # migrations/0002_add_phone_to_users.sql')
    .action(async (name: string, options: { type: string }, command: Command) => {
      if (!TYPES.includes(options.type as MigrationType)) throw usage(`--type must be one of ${TYPES.join(', ')}, got "${options.type}"`);
      const { cairn, out } = contextFor(command);
      const result = await cairn.create(name, options.type as MigrationType);
      if (out.json) return out.document(result);
      out.line(`Created ${result.file}`);
    });
}
