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
      // Bookmarks live in the history: a database that cannot be read leaves them out, said once.
      const bookmarks = await cairn.bookmarks().catch((error: unknown) => {
        out.warn(`note: Time Travel bookmarks not listed, the history could not be read: ${error instanceof Error ? error.message : String(error)}`);
        return [];
      });
      if (out.json) return out.document({ backups, bookmarks });
      if (backups.length === 0 && bookmarks.length === 0) return out.line('No backups yet: `cairn up` makes one before each migration that can destroy rows.');
      for (const backup of backups) {
        out.line(`${backup.version}_${backup.name}  ${backup.createdAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}  ${formatBytes(backup.bytes)}  ${backup.path}`);
        for (const table of backup.tables) out.line(`    ${table.table}: ${table.rows} row${table.rows === 1 ? '' : 's'} saved${afterText(table.after)}`);
      }
      for (const mark of bookmarks) out.line(`D1 Time Travel bookmark ${mark.bookmark}  before ${mark.appliedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}  ${mark.migrations.join(', ')}`);
      const parts = [backups.length > 0 ? `${backups.length} backup${backups.length === 1 ? '' : 's'}; \`cairn restore <version>\` puts one back` : '', bookmarks.length > 0 ? `${bookmarks.length} bookmark${bookmarks.length === 1 ? '' : 's'}; \`cairn restore <version> --bookmark\` returns the whole database to one` : ''];
      out.line(`\n${parts.filter(Boolean).join('. ')}.`);
    });
}

function afterText(after: number | null | undefined): string {
  if (after === undefined) return ' (the migration did not complete)';
  if (after === null) return ', table gone after the migration';
  return `, ${after} after the migration`;
}
