import type { Command } from 'commander';
import { formatBytes } from '../../safety/backup.js';
import { contextFor } from '../context.js';

export function registerBackups(program: Command): void {
  program
    .command('backups')
    .description('list the backups made before destructive migrations (.cairn/backups)')
    .addHelpText(
      'after',
      `
\`cairn up\` saves the rows a migration can destroy (dropped tables and columns,
rebuilt tables, deleted or updated rows) before it runs it. Each backup shows
its migration, when it was made, the tables with their row counts before and
after the migration, its size and its directory. Reads files only.

Examples:
  cairn backups
  cairn backups --json`,
    )
    .action(async (_options: unknown, command: Command) => {
      const { cairn, out } = contextFor(command);
      const backups = await cairn.backups();
      if (out.json) return out.document({ backups });
      if (backups.length === 0) return out.line('No backups yet: `cairn up` makes one before each migration that can destroy rows.');
      for (const backup of backups) {
        out.line(`${backup.version}_${backup.name}  ${backup.createdAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}  ${formatBytes(backup.bytes)}  ${backup.path}`);
        for (const table of backup.tables) out.line(`    ${table.table}: ${table.rows} row${table.rows === 1 ? '' : 's'} saved${afterText(table.after)}`);
      }
      out.line(`\n${backups.length} backup${backups.length === 1 ? '' : 's'}; \`cairn restore <version>\` puts one back.`);
    });
}

function afterText(after: number | null | undefined): string {
  if (after === undefined) return ' (the migration did not complete)';
  if (after === null) return ', table gone after the migration';
  return `, ${after} after the migration`;
}
