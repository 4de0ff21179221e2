import { alterTableCommands } from '../parse/postgres.js';
import type { Rule } from '../types.js';

/**
 * A STORED generated column is computed and written for every existing row
 * when it is added, so ADD COLUMN … GENERATED ALWAYS AS (…) STORED rewrites
 * the whole table (and rebuilds its indexes) while holding ACCESS EXCLUSIVE:
 * no reads, no writes for as long as the rewrite takes.
 */
export const storedGeneratedColumn: Rule = {
  id: 'stored-generated-column',
  dialects: ['postgres'],
  severity: 'error',
  summary: 'ALTER TABLE … ADD COLUMN … GENERATED ALWAYS AS (…) STORED on an existing table',
  statement(statement, context) {
    const alter = alterTableCommands(statement);
    if (!alter || context.createdHere(alter.table)) return [];
    const { table, commands } = alter;
    const virtual = context.target.postgresVersion >= 18;
    return commands.flatMap((cmd) => {
      if (cmd.subtype !== 'AT_AddColumn' || !cmd.def || !('ColumnDef' in cmd.def)) return [];
      const column = cmd.def.ColumnDef;
      const generated = (column.constraints ?? []).flatMap((c) => ('Constraint' in c ? [c.Constraint] : [])).find((c) => c.contype === 'CONSTR_GENERATED' && c.generated_kind === 's');
      if (!generated) return [];
      const name = column.colname ?? '';
      return [
        {
          message: `adding stored generated column "${name}" to "${table}" computes it for every existing row: the whole table and its indexes are rewritten under an ACCESS EXCLUSIVE lock that blocks all reads and writes until it finishes`,
          help:
            `add a plain nullable column instead (ALTER TABLE ${table} ADD COLUMN ${name} <type>;), keep it filled for new and updated rows with a BEFORE INSERT OR UPDATE trigger, and backfill existing rows in batches (UPDATE ${table} SET ${name} = <expression> WHERE id BETWEEN … AND …); ` +
            `if it only serves reads, compute it in a view or index the expression instead (CREATE INDEX CONCURRENTLY … ON ${table} ((<expression>)))` +
            (virtual ? `; on PostgreSQL 18+, GENERATED ALWAYS AS (…) VIRTUAL adds it without a rewrite` : ''),
          offset: generated.location ?? column.location ?? 0,
        },
      ];
    });
  },
};
