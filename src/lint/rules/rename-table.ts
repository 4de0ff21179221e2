import type { Rule } from '../types.js';

/**
 * Renaming a table breaks every running copy of the code that still uses the
 * old name: during a deploy old and new code run side by side, and the old
 * one's queries fail from the moment the migration commits.
 */
export const renameTable: Rule = {
  id: 'rename-table',
  dialects: ['postgres', 'sqlite'],
  severity: 'error',
  summary: 'ALTER TABLE … RENAME TO on a table that existed before the migration',
  statement(statement, context) {
    const { fact } = statement;
    if (fact.kind !== 'alter_table' || context.createdHere(fact.table) || !fact.actions.some((a) => a.type === 'rename_table')) return [];
    // The old name is given back later in this migration: a view over the
    // renamed table (the safe form), or a new table when it is rebuilt.
    const oldNameKept = context.statements
      .slice(statement.index + 1)
      .some((s) => (s.fact.kind === 'create_table' && s.fact.table === fact.table) || (s.fact.kind === 'create_view' && s.fact.name === fact.table));
    if (oldNameKept) return [];
    const view =
      context.target.dialect === 'postgres'
        ? `CREATE VIEW ${fact.table} AS SELECT * FROM <new>; a simple view is updatable, so old code keeps reading and writing through it`
        : `CREATE VIEW ${fact.table} AS SELECT * FROM <new>; SQLite views are read-only, so add INSTEAD OF INSERT/UPDATE/DELETE triggers if old code writes`;
    return fact.actions.flatMap((action) =>
      action.type === 'rename_table'
        ? [
            {
              message: `renaming table "${fact.table}" to "${action.to}" breaks running code that still uses "${fact.table}"`,
              help: `keep the old name working: right after the rename, ${view.replace('<new>', action.to)}; drop the view once no code uses "${fact.table}". Or expand–contract: create "${action.to}", write to both, backfill, switch reads, then drop "${fact.table}" later`,
              offset: action.offset,
            },
          ]
        : [],
    );
  },
};
