import type { Command } from 'commander';
import { contextFor } from '../context.js';

export function registerCodegen(program: Command): void {
  program
    .command('codegen')
    .description('write TypeScript types of the schema after the migrations (Kysely-compatible)')
    .option('-o, --out <file>', 'where to write them (default: codegen.out in cairn.config.ts, else src/db/schema.ts)')
    .option('--check', 'write nothing; exit 1 when the file is missing or stale (for CI)')
    .option('--from-db', 'read the configured database instead of replaying the migrations in a scratch database')
    .addHelpText(
      'after',
      `
Replays every migration in a scratch database (as verify does; nothing is
connected to but a scratch) and writes one interface per table and view, and
\`export interface DB\` mapping names to them: the type \`new Kysely<DB>()\`
takes. Columns with a default, an identity or a rowid are Generated<T>;
computed ones GeneratedAlways<T>; nullable ones T | null; enums (PostgreSQL)
and CHECK (col IN (...)) (SQLite) unions of string literals. When the project
depends on kysely, ColumnType/Generated come from it; otherwise the file
defines the same shapes. The output is sorted and stable: rerunning it on the
same schema changes nothing. Type mapping per engine: docs/codegen.md.

Set codegen: { afterUp: true } in cairn.config.ts to rewrite it after every
successful up and down.

Examples:
  cairn codegen
  cairn codegen --out src/db/types.ts
  cairn codegen --check          # in CI: fails when someone forgot to run it
  cairn codegen --from-db --url postgres://app@localhost/app`,
    )
    .action(async (options: { out?: string; check?: boolean; fromDb?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      const result = await cairn.codegen({ out: options.out, check: options.check, fromDb: options.fromDb });
      if (options.check) process.exitCode = result.stale ? 1 : 0;
      if (out.json) return out.document({ file: result.file, stale: result.stale, written: result.written, asOf: result.asOf, tables: result.tables, views: result.views, kysely: result.kysely });
      const what = `${result.tables} table${result.tables === 1 ? '' : 's'}, ${result.views} view${result.views === 1 ? '' : 's'}, as of ${result.asOf ?? 'no migration'}`;
      if (options.check) out.line(result.stale ? `${result.file} is stale: run \`cairn codegen\` (${what})` : `${result.file} is up to date (${what})`);
      else out.line(result.written ? `Wrote ${result.file} (${what})` : `${result.file} is up to date (${what})`);
    });
}
