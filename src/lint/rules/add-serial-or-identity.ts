import { alterTableCommands, typeName } from '../parse/postgres.js';
import type { Report, Rule } from '../types.js';

/**
 * A serial or identity column added to an existing table needs a value from
 * its sequence in every existing row: nextval() is volatile, so PostgreSQL
 * rewrites the whole table (and rebuilds its indexes) under ACCESS EXCLUSIVE,
 * blocking reads and writes until every row has been numbered.
 */
export const addSerialOrIdentity: Rule = {
  id: 'add-serial-or-identity',
  dialects: ['postgres'],
  severity: 'error',
  summary: 'ADD COLUMN of a serial type or GENERATED … AS IDENTITY on an existing table (full rewrite)',
  statement(statement, context) {
    const alter = alterTableCommands(statement);
    if (!alter || context.createdHere(alter.table)) return [];
    const { table, commands } = alter;
    const reports: Report[] = [];
    for (const { subtype, def } of commands) {
      if (subtype !== 'AT_AddColumn' || !def || !('ColumnDef' in def)) continue;
      const column = def.ColumnDef.colname ?? '';
      const type = typeName(def.ColumnDef) ?? '';
      const identity = (def.ColumnDef.constraints ?? []).flatMap((c) => ('Constraint' in c && c.Constraint.contype === 'CONSTR_IDENTITY' ? [c.Constraint] : []))[0];
      const serial = SERIAL[type];
      if (!serial && !identity) continue;
      const what = serial ? type : `GENERATED ${identity!.generated_when === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY`;
      const integer = serial ?? type;
      const sequence = `${table}_${column}_seq`;
      reports.push({
        message: `adding column "${column}" to "${table}" as ${what} numbers every existing row from a sequence, which rewrites "${table}" and its indexes under an ACCESS EXCLUSIVE lock (no reads or writes until it is done)`,
        help: `add a nullable column (ALTER TABLE ${table} ADD COLUMN ${column} ${integer};), CREATE SEQUENCE ${sequence} OWNED BY ${table}.${column};, ALTER TABLE ${table} ALTER COLUMN ${column} SET DEFAULT nextval('${sequence}'); for new rows, backfill existing rows in batches (UPDATE ${table} SET ${column} = nextval('${sequence}') WHERE ${column} IS NULL AND … ), then add NOT NULL and any unique index without long locks`,
        offset: serial ? (def.ColumnDef.typeName?.location ?? def.ColumnDef.location) : identity!.location,
      });
    }
    return reports;
  },
};

/** Serial pseudo-types and the integer type they stand for. */
const SERIAL: Readonly<Record<string, string>> = {
  smallserial: 'smallint',
  serial2: 'smallint',
  serial: 'integer',
  serial4: 'integer',
  bigserial: 'bigint',
  serial8: 'bigint',
};
