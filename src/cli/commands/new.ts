import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { MigrationType } from '../../core/scaffold.js';
import { contextFor } from '../context.js';
import { usage } from '../output.js';

const TYPES: readonly MigrationType[] = ['additive', 'destructive', 'transformative'];

export function registerNew(program: Command): void {
  program
    .command('new')
    .description('create the next-numbered migration file with its header and up/down markers')
    .argument('<name>', 'what it does, verb_object: add_phone_to_users')
    .option('--type <type>', `${TYPES.join(' | ')}`, 'additive')
    .option('--from <file>', 'put this up SQL in it (- reads stdin) and write the down Cairn generates from it, where it can')
    .option('--ts', 'write a TypeScript migration (NNNN_name.ts exporting up(ctx) and down(ctx)) for a change that needs code')
    .addHelpText(
      'after',
      `
With --from, the up is the given SQL and the down is its generated inverse when
every statement can be reversed (CREATE TABLE/INDEX/VIEW/TRIGGER → DROP, ADD
COLUMN → DROP COLUMN, RENAME → RENAME back, …); otherwise the down is left
empty with a comment naming the statement that cannot be reversed.

Examples:
  cairn new add_phone_to_users                    # migrations/0002_add_phone_to_users.sql
  cairn new add_users_email_index --from up.sql   # up from up.sql, down generated
  pbpaste | cairn new add_tags --from -
  cairn new fill_user_slugs --ts                  # migrations/0003_fill_user_slugs.ts`,
    )
    .action(async (name: string, options: { type: string; from?: string; ts?: boolean }, command: Command) => {
      if (!TYPES.includes(options.type as MigrationType)) throw usage(`--type must be one of ${TYPES.join(', ')}, got "${options.type}"`);
      if (options.ts && options.from !== undefined) throw usage('--ts and --from do not go together', '--from writes SQL; a TypeScript migration is code you write');
      const { cairn, out } = contextFor(command);
      if (options.ts) {
        const result = await cairn.create(name, undefined, { ts: true });
        if (out.json) return out.document(result);
        out.line(`Created ${result.file}: write up(ctx) (and down(ctx)); ctx.sql, ctx.batch, ctx.log are described in it`);
        return;
      }
      const from = options.from === undefined ? undefined : readFrom(options.from);
      const result = await cairn.create(name, options.type as MigrationType, { from });
      if (out.json) return out.document(result);
      out.line(`Created ${result.file}`);
      const generated = result.generatedDown;
      if (!generated) out.line('Tip: `cairn new <name> --from up.sql` also writes the down when the up can be inverted; `cairn down --generated` rolls back files without a down the same way.');
      else if ('sql' in generated) out.line(`  down: the generated inverse of the up (review it):\n${generated.statements.map((s) => `    ${s.sql};`).join('\n')}`);
      else out.line(`  down: none generated: ${generated.reason}\n  Write the down section by hand (or leave it empty if this migration is never rolled back).`);
    });
}

/** The --from SQL: a file (relative to the working directory), or stdin for `-`. */
function readFrom(path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    throw usage(`cannot read --from ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`, 'give the path of a file with the up SQL, or - to read it from stdin');
  }
}
