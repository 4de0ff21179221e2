import type { Constraint, FuncCall } from '@pgsql/types';
import { alterTableCommands, isNullConstant, lastName, typeName, walk } from '../parse/postgres.js';
import type { Report, Rule } from '../types.js';

/**
 * Since PostgreSQL 11, ADD COLUMN … DEFAULT stores a non-volatile default once
 * in the catalog and existing rows read it from there. A volatile default
 * (random(), gen_random_uuid(), clock_timestamp(), nextval() …) must differ
 * per row, so PostgreSQL computes it for every row: the whole table is
 * rewritten under ACCESS EXCLUSIVE. Before 11, any non-NULL default did that.
 */
export const volatileDefault: Rule = {
  id: 'volatile-default',
  dialects: ['postgres'],
  severity: 'error',
  summary: 'ADD COLUMN … DEFAULT that rewrites an existing table (volatile default; any default before PostgreSQL 11)',
  statement(statement, context) {
    const alter = alterTableCommands(statement);
    if (!alter || context.createdHere(alter.table)) return [];
    const { table, commands } = alter;
    const version = context.target.postgresVersion;
    const reports: Report[] = [];
    for (const { subtype, def } of commands) {
      if (subtype !== 'AT_AddColumn' || !def || !('ColumnDef' in def)) continue;
      const column = def.ColumnDef.colname ?? '';
      const type = typeName(def.ColumnDef) ?? '…';
      const constraint = (def.ColumnDef.constraints ?? []).flatMap((c) => ('Constraint' in c ? [c.Constraint] : [])).find((c) => c.contype === 'CONSTR_DEFAULT');
      if (!constraint?.raw_expr || isNullConstant(constraint.raw_expr)) continue;
      if (version < 11) {
        reports.push({
          message: `adding column "${column}" to "${table}" with a DEFAULT rewrites every row of "${table}" on PostgreSQL ${version} (before 11, any non-NULL default does) under an ACCESS EXCLUSIVE lock: no reads or writes until it is done`,
          help: `add the column without a default (ALTER TABLE ${table} ADD COLUMN ${column} ${type};), then ALTER TABLE ${table} ALTER COLUMN ${column} SET DEFAULT …; for new rows, and backfill existing rows in batches (UPDATE ${table} SET ${column} = … WHERE ${column} IS NULL AND id BETWEEN … AND …)`,
          offset: constraint.location,
        });
        continue;
      }
      const call = rewritingCall(constraint);
      if (!call) continue;
      const name = lastName(call.funcname);
      const text = callText(statement.sql, call.location ?? 0) ?? `${name}(…)`;
      const why = VOLATILE.has(name)
        ? `${text} is volatile`
        : `${text} is volatile unless its function was declared STABLE or IMMUTABLE (a function is VOLATILE by default)`;
      reports.push({
        message: `adding column "${column}" to "${table}" with DEFAULT ${text}: ${why}, so PostgreSQL computes it for every existing row and rewrites "${table}" under an ACCESS EXCLUSIVE lock (no reads or writes until it is done)`,
        help: `add the column without the default (ALTER TABLE ${table} ADD COLUMN ${column} ${type};), then ALTER TABLE ${table} ALTER COLUMN ${column} SET DEFAULT ${text}; for new rows, and backfill existing rows in batches (UPDATE ${table} SET ${column} = ${text} WHERE ${column} IS NULL AND id BETWEEN … AND …)${VOLATILE.has(name) ? '' : `; if ${name} is STABLE or IMMUTABLE, say so with -- cairn:allow volatile-default <reason>`}`,
        offset: call.location ?? constraint.location,
      });
    }
    return reports;
  },
};

/** Built-in (and common extension) functions PostgreSQL marks VOLATILE. */
const VOLATILE = new Set([
  'random',
  'random_normal',
  'setseed',
  'gen_random_uuid',
  'uuidv4',
  'uuidv7',
  'uuid_generate_v1',
  'uuid_generate_v1mc',
  'uuid_generate_v4',
  'gen_random_bytes',
  'gen_salt',
  'clock_timestamp',
  'timeofday',
  'nextval',
  'currval',
  'lastval',
  'setval',
  'pg_sleep',
]);

/**
 * Built-in functions marked STABLE or IMMUTABLE: evaluated once when the
 * column is added. now() and its kin are STABLE (the transaction's start
 * time); txid_current() is STABLE too.
 */
const NOT_VOLATILE = new Set([
  'now',
  'transaction_timestamp',
  'statement_timestamp',
  'txid_current',
  'pg_current_xact_id',
  'current_setting',
  'current_database',
  'current_schema',
  'version',
  'timezone',
  'date_trunc',
  'date_part',
  'extract',
  'make_date',
  'make_time',
  'make_timestamp',
  'make_timestamptz',
  'make_interval',
  'to_char',
  'to_date',
  'to_timestamp',
  'to_number',
  'lower',
  'upper',
  'initcap',
  'btrim',
  'ltrim',
  'rtrim',
  'concat',
  'concat_ws',
  'format',
  'replace',
  'substr',
  'substring',
  'left',
  'right',
  'length',
  'lpad',
  'rpad',
  'repeat',
  'split_part',
  'md5',
  'sha256',
  'sha512',
  'encode',
  'decode',
  'abs',
  'round',
  'ceil',
  'ceiling',
  'floor',
  'trunc',
  'power',
  'sqrt',
  'pi',
  'to_json',
  'to_jsonb',
  'json_build_object',
  'json_build_array',
  'jsonb_build_object',
  'jsonb_build_array',
  'array_fill',
  'string_to_array',
  'array_to_string',
  'int4range',
  'int8range',
  'numrange',
  'tsrange',
  'tstzrange',
  'daterange',
  'uuid_nil',
  'uuid_generate_v3',
  'uuid_generate_v5',
]);

/** The first function call in the default that is (or may be) volatile. */
function rewritingCall(constraint: Constraint): FuncCall | undefined {
  const calls: FuncCall[] = [];
  walk(constraint.raw_expr, (node) => {
    if ('FuncCall' in node) calls.push(node.FuncCall);
  });
  return calls.find((call) => !NOT_VOLATILE.has(lastName(call.funcname)));
}

/** `name(args)` as written, from the call's offset to its closing parenthesis. */
function callText(sql: string, start: number): string | null {
  let depth = 0;
  let quoted = false;
  for (let i = start; i < sql.length; i++) {
    const char = sql[i];
    if (char === "'") quoted = !quoted;
    if (quoted) continue;
    if (char === '(') depth++;
    else if (char === ')' && --depth === 0) return sql.slice(start, i + 1);
  }
  return null;
}
