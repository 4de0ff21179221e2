import type { Command } from 'commander';
import { contextFor } from '../context.js';

export function registerDump(program: Command): void {
  program
    .command('dump')
    .description('write the schema as SQL (schema.sql): no data, deterministic, for version control and `cairn verify`')
    .option('-o, --output <file>', 'where to write it, or - for stdout (default: `schema` in cairn.config.ts, else schema.sql)')
    .addHelpText(
      'after',
      `
Reads the database (it changes nothing) and writes SQL that recreates its
schema on an empty database: tables, indexes, views, triggers; on PostgreSQL
also schemas, extensions, types, sequences, functions and constraints. Cairn's
history table is left out. Objects are sorted, one statement each with a blank
line between, and nothing in the file depends on time or server version, so
the same schema always gives the same bytes and a review shows what changed.

The first line names the newest applied migration:
  -- cairn: schema as of 0008_add_orders
\`cairn verify\` checks that the migrations produce exactly this schema, and
\`cairn verify --from V --baseline schema.sql\` starts from it.

Set dumpAfterUp: true in cairn.config.ts to rewrite it after every up and down.

Examples:
  cairn dump
  cairn dump --output db/schema.sql
  cairn dump --output - | less
  cairn dump --url postgres://app@db.internal/app --output -`,
    )
    .action(async (options: { output?: string }, command: Command) => {
      const { cairn, out } = contextFor(command);
      const toStdout = options.output === '-';
      const result = await cairn.dump({ output: toStdout ? null : options.output });
      if (toStdout && !out.json) return out.write(result.sql);
      if (out.json) return out.document(toStdout ? result : { file: result.file, asOf: result.asOf });
      out.line(`Wrote ${result.file} (schema as of ${result.asOf ?? 'none: no migration applied'})`);
    });
}
