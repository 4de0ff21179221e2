import type { ColumnDef, Node as PgNode } from '@pgsql/types';
import { alterTableCommands, escapeRegExp, typeName } from '../parse/postgres.js';
import type { Report, Rule, StatementContext } from '../types.js';

/**
 * ALTER COLUMN … TYPE rewrites the whole table and rebuilds its indexes under
 * an ACCESS EXCLUSIVE lock (no reads, no writes), and running code that reads
 * or writes the old type may break. PostgreSQL skips the rewrite only when the
 * old values are valid as they are in the new type (binary-coercible, or a
 * looser length/precision of the same type): those changes are not flagged.
 */
export const changeColumnType: Rule = {
  id: 'change-column-type',
  dialects: ['postgres'],
  severity: 'error',
  summary: 'ALTER COLUMN … TYPE on an existing table, unless PostgreSQL can skip the rewrite',
  statement(statement, context) {
    const alter = alterTableCommands(statement);
    if (!alter || context.createdHere(alter.table)) return [];
    const { table, commands } = alter;
    const reports: Report[] = [];
    for (const { subtype, name, def } of commands) {
      if (subtype !== 'AT_AlterColumnType' || !name || !def || !('ColumnDef' in def)) continue;
      const offset = Math.max(0, statement.sql.search(new RegExp(`\\bALTER\\s+(?:COLUMN\\s+)?"?${escapeRegExp(name)}"?\\s+(?:SET\\s+DATA\\s+)?TYPE\\b`, 'i')));
      const report = check(table, name, def.ColumnDef, context);
      if (report) reports.push({ ...report, offset });
    }
    return reports;
  },
};

function check(table: string, column: string, definition: ColumnDef, context: StatementContext): Omit<Report, 'offset'> | null {
  const to = typeName(definition) ?? '?';
  const from = context.postgres?.column(table, column)?.type ?? null;
  const help = `expand–contract: add a new column (ALTER TABLE ${table} ADD COLUMN ${column}_new ${to};), have the code write both, backfill it in batches (UPDATE ${table} SET ${column}_new = ${column} WHERE id BETWEEN … AND …), switch reads to it, then drop the old column in a later migration`;
  const effect = `rewrites "${table}" and rebuilds its indexes under an ACCESS EXCLUSIVE lock (no reads or writes until it is done)`;
  if (from === null) {
    return {
      message: `changing the type of "${table}"."${column}" to ${to}: its current type is unknown (not created by these migrations), so assume it ${effect} and breaks code that expects the old type`,
      help,
    };
  }
  const using = definition.raw_default;
  if (using && !keepsValue(using, column, to)) {
    return { message: `changing "${table}"."${column}" from ${from} to ${to} with a USING expression ${effect} and breaks code that expects ${from}`, help };
  }
  if (skipsRewrite(from, to)) return null;
  return { message: `changing "${table}"."${column}" from ${from} to ${to} ${effect} and breaks code that expects ${from}`, help };
}

/** USING col, or USING col::newtype: the values are not changed by the expression itself. */
function keepsValue(using: PgNode, column: string, to: string): boolean {
  const isColumn = (node: PgNode | undefined): boolean => {
    if (!node || !('ColumnRef' in node)) return false;
    const fields = node.ColumnRef.fields ?? [];
    const last = fields.at(-1);
    return last !== undefined && 'String' in last && last.String.sval === column;
  };
  if (isColumn(using)) return true;
  return 'TypeCast' in using && isColumn(using.TypeCast.arg) && typeName({ typeName: using.TypeCast.typeName }) === to;
}

interface ParsedType {
  readonly base: string;
  readonly modifiers: readonly number[];
  readonly array: boolean;
}

function parse(type: string): ParsedType {
  const match = /^(.*?)(?:\(([\d,\s]*)\))?(\[\])?$/.exec(type);
  const modifiers = match?.[2] ? match[2].split(',').map((m) => Number(m.trim())) : [];
  return { base: match?.[1] ?? type, modifiers, array: match?.[3] !== undefined };
}

/**
 * The changes PostgreSQL makes without rewriting the table: the old type is
 * binary-coercible to the new one, or the same type with a limit that every
 * old value already satisfies.
 */
function skipsRewrite(fromType: string, toType: string): boolean {
  if (fromType === toType) return true;
  const from = parse(fromType);
  const to = parse(toType);
  if (from.array || to.array) return false;
  const unbounded = to.modifiers.length === 0;
  const widens = from.modifiers.length > 0 && to.modifiers.length > 0 && to.modifiers[0]! >= from.modifiers[0]!;
  switch (`${from.base}>${to.base}`) {
    case 'varchar>text':
      return true;
    case 'varchar>varchar':
    case 'varbit>varbit':
      return unbounded || widens;
    case 'text>varchar':
      return unbounded;
    case 'numeric>numeric':
      // More digits, same scale (numeric(p) means scale 0).
      return unbounded || (widens && (to.modifiers[1] ?? 0) === (from.modifiers[1] ?? 0));
    case 'cidr>inet':
      return true;
    case 'timestamp>timestamp':
    case 'timestamptz>timestamptz':
    case 'time>time':
      // Fractional-second precision: no rewrite when it grows, or reaches the maximum (6).
      return unbounded || to.modifiers[0]! >= 6 || widens;
    default:
      return false;
  }
}
