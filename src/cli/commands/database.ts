import type { Command } from 'commander';
import { contextFor } from '../context.js';
import { askToType } from '../environment.js';
import { usage } from '../output.js';

/** `cairn create` and `cairn drop`: the database itself, as dbmate users expect. */
export function registerCreate(program: Command): void {
  program
    .command('create')
    .description('create the database (on PostgreSQL, on its server) if it does not exist yet')
    .argument('[name]', '(not taken: a migration file is `cairn new <name>`)')
    .addHelpText(
      'after',
      `
Creates the database the URL names: on PostgreSQL with CREATE DATABASE from a
connection to the server's \`postgres\` database (the user needs CREATEDB); a
SQLite file or PGlite directory is made empty. Nothing happens when it exists.
D1 databases are created with \`wrangler d1 create\`.

Examples:
  cairn create --url postgres://postgres@127.0.0.1:5432/app_dev
  cairn create --env qa
  cairn up --create                create when missing, then apply (dbmate's up)`,
    )
    .action(async (name: string | undefined, _options: unknown, command: Command) => {
      if (name !== undefined) throw usage(`\`cairn create\` creates the database; it takes no name (got "${name}")`, `to write a new migration file, run \`cairn new ${name}\``);
      const { cairn, out } = contextFor(command);
      const config = await cairn.config();
      const result = await cairn.createDatabase();
      if (out.json) return out.document({ database: config.database.display, name: result.name, created: result.changed });
      out.line(result.changed ? `Created ${config.database.display}` : `${config.database.display} exists already; nothing to do`);
    });
}

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
