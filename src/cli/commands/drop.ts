import type { Command } from 'commander';
import { contextFor } from '../context.js';
import { askToType } from '../environment.js';

export function registerDrop(program: Command): void {
  program
    .command('drop')
    .description('drop the database and everything in it (asks first; --yes in scripts)')
    .option('--yes', 'drop without asking')
    .addHelpText(
      'after',
      `
Deletes the database the URL names, with every table and row: on PostgreSQL
DROP DATABASE … WITH (FORCE) from a connection to the \`postgres\` database;
a SQLite file with its -wal and -shm files; a PGlite directory. Backups in
.cairn/backups stay. On a terminal it asks you to type the database's name;
elsewhere it needs --yes. Nothing happens when it does not exist.

Examples:
  cairn drop --url postgres://postgres@127.0.0.1:5432/app_test --yes
  cairn drop && cairn up --create  a fresh development database`,
    )
    .action(async (options: { yes?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      const config = await cairn.config();
      const result = await cairn.dropDatabase({ yes: options.yes ?? false, confirm: askToType() });
      if (out.json) return out.document({ database: config.database.display, name: result.name, dropped: result.changed });
      out.line(result.changed ? `Dropped ${config.database.display}` : `${config.database.display} does not exist; nothing to do`);
    });
}
