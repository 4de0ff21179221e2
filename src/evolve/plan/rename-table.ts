import { CairnError } from '../../errors.js';
import type { PhaseFile, TableFacts } from './types.js';

/**
 * `cairn plan rename-table customers clients`: two migrations.
 *   expand:   rename the table, and leave a view under the old name, so the old application keeps working
 *   contract: drop the view (after every running app uses the new name)
 * A PostgreSQL view over one table is updatable by itself; a SQLite (and D1)
 * view is not, so INSTEAD OF triggers pass its inserts, updates and deletes on
 * to the table (columns left out of an INSERT through the view arrive as NULL,
 * not as the table's defaults).
 */
export function renameTablePhases(facts: TableFacts, to: string): PhaseFile[] {
  const { dialect, q } = facts;
  if (dialect === 'sqlite' && facts.key.length === 0) {
    throw new CairnError('USAGE', `table ${facts.table} has no primary or unique key: the view's triggers could not tell its rows apart`, { hint: 'give the table a primary key first, or rename it in one step when no app runs' });
  }
  const change = `rename-table ${facts.table} ${to}`;
  const [from, into] = [q(facts.table), q(to)];
  const view = [`CREATE VIEW ${from} AS SELECT * FROM ${into};`, ...(dialect === 'sqlite' ? viewTriggers(facts, from, into) : [])];
  const lockTimeout = dialect === 'postgres' ? "SET LOCAL lock_timeout = '5s';\n" : '';
  return [
    {
      phase: 'expand',
      name: `expand_rename_${facts.table}_to_${to}`,
      type: 'transformative',
      title: `rename table ${facts.table} to ${to}, phase 1 of 2 (expand): rename it, and keep a view named ${facts.table} for the running app`,
      rollback: `drops the view and renames ${to} back to ${facts.table}`,
      change,
      up: `${lockTimeout}ALTER TABLE ${from} RENAME TO ${into};\n${view.join('\n')}`,
      down: `${lockTimeout}DROP VIEW ${from};\nALTER TABLE ${into} RENAME TO ${from};`,
    },
    {
      phase: 'contract',
      name: `contract_drop_${facts.table}_view`,
      type: 'destructive',
      title: `rename table ${facts.table} to ${to}, phase 2 of 2 (contract): drop the view ${facts.table}; run it once no running app uses ${facts.table}`,
      rollback: `creates the view ${facts.table} again`,
      change,
      up: `${lockTimeout}DROP VIEW ${from};`,
      down: `${lockTimeout}${view.join('\n')}`,
    },
  ];
}

function viewTriggers(facts: TableFacts, from: string, into: string): string[] {
  const { q } = facts;
  const columns = facts.columns.map((c) => q(c.name));
  const where = facts.key.map((k) => `${q(k)} = OLD.${q(k)}`).join(' AND ');
  const base = `cairn_view_${facts.table}`.replace(/[^A-Za-z0-9_]/g, '_');
  return [
    `CREATE TRIGGER ${q(`${base}_insert`)} INSTEAD OF INSERT ON ${from} FOR EACH ROW
BEGIN
  INSERT INTO ${into} (${columns.join(', ')}) VALUES (${columns.map((c) => `NEW.${c}`).join(', ')});
END;`,
    `CREATE TRIGGER ${q(`${base}_update`)} INSTEAD OF UPDATE ON ${from} FOR EACH ROW
BEGIN
  UPDATE ${into} SET ${columns.map((c) => `${c} = NEW.${c}`).join(', ')} WHERE ${where};
END;`,
    `CREATE TRIGGER ${q(`${base}_delete`)} INSTEAD OF DELETE ON ${from} FOR EACH ROW
BEGIN
  DELETE FROM ${into} WHERE ${where};
END;`,
  ];
}
