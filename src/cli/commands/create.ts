import type { Command } from 'commander';
import { contextFor } from '../context.js';
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
