import type { PhaseFile, TableFacts } from './types.js';

/**
 * `cairn plan change-type orders.amount bigint --using 'CAST(amount AS bigint)' --back 'CAST(amount AS integer)'`:
 * the type change as three ordinary migrations, without the table rewrite
 * (PostgreSQL) or rebuild (SQLite) that a one-step change holds a lock for.
 *   expand:   add amount_new of the new type; triggers keep both in step: a write of amount sets
 *             amount_new to --using, a write of amount_new alone sets amount to --back
 *   backfill: amount_new = --using for the rows written before (batched, resumable)
 *   contract: drop the triggers and amount, rename amount_new to amount, in one short transaction
 * `--using` reads the row (the old column by its name); `--back` reads only the
 * new value, under the old column's name. The triggers leave a column alone
 * when it is already in step (amount_new = --using), so the backfill never
 * rewrites amount through --back. PostgreSQL keeps them in step in one BEFORE
 * trigger; SQLite (and D1) AFTER triggers update the row again, each guarded
 * so that an update changing nothing ends the chain.
 */
export interface ChangeType {
  readonly column: string;
  readonly type: string;
  readonly using: string | null;
  readonly back: string | null;
}

export function changeTypePhases(facts: TableFacts, change: ChangeType): PhaseFile[] {
  const { dialect, q } = facts;
  const { column } = change;
  const oldType = facts.columns.find((c) => c.name === column)!.type;
  const shadow = shadowColumn(column);
  const name = `change-type ${facts.table}.${column} ${change.type}`;
  const title = `change ${facts.table}.${column} from ${oldType || 'untyped'} to ${change.type}`;
  const base = `cairn_type_${facts.table}_${column}`.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 50);
  const [t, old, neu, tmp] = [q(facts.table), q(column), q(shadow), q(`cairn_tmp_${shadow}`)];
  const using = change.using ?? `CAST(${old} AS ${change.type})`;
  const back = change.back ?? (oldType ? `CAST(${old} AS ${oldType})` : old);
  // --back reads the new value under the old column's name.
  const backOf = (value: string) => `(SELECT ${back} FROM (SELECT ${value} AS ${old}) AS ${q('cairn_new')})`;
  const lockTimeout = dialect === 'postgres' ? "SET LOCAL lock_timeout = '5s';\n" : '';
  const sync = dialect === 'postgres' ? postgresSync({ facts, t, old, neu, base, using, backOf, type: change.type }) : sqliteSync({ facts, t, old, neu, base, using, backOf });
  const unsync = dialect === 'postgres' ? [`DROP TRIGGER ${q(base)} ON ${t};`, `DROP FUNCTION ${q(base)}();`] : ['ins', 'old', 'new'].map((s) => `DROP TRIGGER ${q(`${base}_${s}`)};`);
  const differs = dialect === 'postgres' ? 'IS DISTINCT FROM' : 'IS NOT';

  return [
    {
      phase: 'expand',
      name: `expand_${facts.table}_${column}_to_${slug(change.type)}`,
      type: 'additive',
      title: `${title}, phase 1 of 3 (expand): add ${shadow} ${change.type}, kept in step with ${column} by triggers`,
      rollback: `drops the triggers and ${shadow}; ${column} keeps every value`,
      change: name,
      up: `${lockTimeout}ALTER TABLE ${t} ADD COLUMN ${neu} ${change.type};\n${sync.join('\n')}`,
      down: `${lockTimeout}${unsync.join('\n')}\nALTER TABLE ${t} DROP COLUMN ${neu};`,
    },
    {
      phase: 'backfill',
      name: `backfill_${facts.table}_${shadow}`,
      type: 'transformative',
      title: `${title}, phase 2 of 3 (backfill): convert ${column} into ${shadow} for rows written before the expand`,
      rollback: `nothing to undo: ${column} is unchanged (the down section does nothing)`,
      change: name,
      up: `-- cairn:batch size=1000 pause=10ms\nUPDATE ${t} SET ${neu} = ${using} WHERE ${neu} ${differs} (${using});`,
      down: `SELECT 1; -- ${column} was not changed: nothing to undo`,
    },
    {
      phase: 'contract',
      name: `contract_${facts.table}_${column}_to_${slug(change.type)}`,
      type: 'destructive',
      title: `${title}, phase 3 of 3 (contract): drop the triggers and the old ${column}, rename ${shadow} to ${column}; run it once every running app is ready for ${change.type}`,
      rollback: `renames ${column} back to ${shadow}, adds the old ${column} back filled through --back, and restores the triggers`,
      change: name,
      up:
        `${lockTimeout}${unsync.join('\n')}\n` +
        `-- cairn:allow drop-column contract phase of ${name}: ${shadow} holds every value, converted\nALTER TABLE ${t} DROP COLUMN ${old};\n` +
        `-- cairn:allow rename-column contract phase of ${name}: ${shadow} takes the old name, so the app keeps using ${column}\nALTER TABLE ${t} RENAME COLUMN ${neu} TO ${old};`,
      // The old column added back lands at the end: move the new one after it again, so the table is as before the contract.
      down:
        `${lockTimeout}-- cairn:allow rename-column down of the contract of ${name}: the old ${column} comes back\nALTER TABLE ${t} RENAME COLUMN ${old} TO ${neu};\n` +
        `ALTER TABLE ${t} ADD COLUMN ${old}${oldType ? ` ${oldType}` : ''};\nALTER TABLE ${t} ADD COLUMN ${tmp} ${change.type};\n` +
        `UPDATE ${t} SET ${old} = ${backOf(`${t}.${neu}`)}, ${tmp} = ${neu};\nALTER TABLE ${t} DROP COLUMN ${neu};\nALTER TABLE ${t} RENAME COLUMN ${tmp} TO ${neu};\n${sync.join('\n')}`,
    },
  ];
}

/** The new column's name while both run: `amount_new`. */
export function shadowColumn(column: string): string {
  return `${column}_new`;
}

function slug(type: string): string {
  return type.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');
}

interface SyncParts {
  readonly facts: TableFacts;
  readonly t: string;
  readonly old: string;
  readonly neu: string;
  readonly base: string;
  readonly using: string;
  readonly backOf: (value: string) => string;
}

function postgresSync(parts: SyncParts & { readonly type: string }): string[] {
  const { facts, t, old, neu, base, using, backOf, type } = parts;
  const q = facts.q;
  return [
    `CREATE FUNCTION ${q(base)}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  converted ${type};
BEGIN
  SELECT ${using} INTO converted FROM (SELECT NEW.*) AS ${t};
  IF TG_OP = 'INSERT' THEN
    IF NEW.${neu} IS NULL THEN NEW.${neu} := converted;
    ELSIF NEW.${old} IS NULL THEN NEW.${old} := ${backOf(`NEW.${neu}`)};
    END IF;
  ELSIF NEW.${old} IS DISTINCT FROM OLD.${old} AND NEW.${neu} IS NOT DISTINCT FROM OLD.${neu} THEN
    NEW.${neu} := converted;
  ELSIF NEW.${neu} IS DISTINCT FROM OLD.${neu} AND NEW.${old} IS NOT DISTINCT FROM OLD.${old} AND NEW.${neu} IS DISTINCT FROM converted THEN
    NEW.${old} := ${backOf(`NEW.${neu}`)};
  END IF;
  RETURN NEW;
END
$$;`,
    `CREATE TRIGGER ${q(base)} BEFORE INSERT OR UPDATE ON ${t} FOR EACH ROW EXECUTE FUNCTION ${q(base)}();`,
  ];
}

function sqliteSync(parts: SyncParts): string[] {
  const { facts, t, old, neu, base, using, backOf } = parts;
  const q = facts.q;
  const row = facts.key.length > 0 ? facts.key.map((k) => `${q(k)} = NEW.${q(k)}`).join(' AND ') : 'rowid = NEW.rowid';
  return [
    `CREATE TRIGGER ${q(`${base}_ins`)} AFTER INSERT ON ${t} FOR EACH ROW WHEN NEW.${neu} IS NULL OR NEW.${old} IS NULL
BEGIN
  UPDATE ${t} SET ${neu} = CASE WHEN NEW.${neu} IS NULL THEN ${using} ELSE ${neu} END, ${old} = CASE WHEN NEW.${old} IS NULL AND NEW.${neu} IS NOT NULL THEN ${backOf(`NEW.${neu}`)} ELSE ${old} END WHERE ${row};
END;`,
    `CREATE TRIGGER ${q(`${base}_old`)} AFTER UPDATE OF ${old} ON ${t} FOR EACH ROW WHEN NEW.${old} IS NOT OLD.${old} AND NEW.${neu} IS OLD.${neu}
BEGIN
  UPDATE ${t} SET ${neu} = ${using} WHERE ${row} AND ${neu} IS NOT (${using});
END;`,
    `CREATE TRIGGER ${q(`${base}_new`)} AFTER UPDATE OF ${neu} ON ${t} FOR EACH ROW WHEN NEW.${neu} IS NOT OLD.${neu} AND NEW.${old} IS OLD.${old}
BEGIN
  UPDATE ${t} SET ${old} = ${backOf(`NEW.${neu}`)} WHERE ${row} AND ${neu} IS NOT (${using});
END;`,
  ];
}
