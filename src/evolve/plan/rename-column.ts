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
 */
export function renameColumnPhases(facts: TableFacts, column: string, to: string): PhaseFile[] {
  const { dialect, q } = facts;
  const type = facts.columns.find((c) => c.name === column)!.type;
  const change = `rename-column ${facts.table}.${column} ${to}`;
  const title = `rename ${facts.table}.${column} to ${to}`;
  const base = `cairn_sync_${facts.table}_${column}_${to}`.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 50);
  const [t, from, into, tmp] = [q(facts.table), q(column), q(to), q(`cairn_tmp_${to}`)];
  const lockTimeout = dialect === 'postgres' ? "SET LOCAL lock_timeout = '5s';\n" : '';

  const sync = dialect === 'postgres' ? postgresSync(t, from, into, base, q) : sqliteSync(facts, t, from, into, base);
  const unsync = dialect === 'postgres' ? [`DROP TRIGGER ${q(base)} ON ${t};`, `DROP FUNCTION ${q(base)}();`] : ['ins', 'old', 'new'].map((s) => `DROP TRIGGER ${q(`${base}_${s}`)};`);
  const differs = dialect === 'postgres' ? `${into} IS DISTINCT FROM ${from}` : `${into} IS NOT ${from}`;

  return [
    {
      phase: 'expand',
      name: `expand_${facts.table}_${column}_to_${to}`,
      type: 'additive',
      title: `${title}, phase 1 of 3 (expand): add ${to}, kept in step with ${column} by triggers`,
      rollback: `drops the triggers and ${to}; ${column} keeps every value`,
      change,
      up: `${lockTimeout}ALTER TABLE ${t} ADD COLUMN ${into}${type ? ` ${type}` : ''};\n${sync.join('\n')}`,
      down: `${lockTimeout}${unsync.join('\n')}\nALTER TABLE ${t} DROP COLUMN ${into};`,
    },
    {
      phase: 'backfill',
      name: `backfill_${facts.table}_${to}`,
      type: 'transformative',
      title: `${title}, phase 2 of 3 (backfill): copy ${column} into ${to} for rows written before the expand`,
      rollback: `nothing to undo: ${column} is unchanged (the down section does nothing)`,
      change,
      up: `-- cairn:batch size=1000 pause=10ms\nUPDATE ${t} SET ${into} = ${from} WHERE ${differs} AND ${from} IS NOT NULL;`,
      down: `SELECT 1; -- ${column} was not changed: nothing to undo`,
    },
    {
      phase: 'contract',
      name: `contract_${facts.table}_drop_${column}`,
      type: 'destructive',
      title: `${title}, phase 3 of 3 (contract): drop the triggers and ${column}; run it once no running app reads or writes ${column}`,
      rollback: `adds ${column} back (and moves ${to} after it), copies ${to} into it, and restores the triggers`,
      change,
      up: `${lockTimeout}${unsync.join('\n')}\n-- cairn:allow drop-column contract phase of ${change}: every running app uses ${to}, and ${to} holds every value\nALTER TABLE ${t} DROP COLUMN ${from};`,
      // Added back at the end, name would follow display_name: move display_name after it again, so the table is as before the contract.
      down: `${lockTimeout}ALTER TABLE ${t} ADD COLUMN ${from}${type ? ` ${type}` : ''};\nALTER TABLE ${t} ADD COLUMN ${tmp}${type ? ` ${type}` : ''};\nUPDATE ${t} SET ${from} = ${into}, ${tmp} = ${into};\nALTER TABLE ${t} DROP COLUMN ${into};\nALTER TABLE ${t} RENAME COLUMN ${tmp} TO ${into};\n${sync.join('\n')}`,
    },
  ];
}

function postgresSync(t: string, from: string, into: string, base: string, q: (name: string) => string): string[] {
  return [
    `CREATE FUNCTION ${q(base)}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.${into} IS NULL THEN NEW.${into} := NEW.${from};
    ELSIF NEW.${from} IS NULL THEN NEW.${from} := NEW.${into};
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

function sqliteSync(facts: TableFacts, t: string, from: string, into: string, base: string): string[] {
  const { q } = facts;
  const row = facts.key.length > 0 ? facts.key.map((k) => `${q(k)} = NEW.${q(k)}`).join(' AND ') : 'rowid = NEW.rowid';
  return [
    `CREATE TRIGGER ${q(`${base}_ins`)} AFTER INSERT ON ${t} FOR EACH ROW WHEN NEW.${into} IS NULL OR NEW.${from} IS NULL
BEGIN
  UPDATE ${t} SET ${into} = coalesce(NEW.${into}, NEW.${from}), ${from} = coalesce(NEW.${from}, NEW.${into}) WHERE ${row};
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
