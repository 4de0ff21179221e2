import { BACKFILL_BATCH, addableOnSqlite, carriedIndexes, comparableDefault, concurrentIndexFiles, replaceIdentifier } from './carry.js';
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
 *
 * The old column's indexes are built on amount_new by the expand (PostgreSQL:
 * CONCURRENTLY, in a second expand file of its own) and kept by the contract
 * (PostgreSQL renames them back to the old names). Its default, converted by
 * --using, goes on amount_new: SQLite can only give it when the column is
 * added (so the triggers treat "holds its default" as "not written"),
 * PostgreSQL sets it in the contract, once the triggers are gone.
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
  const postgres = dialect === 'postgres';
  const lockTimeout = postgres ? "SET LOCAL lock_timeout = '5s';\n" : '';

  // Defaults: the old one, and the new one (the old one converted by --using).
  const oldDefault = facts.defaults[column] ?? null;
  const newDefault = convertedDefault(facts, change);
  const addable = (d: string | null): d is string => d !== null && (postgres || addableOnSqlite(d));
  const withDefault = (d: string | null) => (addable(d) ? ` DEFAULT ${facts.literals?.[d] ?? d}` : '');
  // SQLite gives amount_new its default when adding it; PostgreSQL in the contract.
  const shadowDefault = postgres ? null : addable(newDefault) ? newDefault : null;
  const unset = {
    old: oldDefault !== null && comparableDefault(oldDefault) ? oldDefault : null,
    neu: shadowDefault !== null && comparableDefault(shadowDefault) ? shadowDefault : null,
  };

  // SQLite fills the new column with its default when adding it: a unique index on it waits for the contract (the old column's keeps the rows unique until then).
  const carried = carriedIndexes(facts, column, shadow);
  const late = postgres || shadowDefault === null ? [] : carried.filter((i) => /^CREATE UNIQUE/i.test(i.newSql));
  const indexes = carried.filter((i) => !late.includes(i));
  const sync = postgres ? postgresSync({ facts, t, old, neu, base, using, backOf, type: change.type, unset }) : sqliteSync({ facts, t, old, neu, base, using, backOf, unset });
  const unsync = postgres ? [`DROP TRIGGER ${q(base)} ON ${t};`, `DROP FUNCTION ${q(base)}();`] : ['ins', 'old', 'new'].map((s) => `DROP TRIGGER ${q(`${base}_${s}`)};`);
  const differs = postgres ? 'IS DISTINCT FROM' : 'IS NOT';
  const allowIndex = (why: string) => (postgres ? `-- cairn:allow index-not-concurrent ${why}\n` : '');

  const expand: PhaseFile = {
    phase: 'expand',
    name: `expand_${facts.table}_${column}_to_${slug(change.type)}`,
    type: 'additive',
    title: `${title}, phase 1 of 3 (expand): add ${shadow} ${change.type}, kept in step with ${column} by triggers${indexes.length > 0 && !postgres ? `, with ${column}'s indexes` : ''}`,
    rollback: `drops the triggers${indexes.length > 0 && !postgres ? ', the indexes' : ''} and ${shadow}; ${column} keeps every value`,
    change: name,
    up: `${lockTimeout}ALTER TABLE ${t} ADD COLUMN ${neu} ${change.type}${withDefault(shadowDefault)};\n${sync.join('\n')}${postgres ? '' : indexes.map((i) => `\n${i.newSql};`).join('')}`,
    down: `${lockTimeout}${unsync.join('\n')}\n${postgres ? '' : indexes.map((i) => `DROP INDEX ${q(i.newName)};\n`).join('')}ALTER TABLE ${t} DROP COLUMN ${neu};`,
  };
  // PostgreSQL builds the indexes without blocking writes: CONCURRENTLY, which no transaction may hold.
  const expandIndexes = postgres ? concurrentIndexFiles({ table: facts.table, column, newColumn: shadow, title, change: name, indexes, q }) : [];

  // In the contract, the indexes on amount_new get the old names back (PostgreSQL; SQLite cannot rename an index).
  const finalName = (i: (typeof carried)[number]) => (postgres ? i.name : i.newName);
  const contractUp = [
    ...unsync,
    ...(postgres ? [] : carried.map((i) => `DROP INDEX ${q(i.name)};`)),
    `-- cairn:allow drop-column contract phase of ${name}: ${shadow} holds every value, converted\nALTER TABLE ${t} DROP COLUMN ${old};`,
    ...late.map((i) => `${i.newSql};`),
    `-- cairn:allow rename-column contract phase of ${name}: ${shadow} takes the old name, so the app keeps using ${column}\nALTER TABLE ${t} RENAME COLUMN ${neu} TO ${old};`,
    ...(postgres ? indexes.map((i) => `ALTER INDEX ${q(i.newName)} RENAME TO ${q(i.name)};`) : []),
    ...(postgres && newDefault !== null ? [`ALTER TABLE ${t} ALTER COLUMN ${old} SET DEFAULT ${newDefault};`] : []),
  ];
  // The old column added back lands at the end: move the new one after it again, so the table is as before the contract.
  const contractDown = [
    ...carried.map((i) => `DROP INDEX ${q(finalName(i))};`),
    `-- cairn:allow rename-column down of the contract of ${name}: the old ${column} comes back\nALTER TABLE ${t} RENAME COLUMN ${old} TO ${neu};`,
    `ALTER TABLE ${t} ADD COLUMN ${old}${oldType ? ` ${oldType}` : ''}${withDefault(oldDefault)};`,
    `ALTER TABLE ${t} ADD COLUMN ${tmp} ${change.type}${withDefault(shadowDefault)};`,
    `UPDATE ${t} SET ${old} = ${backOf(`${t}.${neu}`)}, ${tmp} = ${neu};`,
    `ALTER TABLE ${t} DROP COLUMN ${neu};`,
    `ALTER TABLE ${t} RENAME COLUMN ${tmp} TO ${neu};`,
    ...sync,
    ...carried.map((i) => `${allowIndex(`down of the contract of ${name}: ${column} gets its index back`)}${i.sql};`),
    ...indexes.map((i) => `${allowIndex(`down of the contract of ${name}: ${shadow} gets its index back`)}${i.newSql};`),
  ];

  return [
    expand,
    ...expandIndexes,
    {
      phase: 'backfill',
      name: `backfill_${facts.table}_${shadow}`,
      type: 'transformative',
      title: `${title}, phase 2 of 3 (backfill): convert ${column} into ${shadow} for rows written before the expand`,
      rollback: `nothing to undo: ${column} is unchanged (the down section does nothing)`,
      change: name,
      up: `${BACKFILL_BATCH}\nUPDATE ${t} SET ${neu} = ${using} WHERE ${neu} ${differs} (${using});`,
      down: `SELECT 1; -- ${column} was not changed: nothing to undo`,
    },
    {
      phase: 'contract',
      name: `contract_${facts.table}_${column}_to_${slug(change.type)}`,
      type: 'destructive',
      title: `${title}, phase 3 of 3 (contract): drop the triggers and the old ${column}, rename ${shadow} to ${column}; run it once every running app is ready for ${change.type}`,
      rollback: `renames ${column} back to ${shadow}, adds the old ${column} back filled through --back, and restores the triggers${indexes.length > 0 ? ' and the indexes' : ''}`,
      change: name,
      up: `${lockTimeout}${contractUp.join('\n')}`,
      down: `${lockTimeout}${contractDown.join('\n')}`,
    },
  ];
}

/** The old column's default converted by --using (no column in it: the default stands in for the column), or null without one. */
export function convertedDefault(facts: TableFacts, change: ChangeType): string | null {
  const oldDefault = facts.defaults[change.column] ?? null;
  const using = change.using ?? `CAST(${facts.q(change.column)} AS ${change.type})`;
  return oldDefault === null ? null : `(${replaceIdentifier(using, change.column, `(${oldDefault})`)})`;
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
  /** Each column's default where an INSERT that leaves it out can be told by it (it then counts as not written), or null. */
  readonly unset: { readonly old: string | null; readonly neu: string | null };
}

function postgresSync(parts: SyncParts & { readonly type: string }): string[] {
  const { facts, t, old, neu, base, using, backOf, type, unset } = parts;
  const q = facts.q;
  // An INSERT that leaves the old column out gives it its default: the new column's value wins then.
  const oldUnset = `NEW.${old} IS NULL${unset.old !== null ? ` OR NEW.${old} IS NOT DISTINCT FROM ${unset.old}` : ''}`;
  return [
    `CREATE FUNCTION ${q(base)}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  converted ${type};
BEGIN
  SELECT ${using} INTO converted FROM (SELECT NEW.*) AS ${t};
  IF TG_OP = 'INSERT' THEN
    IF NEW.${neu} IS NULL THEN NEW.${neu} := converted;
    ELSIF ${oldUnset} THEN NEW.${old} := ${backOf(`NEW.${neu}`)};
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
  const { facts, t, old, neu, base, using, backOf, unset } = parts;
  const q = facts.q;
  const row = facts.key.length > 0 ? facts.key.map((k) => `${q(k)} = NEW.${q(k)}`).join(' AND ') : 'rowid = NEW.rowid';
  // An INSERT that leaves a column out gives it its default: it counts as not written.
  const unsetOf = (column: string, d: string | null) => (d === null ? `NEW.${column} IS NULL` : `(NEW.${column} IS NULL OR NEW.${column} IS ${d})`);
  const [oldUnset, neuUnset] = [unsetOf(old, unset.old), unsetOf(neu, unset.neu)];
  return [
    `CREATE TRIGGER ${q(`${base}_ins`)} AFTER INSERT ON ${t} FOR EACH ROW WHEN ${neuUnset} OR ${oldUnset}
BEGIN
  UPDATE ${t} SET ${neu} = CASE WHEN ${neuUnset} THEN ${using} ELSE ${neu} END, ${old} = CASE WHEN NOT (${neuUnset}) AND ${oldUnset} THEN ${backOf(`NEW.${neu}`)} ELSE ${old} END WHERE ${row};
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
