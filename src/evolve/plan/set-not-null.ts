import { BACKFILL_BATCH } from './carry.js';
import type { PhaseFile, TableFacts } from './types.js';

/**
 * `cairn plan set-not-null orders.currency --fill "'EUR'"`:
 *   expand:   writes that leave the column NULL get the fill value (a trigger); PostgreSQL also adds
 *             CHECK (currency IS NOT NULL) NOT VALID, enforced on new writes without scanning the table
 *   backfill: the rows already NULL get the fill value (batched); only with --fill
 *   contract: PostgreSQL validates the CHECK (no long lock), then SET NOT NULL uses it instead of a
 *             scan, and drops it and the trigger. SQLite cannot add NOT NULL without rebuilding the
 *             table: there the contract replaces the fill triggers with triggers that refuse NULL.
 * Without --fill the application must already write the column; the expand then only adds the check.
 */
export function setNotNullPhases(facts: TableFacts, column: string, fill: string | null): PhaseFile[] {
  const { dialect, q } = facts;
  const change = `set-not-null ${facts.table}.${column}`;
  const title = `make ${facts.table}.${column} NOT NULL`;
  const base = `cairn_fill_${facts.table}_${column}`.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 50);
  const check = q(`${facts.table}_${column}_not_null`.slice(0, 63));
  const [t, c] = [q(facts.table), q(column)];
  const row = facts.key.length > 0 ? facts.key.map((k) => `${q(k)} = NEW.${q(k)}`).join(' AND ') : 'rowid = NEW.rowid';
  const lockTimeout = dialect === 'postgres' ? "SET LOCAL lock_timeout = '5s';\n" : '';

  const fillOn = (): string[] =>
    fill === null
      ? []
      : dialect === 'postgres'
        ? [
            `CREATE FUNCTION ${q(base)}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF NEW.${c} IS NULL THEN NEW.${c} := ${fill}; END IF;\n  RETURN NEW;\nEND\n$$;`,
            `CREATE TRIGGER ${q(base)} BEFORE INSERT OR UPDATE ON ${t} FOR EACH ROW EXECUTE FUNCTION ${q(base)}();`,
          ]
        : (['INSERT', `UPDATE OF ${c}`] as const).map((event, i) => `CREATE TRIGGER ${q(`${base}_${i === 0 ? 'ins' : 'upd'}`)} AFTER ${event} ON ${t} FOR EACH ROW WHEN NEW.${c} IS NULL\nBEGIN\n  UPDATE ${t} SET ${c} = ${fill} WHERE ${row};\nEND;`);
  const fillOff = (): string[] =>
    fill === null ? [] : dialect === 'postgres' ? [`DROP TRIGGER ${q(base)} ON ${t};`, `DROP FUNCTION ${q(base)}();`] : ['ins', 'upd'].map((s) => `DROP TRIGGER ${q(`${base}_${s}`)};`);
  const refuse = (['INSERT', `UPDATE OF ${c}`] as const).map((event, i) => `CREATE TRIGGER ${q(`${base}_refuse_${i === 0 ? 'ins' : 'upd'}`)} BEFORE ${event} ON ${t} FOR EACH ROW WHEN NEW.${c} IS NULL\nBEGIN\n  SELECT RAISE(ABORT, '${facts.table}.${column} may not be NULL');\nEND;`);
  const unrefuse = ['ins', 'upd'].map((s) => `DROP TRIGGER ${q(`${base}_refuse_${s}`)};`);

  const expandUp = dialect === 'postgres' ? [`ALTER TABLE ${t} ADD CONSTRAINT ${check} CHECK (${c} IS NOT NULL) NOT VALID;`, ...fillOn()] : fillOn();
  const expandDown = dialect === 'postgres' ? [...fillOff(), `ALTER TABLE ${t} DROP CONSTRAINT ${check};`] : fillOff();
  const contractUp =
    dialect === 'postgres'
      ? [`ALTER TABLE ${t} VALIDATE CONSTRAINT ${check};`, `ALTER TABLE ${t} ALTER COLUMN ${c} SET NOT NULL;`, `ALTER TABLE ${t} DROP CONSTRAINT ${check};`, ...fillOff()]
      : [...fillOff(), ...refuse];
  const contractDown =
    dialect === 'postgres'
      ? [`ALTER TABLE ${t} ADD CONSTRAINT ${check} CHECK (${c} IS NOT NULL) NOT VALID;`, `ALTER TABLE ${t} ALTER COLUMN ${c} DROP NOT NULL;`, ...fillOn()]
      : [...unrefuse, ...fillOn()];

  const phases: PhaseFile[] = [];
  if (expandUp.length > 0) {
    phases.push({
      phase: 'expand',
      name: `expand_${facts.table}_${column}_not_null`,
      type: dialect === 'postgres' ? 'transformative' : 'additive',
      title: `${title}, expand: ${fill !== null ? `writes that leave ${column} NULL get ${fill}` : `new writes must set ${column}`}`,
      rollback: `drops the ${dialect === 'postgres' ? 'check and ' : ''}trigger${fill !== null ? 's' : ''}`,
      change,
      up: `${lockTimeout}${expandUp.join('\n')}`,
      down: `${lockTimeout}${expandDown.join('\n')}`,
    });
  }
  if (fill !== null) {
    phases.push({
      phase: 'backfill',
      name: `backfill_${facts.table}_${column}`,
      type: 'transformative',
      title: `${title}, backfill: rows with ${column} NULL get ${fill}`,
      rollback: `cannot tell filled rows from others: the down section does nothing`,
      change,
      up: `${BACKFILL_BATCH}\nUPDATE ${t} SET ${c} = ${fill} WHERE ${c} IS NULL;`,
      down: `SELECT 1; -- the filled values stay`,
    });
  }
  phases.push({
    phase: 'contract',
    name: `contract_${facts.table}_${column}_not_null`,
    type: 'transformative',
    title: dialect === 'postgres' ? `${title}, contract: validate the check, SET NOT NULL, drop the check${fill !== null ? ' and the fill trigger' : ''}` : `${title}, contract: triggers refuse NULL in ${column} (a NOT NULL column constraint needs a table rebuild on SQLite)`,
    rollback: dialect === 'postgres' ? `DROP NOT NULL, and the expand's check${fill !== null ? ' and trigger' : ''} again` : `drops the refusing triggers${fill !== null ? ' and restores the fill triggers' : ''}`,
    change,
    up: `${dialect === 'postgres' ? "SET LOCAL lock_timeout = '5s';\n" : ''}${contractUp.join('\n')}`,
    down: `${lockTimeout}${contractDown.join('\n')}`,
  });
  return phases;
}
