import type { Command } from 'commander';
import { contextFor } from '../context.js';
import { usage } from '../output.js';
import type { PlanResult } from '../../evolve/plan/index.js';

function printPlanned(out: { line(text: string): void }, result: PlanResult): void {
  out.line(`Planned ${result.change}:`);
  for (const file of result.files) out.line(`  ${file.phase.padEnd(8)}  ${file.file}`);
  for (const note of result.notes) out.line(`note: ${note}`);
}

export function registerPlan(program: Command): void {
  const plan = program
    .command('plan')
    .description('write the expand, backfill and contract migrations of a zero-downtime change')
    .addHelpText(
      'after',
      `
Reads the table from the database, then writes three next-numbered migration
files: expand (the new shape, kept in step with the old by triggers), backfill
(batched, resumable) and contract (drops the old shape; headed
-- cairn:contract <expand version>, so \`up\` runs it only after the deploy).
Deploy the application that uses the new shape between expand and contract.

Examples:
  cairn plan rename-column users.name display_name
  cairn plan rename-table customers clients
  cairn plan set-not-null orders.currency --fill "'EUR'"
  cairn plan change-type orders.amount bigint
  cairn plan change-type orders.price 'numeric(12,2)' --using 'price::numeric(12,2)' --back 'price::text'`,
    );
  plan
    .command('rename-column <table.column> <new-name>')
    .description('rename a column without downtime: add the new one, sync both, backfill, drop the old one')
    .action(async (target: string, to: string, _options: unknown, command: Command) => {
      const [table, column] = target.split('.', 2);
      if (!table || !column) throw usage(`"${target}" is not table.column`, 'e.g. cairn plan rename-column users.name display_name');
      const { cairn, out } = contextFor(command);
      const result = await cairn.plan({ kind: 'rename-column', table, column, to });
      if (out.json) return out.document(result);
      printPlanned(out, result);
      out.line('\nApply expand and backfill (`cairn up --to <backfill version>`), deploy the app that reads and writes the new column, then `cairn up` runs the contract.');
    });
  plan
    .command('rename-table <table> <new-name>')
    .description('rename a table without downtime: rename it and keep a view under the old name, then drop the view')
    .action(async (table: string, to: string, _options: unknown, command: Command) => {
      const { cairn, out } = contextFor(command);
      const result = await cairn.plan({ kind: 'rename-table', table, to });
      if (out.json) return out.document(result);
      printPlanned(out, result);
      out.line('\nApply the expand (`cairn up --to <expand version>`), deploy the app that uses the new name, then `cairn up` runs the contract.');
    });
  plan
    .command('set-not-null <table.column>')
    .description('make a column NOT NULL without a long lock: fill new writes and old rows, then constrain')
    .option('--fill <sql>', "an SQL expression for rows and writes that leave the column NULL, e.g. \"'EUR'\"")
    .action(async (target: string, options: { fill?: string }, command: Command) => {
      const [table, column] = target.split('.', 2);
      if (!table || !column) throw usage(`"${target}" is not table.column`, "e.g. cairn plan set-not-null orders.currency --fill \"'EUR'\"");
      const { cairn, out } = contextFor(command);
      const result = await cairn.plan({ kind: 'set-not-null', table, column, fill: options.fill ?? null });
      if (out.json) return out.document(result);
      printPlanned(out, result);
      out.line('\nApply the expand and backfill, deploy the app that always writes the column, then `cairn up` runs the contract.');
    });
  plan
    .command('change-type <table.column> <new-type>')
    .description('change a column\'s type without a table rewrite: add it with the new type, sync both, backfill, swap')
    .option('--using <sql>', 'the new value, an SQL expression over the row that reads the old column by its name (default: CAST(<column> AS <new-type>))')
    .option('--back <sql>', 'the old value from the new one, an SQL expression reading the new value under the column\'s name (default: CAST(<column> AS <old type>)); used for writes of the new column and by the contract\'s down')
    .addHelpText(
      'after',
      `
The expand adds <column>_new of the new type; triggers keep it in step with
<column> while the application runs (a write of <column> converts through
--using, a write of <column>_new alone converts back through --back). The
contract drops the old column and renames <column>_new to <column> in one short
transaction: an app that reads <column> keeps working across it. Indexes and
The old column's indexes are built on <column>_new by the expand (PostgreSQL:
CONCURRENTLY, in an expand file of its own) and kept by the contract; its
default, converted by --using, becomes the new column's. Constraints (unique,
foreign key, check) on the old column go with it: add them on <column>_new first.

Examples:
  cairn plan change-type orders.amount bigint
  cairn plan change-type events.payload jsonb --using 'payload::jsonb' --back 'payload::text'`,
    )
    .action(async (target: string, type: string, options: { using?: string; back?: string }, command: Command) => {
      const [table, column] = target.split('.', 2);
      if (!table || !column) throw usage(`"${target}" is not table.column`, 'e.g. cairn plan change-type orders.amount bigint');
      const { cairn, out } = contextFor(command);
      const result = await cairn.plan({ kind: 'change-type', table, column, type, using: options.using ?? null, back: options.back ?? null });
      if (out.json) return out.document(result);
      printPlanned(out, result);
      out.line('\nApply expand and backfill (`cairn up --to <backfill version>`), deploy the app that is ready for the new type, then `cairn up` runs the contract.');
    });
}
