import type { Node as PgNode } from '@pgsql/types';
import { lastName, walk } from '../parse/postgres.js';
import { stateBefore, type Scan } from '../scan.js';
import type { LintStatement, Report, Rule, StatementContext } from '../types.js';
import type { PostgresSchema } from '../schema/postgres.js';

/**
 * Two ways ALTER TYPE … ADD VALUE goes wrong in a migration:
 *
 * - BEFORE/AFTER puts the new value in the middle of the enum's sort order.
 *   Enums compare by that order, so range conditions, ORDER BY and min()/max()
 *   written against the old list now include or sort the new value where
 *   nobody checked (and comparisons involving it are slower).
 * - A value added inside a transaction cannot be used until that transaction
 *   commits ("unsafe use of new value"); before PostgreSQL 12 ADD VALUE cannot
 *   run in a transaction block at all. A migration that adds the value and then
 *   uses it in the same transaction fails: those findings are errors.
 */
export const enumValueOrdering: Rule = {
  id: 'enum-value-ordering',
  dialects: ['postgres'],
  severity: 'warning',
  summary: 'ALTER TYPE … ADD VALUE with BEFORE/AFTER, or a new enum value used in the transaction that added it',
  statement(statement, context) {
    const start = stateBefore(context.statements, statement.index, context.inTransaction ? TRANSACTION_IN_TRANSACTION : TRANSACTION_OUTSIDE);
    const addedEarlier = start === null ? [] : valuesAdded(context.statements).filter((index) => index >= start && index < statement.index);
    // Only an ALTER TYPE, or a statement after one in the same transaction, has anything to report: the others keep their parse trees unread.
    if (!isAlterEnum(statement) && addedEarlier.length === 0) return [];
    const { pg } = statement;
    if (!pg) return [];
    const reports: Report[] = [];
    const added = addedValue(pg);
    if (added) {
      const createdHere = enumsCreated(context.before).has(added.type);
      if (added.neighbor && !createdHere) {
        const [where, comparison] = added.after ? ['after', '>'] : ['before', '<'];
        reports.push({
          message: `ALTER TYPE ${added.type} ADD VALUE '${added.value}' ${where.toUpperCase()} '${added.neighbor}' inserts it in the middle of the enum's sort order: comparisons, ORDER BY and min()/max() on ${added.type} values now place '${added.value}' ${where} '${added.neighbor}' (a condition like ${added.type}_column ${comparison} '${added.neighbor}' now matches it), which code written for the old order may not expect; comparisons involving it are also slower`,
          help: `append the value at the end instead: ALTER TYPE ${added.type} ADD VALUE '${added.value}'; and where order matters, say it explicitly in the query rather than relying on the enum's declaration order`,
        });
      }
      if (context.target.postgresVersion < 12 && start !== null && !createdHere) {
        reports.push({
          message: `ALTER TYPE ${added.type} ADD VALUE cannot run inside a transaction block before PostgreSQL 12, and this migration runs in one: it fails`,
          help: 'put it in a migration of its own marked -- cairn:no-transaction, and use the new value in a later migration',
          severity: 'error',
        });
      }
    }
    if (start !== null && context.target.postgresVersion >= 12) reports.push(...usesOfNewValues(statement, context, start, addedEarlier));
    return reports;
  },
};

interface AddedValue {
  readonly type: string;
  readonly value: string;
  readonly neighbor: string | null;
  readonly after: boolean;
}

function addedValue(pg: PgNode): AddedValue | null {
  if (!('AlterEnumStmt' in pg)) return null;
  const alter = pg.AlterEnumStmt;
  if (!alter.newVal || alter.oldVal) return null; // RENAME VALUE has oldVal
  return { type: lastName(alter.typeName), value: alter.newVal, neighbor: alter.newValNeighbor ?? null, after: alter.newValIsAfter === true };
}

/**
 * Where the transaction this statement runs in started (the index of its
 * first statement), or null when it runs on its own (autocommit, in a
 * no-transaction migration).
 */
function transactionStart(inTransaction: boolean): Scan<number | null> {
  return {
    initial: inTransaction ? 0 : null,
    step(start, statement) {
      if (statement.fact.kind !== 'transaction') return start;
      if (statement.fact.action === 'begin') return start ?? statement.index + 1;
      if (statement.fact.action === 'commit' || statement.fact.action === 'rollback') return null;
      return start;
    },
  };
}

const TRANSACTION_IN_TRANSACTION = transactionStart(true);
const TRANSACTION_OUTSIDE = transactionStart(false);

function isAlterEnum(statement: LintStatement): boolean {
  return statement.fact.kind === 'other' && statement.fact.name === 'AlterEnumStmt';
}

/** The indexes of the file's ALTER TYPE statements, found once per file. */
const alterEnums = new WeakMap<readonly LintStatement[], readonly number[]>();

function valuesAdded(statements: readonly LintStatement[]): readonly number[] {
  let found = alterEnums.get(statements);
  if (!found) alterEnums.set(statements, (found = statements.filter(isAlterEnum).map((s) => s.index)));
  return found;
}

/** Reported additions per file, so each new value is reported at its first use only. */
const reported = new WeakMap<readonly LintStatement[], Set<number>>();

function usesOfNewValues(statement: LintStatement, context: StatementContext, start: number, addedEarlier: readonly number[]): Report[] {
  const pg = statement.pg!;
  const done = reported.get(context.statements) ?? new Set<number>();
  reported.set(context.statements, done);
  const reports: Report[] = [];
  for (const index of addedEarlier) {
    const earlier = context.statements[index]!;
    const added = earlier.pg ? addedValue(earlier.pg) : null;
    if (!added || done.has(earlier.index)) continue;
    const offset = useOf(pg, added, context.postgres);
    if (offset === null) continue;
    // PostgreSQL 17+ lets a transaction use values it added to an enum type it also created.
    if (context.target.postgresVersion >= 17 && enumsCreated(context.statements.slice(start, index)).has(added.type)) continue;
    done.add(earlier.index);
    reports.push({
      message: `'${added.value}' was added to enum ${added.type} on line ${earlier.line}, in the same transaction: PostgreSQL refuses to use a new enum value before the transaction that added it commits ("unsafe use of new value '${added.value}' of enum type ${added.type}"), so the migration fails here`,
      help: `add the value in a migration of its own that runs first (a separate file, or one marked -- cairn:no-transaction so ALTER TYPE commits on its own), and use '${added.value}' in a later migration`,
      offset,
      // Not a matter of taste: PostgreSQL always rejects it, so `up` must refuse before applying anything.
      severity: 'error',
    });
  }
  return reports;
}

/**
 * Where the statement uses the new value: a string constant equal to it, in a
 * statement that concerns the enum type (a cast to it, a column of that type,
 * or a table we know nothing about). Returns the constant's offset, or null.
 */
function useOf(pg: PgNode, added: AddedValue, schema: PostgresSchema | null): number | null {
  let offset: number | null = null;
  let mentionsType = false;
  const tables = new Set<string>();
  const columns = new Set<string>();
  let insertWithoutColumns = false;
  walk(pg, (node) => {
    // RangeVar and TypeName sit unwrapped in their parents' fields (relation, typeName): recognise them by shape.
    const raw = node as { relname?: unknown; names?: unknown };
    if (typeof raw.relname === 'string') tables.add(raw.relname);
    if (Array.isArray(raw.names) && lastName(raw.names as PgNode[]) === added.type) mentionsType = true;
    if ('A_Const' in node && node.A_Const.sval?.sval === added.value && offset === null) offset = node.A_Const.location ?? 0;
    if ('ResTarget' in node && node.ResTarget.name) columns.add(node.ResTarget.name);
    if ('AlterTableCmd' in node && node.AlterTableCmd.name) columns.add(node.AlterTableCmd.name);
    if ('ColumnRef' in node) {
      const last = node.ColumnRef.fields?.at(-1);
      if (last && 'String' in last && last.String.sval) columns.add(last.String.sval);
    }
    if ('InsertStmt' in node && (node.InsertStmt.cols ?? []).length === 0) insertWithoutColumns = true;
  });
  if (offset === null) return null;
  if (mentionsType || insertWithoutColumns) return offset;
  for (const table of tables) {
    if (!schema?.hasTable(table)) return offset;
    for (const column of columns) {
      const type = schema.column(table, column)?.type;
      if (type && type.replace(/\[\]$/, '').split('.').at(-1) === added.type) return offset;
    }
  }
  return null;
}

function enumsCreated(statements: readonly LintStatement[]): Set<string> {
  const creates = statements.filter((s) => s.fact.kind === 'other' && s.fact.name === 'CreateEnumStmt');
  return new Set(creates.flatMap((s) => (s.pg && 'CreateEnumStmt' in s.pg ? [lastName(s.pg.CreateEnumStmt.typeName)] : [])));
}
