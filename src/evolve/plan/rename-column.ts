import { BACKFILL_BATCH, addableOnSqlite, carriedIndexes, comparableDefault, concurrentIndexFiles } from './carry.js';
import type { PhaseFile, TableFacts } from './types.js';

/**
 * `cairn plan rename-column users.name display_name`: the rename as three
 * ordinary migrations, so that the old and the new application can run side
 * by side between deploys.
 *   expand:   add display_name; a trigger copies every write of one column into the other
 *   backfill: copy name into display_name for the rows written before (batched)
 *   contract: drop the triggers and name (after every running app reads display_name)
 * PostgreSQL keeps them in step in one BEFORE trigger that sets NEW. SQLite
 * (and D1) triggers cannot assign NEW, so AFTER triggers update the row
 * again; each fires only when its own column changed and the other did not,
 * so the second update (which changes nothing) stops the chain.
 *
 * name's indexes are built on display_name by the expand (PostgreSQL:
 * CONCURRENTLY, in a second expand file) and named after it
 * (users_name_idx → users_display_name_idx). name's default goes on
 * display_name: SQLite can only give it when the column is added (the
 * triggers then treat "holds its default" as "not written"), PostgreSQL sets
 * it in the contract, once the triggers are gone.
 */
export function renameColumnPhases(facts: TableFacts, column: string, to: string): PhaseFile[] {
  const { dialect, q } = facts;
  const type = facts.columns.find((c) => c.name === column)!.type;
  const change = `rename-column ${facts.table}.${column} ${to}`;
  const title = `rename ${facts.table}.${column} to ${to}`;
  const base = `cairn_sync_${facts.table}_${column}_${to}`.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 50);
  const [t, from, into, tmp] = [q(facts.table), q(column), q(to), q(`cairn_tmp_${to}`)];
  const postgres = dialect === 'postgres';
  const lockTimeout = postgres ? "SET LOCAL lock_timeout = '5s';\n" : '';

  const fromDefault = facts.defaults[column] ?? null;
  const addable = fromDefault !== null && (postgres || addableOnSqlite(fromDefault));
  const withDefault = addable ? ` DEFAULT ${facts.literals?.[fromDefault] ?? fromDefault}` : '';
  // SQLite gives display_name its default when adding it; PostgreSQL in the contract.
  const intoDefault = postgres || !addable ? '' : withDefault;
  const unset = fromDefault !== null && comparableDefault(fromDefault) ? fromDefault : null;
  // SQLite fills the new column with its default when adding it: a unique index on it waits for the contract (the old column's keeps the rows unique until then).
  const carried = carriedIndexes(facts, column, to);
  const late = postgres || !intoDefault ? [] : carried.filter((i) => /^CREATE UNIQUE/i.test(i.newSql));
  const indexes = carried.filter((i) => !late.includes(i));

  const sync = postgres ? postgresSync(t, from, into, base, q, unset) : sqliteSync(facts, t, from, into, base, intoDefault ? unset : null, unset);
  const unsync = postgres ? [`DROP TRIGGER ${q(base)} ON ${t};`, `DROP FUNCTION ${q(base)}();`] : ['ins', 'old', 'new'].map((s) => `DROP TRIGGER ${q(`${base}_${s}`)};`);
  const differs = postgres ? `${into} IS DISTINCT FROM ${from}` : `${into} IS NOT ${from}`;
  const allowIndex = (why: string) => (postgres ? `-- cairn:allow index-not-concurrent ${why}\n` : '');

  const expandIndexes = postgres ? concurrentIndexFiles({ table: facts.table, column, newColumn: to, title, change, indexes, q }) : [];
  const contractUp = [
    ...unsync,
    ...(postgres ? [] : carried.map((i) => `DROP INDEX ${q(i.name)};`)),
    `-- cairn:allow drop-column contract phase of ${change}: every running app uses ${to}, and ${to} holds every value\nALTER TABLE ${t} DROP COLUMN ${from};`,
    ...late.map((i) => `${i.newSql};`),
    ...(postgres && fromDefault !== null ? [`ALTER TABLE ${t} ALTER COLUMN ${into} SET DEFAULT ${fromDefault};`] : []),
  ];
  // Added back at the end, name would follow display_name: move display_name after it again, so the table is as before the contract.
  const contractDown = [
    ...carried.map((i) => `DROP INDEX ${q(i.newName)};`),
    `ALTER TABLE ${t} ADD COLUMN ${from}${type ? ` ${type}` : ''}${withDefault};`,
    `ALTER TABLE ${t} ADD COLUMN ${tmp}${type ? ` ${type}` : ''}${intoDefault};`,
    `UPDATE ${t} SET ${from} = ${into}, ${tmp} = ${into};`,
    `ALTER TABLE ${t} DROP COLUMN ${into};`,
    `ALTER TABLE ${t} RENAME COLUMN ${tmp} TO ${into};`,
    ...sync,
    ...carried.map((i) => `${allowIndex(`down of the contract of ${change}: ${column} gets its index back`)}${i.sql};`),
    ...indexes.map((i) => `${allowIndex(`down of the contract of ${change}: ${to} gets its index back`)}${i.newSql};`),
  ];

  return [
    {
      phase: 'expand',
      name: `expand_${facts.table}_${column}_to_${to}`,
      type: 'additive',
      title: `${title}, phase 1 of 3 (expand): add ${to}, kept in step with ${column} by triggers${indexes.length > 0 && !postgres ? `, with ${column}'s indexes` : ''}`,
      rollback: `drops the triggers${indexes.length > 0 && !postgres ? ', the indexes' : ''} and ${to}; ${column} keeps every value`,
      change,
      up: `${lockTimeout}ALTER TABLE ${t} ADD COLUMN ${into}${type ? ` ${type}` : ''}${intoDefault};\n${sync.join('\n')}${postgres ? '' : indexes.map((i) => `\n${i.newSql};`).join('')}`,
      down: `${lockTimeout}${unsync.join('\n')}\n${postgres ? '' : indexes.map((i) => `DROP INDEX ${q(i.newName)};\n`).join('')}ALTER TABLE ${t} DROP COLUMN ${into};`,
    },
    ...expandIndexes,
    {
      phase: 'backfill',
      name: `backfill_${facts.table}_${to}`,
      type: 'transformative',
      title: `${title}, phase 2 of 3 (backfill): copy ${column} into ${to} for rows written before the expand`,
      rollback: `nothing to undo: ${column} is unchanged (the down section does nothing)`,
      change,
      up: `${BACKFILL_BATCH}\nUPDATE ${t} SET ${into} = ${from} WHERE ${differs} AND ${from} IS NOT NULL;`,
      down: `SELECT 1; -- ${column} was not changed: nothing to undo`,
    },
    {
      phase: 'contract',
      name: `contract_${facts.table}_drop_${column}`,
      type: 'destructive',
      title: `${title}, phase 3 of 3 (contract): drop the triggers and ${column}; run it once no running app reads or writes ${column}`,
      rollback: `adds ${column} back (and moves ${to} after it), copies ${to} into it, and restores the triggers${indexes.length > 0 ? ' and the indexes' : ''}`,
      change,
      up: `${lockTimeout}${contractUp.join('\n')}`,
      down: `${lockTimeout}${contractDown.join('\n')}`,
    },
  ];
}

/** `unset`: name's default, where an INSERT that leaves name out can be told by it (display_name's value wins then). */
function postgresSync(t: string, from: string, into: string, base: string, q: (name: string) => string, unset: string | null): string[] {
  return [
    `CREATE FUNCTION ${q(base)}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.${into} IS NULL THEN NEW.${into} := NEW.${from};
    ELSIF NEW.${from} IS NULL${unset !== null ? ` OR NEW.${from} IS NOT DISTINCT FROM ${unset}` : ''} THEN NEW.${from} := NEW.${into};
    END IF;
  ELSIF NEW.${into} IS DISTINCT FROM OLD.${into} THEN
    NEW.${from} := NEW.${into};
  ELSIF NEW.${from} IS DISTINCT FROM OLD.${from} THEN
    NEW.${into} := NEW.${from};
  END IF;
  RETURN NEW;
END
$$;`,
    `CREATE TRIGGER ${q(base)} BEFORE INSERT OR UPDATE ON ${t} FOR EACH ROW EXECUTE FUNCTION ${q(base)}();`,
  ];
}

/** `intoUnset`, `fromUnset`: the columns' defaults, where an INSERT that leaves one out can be told by it (it counts as not written). */
function sqliteSync(facts: TableFacts, t: string, from: string, into: string, base: string, intoUnset: string | null, fromUnset: string | null): string[] {
  const { q } = facts;
  const row = facts.key.length > 0 ? facts.key.map((k) => `${q(k)} = NEW.${q(k)}`).join(' AND ') : 'rowid = NEW.rowid';
  const unsetOf = (column: string, d: string | null) => (d === null ? `NEW.${column} IS NULL` : `(NEW.${column} IS NULL OR NEW.${column} IS ${d})`);
  const value = `CASE WHEN ${unsetOf(into, intoUnset)} THEN NEW.${from} ELSE NEW.${into} END`;
  return [
    `CREATE TRIGGER ${q(`${base}_ins`)} AFTER INSERT ON ${t} FOR EACH ROW WHEN NEW.${into} IS NOT NEW.${from} AND (${unsetOf(into, intoUnset)} OR ${unsetOf(from, fromUnset)})
BEGIN
  UPDATE ${t} SET ${into} = ${value}, ${from} = ${value} WHERE ${row};
END;`,
    `CREATE TRIGGER ${q(`${base}_old`)} AFTER UPDATE OF ${from} ON ${t} FOR EACH ROW WHEN NEW.${from} IS NOT OLD.${from} AND NEW.${into} IS OLD.${into}
BEGIN
  UPDATE ${t} SET ${into} = NEW.${from} WHERE ${row};
END;`,
    `CREATE TRIGGER ${q(`${base}_new`)} AFTER UPDATE OF ${into} ON ${t} FOR EACH ROW WHEN NEW.${into} IS NOT OLD.${into} AND NEW.${from} IS OLD.${from}
BEGIN
  UPDATE ${t} SET ${from} = NEW.${into} WHERE ${row};
END;`,
  ];
}
