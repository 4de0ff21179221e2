import type { Command } from 'commander';
import { contextFor } from '../context.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('write the next migration from the schema you want: the SQLite/D1 table rebuild, PostgreSQL\'s safe forms')
    .argument('<name>', 'the migration\'s name, verb_object: add_price_check')
    .requiredOption('--to <schema.sql>', 'the schema you want: CREATE statements (start from `cairn dump`)')
    .option('--from-db', 'diff against the live database instead of the migrations replayed in a scratch database')
    .option('--print', 'print the migration and write nothing')
    .option('--rename <from=to>', 'a rename, not a drop and an add: table.old=new (a column) or old=new (a table); repeatable', collect, [])
    .option('--fill <column=expr>', 'what fills a column: SQLite/D1, any column of a rebuilt table; PostgreSQL, a column that becomes NOT NULL (backfilled in batches first). table.column=expr or column=expr; repeatable', collect, [])
    .option('--allow-drop', 'drop the tables and columns the schema no longer has (their data is lost)')
    .option('--allow-rewrite', 'PostgreSQL: write a change that rewrites a table (a column type) instead of refusing it')
    .option('--no-keep', 'PostgreSQL: keep nothing on the server between runs (scratch databases made and dropped in this run; slower when run again)')
    .option('--reason <text>', 'with --allow-drop (or --allow-rewrite): why the data may go, or the rewrite is fine (written into the file as -- cairn:allow)')
    .addHelpText(
      'after',
      `
Compares the schema the migrations produce (all of them, applied and pending,
replayed in a scratch database, as \`cairn verify\` does) with --to, and writes
migrations/NNNN_<name>.sql with an up and a down section.

On SQLite and D1, a change ALTER TABLE cannot make (a type, NOT NULL, a
default, a CHECK, a foreign key) is the 12-step table rebuild, written so that
child tables keep their rows: on SQLite a -- cairn:no-transaction file that
switches foreign keys off around its own BEGIN/COMMIT; on D1 the children are
copied aside and put back in the same batch. Row counts are checked inside the
transaction: a mismatch fails the migration and changes nothing.

On PostgreSQL it writes the forms \`cairn lint\` accepts on a live table, in
consecutive files when one change needs several transactions: the changes
with SET LOCAL lock_timeout and foreign keys / checks NOT VALID; then indexes
(and the indexes behind new unique keys) built CONCURRENTLY in a
-- cairn:no-transaction file; then VALIDATE CONSTRAINT, SET NOT NULL through a
validated CHECK, and UNIQUE ... USING INDEX. Domains too (CHECKs NOT VALID,
then VALIDATE). Before writing, it runs the files up and down on a copy of the
current schema: the result must be the schema you asked for. On a server the
replayed migrations and schema.sql's reading are kept between runs, keyed by
their contents (docs/diff.md): running diff again does not fill them again.
A type change that rewrites the table is refused unless --allow-rewrite.

Nothing is guessed: a column that disappears while another appears is a drop
and an add unless --rename says otherwise, and drops are refused without
--allow-drop.

Examples:
  cairn dump && $EDITOR schema.sql
  cairn diff add_price_check --to schema.sql
  cairn diff add_price_check --to schema.sql --print
  cairn diff rename_user_name --to schema.sql --rename users.name=display_name
  cairn diff require_role --to schema.sql --fill "users.role=coalesce(role, 'member')"
  cairn diff drop_legacy --to schema.sql --allow-drop --reason "legacy table, unused since v2"
  cairn diff widen_amount --to schema.sql --allow-rewrite --reason "orders is small"   # PostgreSQL`,
    )
    .action(async (name: string, options: { to: string; fromDb?: boolean; print?: boolean; rename: string[]; fill: string[]; allowDrop?: boolean; allowRewrite?: boolean; reason?: string; keep: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      const result = await cairn.diff(name, { to: options.to, fromDb: options.fromDb, print: options.print, renames: options.rename, fill: options.fill, allowDrop: options.allowDrop, allowRewrite: options.allowRewrite, reason: options.reason, keep: options.keep });
      if (out.json) return out.document({ changed: result.changed, file: result.file, version: result.version, type: result.type, noTransaction: result.noTransaction, changes: result.changes, noDown: result.noDown, ...(result.files ? { files: result.files.map(({ text, ...f }) => (options.print ? { ...f, text } : f)) } : {}), ...(options.print ? { text: result.text } : {}) });
      if (!result.changed) return out.line(`No changes: the schema the migrations produce is already ${options.to}.`);
      if (options.print) return out.write(result.text);
      if (result.files) for (const file of result.files) out.line(`Wrote ${file.file}${file.noTransaction ? ' (-- cairn:no-transaction: CONCURRENTLY cannot run in a transaction)' : ''}`);
      else out.line(`Wrote ${result.file}${result.noTransaction ? ' (-- cairn:no-transaction: it runs its own transaction with foreign keys off)' : ''}`);
      for (const change of result.changes) out.line(`  ${change.kind} ${change.object}`);
      if (result.noDown) out.line(`  no down generated: ${result.noDown}`);
      out.line('Next: review it, then `cairn lint` and `cairn verify`.');
    });
}
