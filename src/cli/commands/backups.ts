import type { Command } from 'commander';
import { formatBytes } from '../../safety/backup.js';
import { contextFor } from '../context.js';
import { askToType, confirmOptions } from '../environment.js';

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

export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description('put the rows saved before a migration back')
    .argument('<version>', 'the migration whose backup to restore (its newest backup)')
    .option('--into-side-table', 'put every table\'s rows into <table>_restored_<version>, never into the table itself')
    .option('--overwrite', 'in rows that are there, replace every value that differs from the saved one (default: fill only what is NULL now)')
    .option('--bookmark', 'remote D1: restore the whole database to the Time Travel bookmark taken before the run that applied <version> (loses everything written since; asks first)')
    .option('--yes', 'restore into a protected environment (or to a bookmark) without asking')
    .addHelpText(
      'after',
      `
Per table, in one transaction under the migration lock:
  - gone:                         recreated from the saved definition, with all saved rows
  - same columns, with a key:     the saved rows that are missing are inserted; in rows
                                  still there, columns that are NULL now get their saved
                                  value (a column dropped, then added back by a down);
                                  other values are left as they are (--overwrite: replaced)
  - columns changed, or no key:   all saved rows go into <table>_restored_<version>,
                                  with how to copy them back
The history is not changed: restore puts data back, it does not undo a migration
(\`cairn down\` does that).

Examples:
  cairn restore 0007
  cairn restore 0007 --overwrite
  cairn restore 0007 --into-side-table
  cairn restore 0007 --json

Remote D1 (--bookmark): \`cairn up\` records D1's Time Travel bookmark of the
moment before each run with its migrations (\`cairn status --json\` shows it).
\`cairn restore 0007 --bookmark\` puts the whole database back to that moment,
as \`npx wrangler d1 time-travel restore <database> --bookmark=<bookmark>\` does,
after asking (--yes skips), and prints the bookmark that undoes it.`,
    )
    .action(async (version: string, options: { intoSideTable?: boolean; overwrite?: boolean; yes?: boolean; bookmark?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      const config = await cairn.config();
      if (options.bookmark) {
        const restored = await cairn.restoreBookmark(version, { yes: options.yes ?? false, confirm: askToType() });
        if (out.json) return out.document(restored);
        out.line(`Restored ${config.database.display} to D1 Time Travel bookmark ${restored.bookmark} (before ${restored.version}_${restored.name} was applied, ${restored.appliedAt}); undone: ${restored.lost.join(', ')}`);
        out.line(`To undo this restore: npx wrangler d1 time-travel restore <database> --bookmark=${restored.undo}`);
        return;
      }
      const result = await cairn.restore(version, { intoSideTable: options.intoSideTable, overwrite: options.overwrite, ...confirmOptions(config, options.yes) });
      if (out.json) return out.document(result);
      out.line(`Restored ${result.path} (${result.version}_${result.name}, made ${result.createdAt}) into ${config.database.display}`);
      for (const table of result.tables) out.line(`  ${table.message.replace(/\n/g, '\n    ')}`);
    });
}

function afterText(after: number | null | undefined): string {
  if (after === undefined) return ' (the migration did not complete)';
  if (after === null) return ', table gone after the migration';
  return `, ${after} after the migration`;
}
