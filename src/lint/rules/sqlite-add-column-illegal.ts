import Database from 'better-sqlite3';
import type { Loose } from '../parse/sqlite.js';
import { foreignKeysOn, olderThan, quote, same } from '../sqlite-helpers.js';
import type { Report, Rule, StatementContext } from '../types.js';

/**
 * SQLite's ADD COLUMN only appends a column definition to the table: it never
 * rewrites rows. So it refuses a column that would need the existing rows
 * checked or filled: PRIMARY KEY, UNIQUE, a STORED generated column, NOT NULL
 * without a default, a default that is not a constant (CURRENT_TIMESTAMP,
 * (datetime('now'))), and, with foreign keys on, REFERENCES with a non-NULL
 * default. Most of these fail only once the table has rows, which is exactly
 * production, not the empty development database. SQLite is the judge: the
 * column is added to a throw-away copy of the table, with a row and without.
 */
export const sqliteAddColumnIllegal: Rule = {
  id: 'sqlite-add-column-illegal',
  dialects: ['sqlite'],
  severity: 'error',
  summary: 'ALTER TABLE … ADD COLUMN forms SQLite refuses (PRIMARY KEY, UNIQUE, STORED, NOT NULL DEFAULT NULL, non-constant default, REFERENCES with default)',
  statement(statement, context) {
    const { fact } = statement;
    if (fact.kind !== 'alter_table' || !context.sqlite) return [];
    const columns = context.sqlite.prepare('SELECT name, hidden FROM pragma_table_xinfo(?)').all(fact.table) as { name: string; hidden: number }[];
    if (columns.length === 0) return [];
    const actions = ((statement.sqlite as unknown as Loose | null)?.actions as Loose | undefined)?.items as Loose[] | undefined;
    const foreignKeys = foreignKeysOn(statement, context);
    const reports: Report[] = [];
    fact.actions.forEach((action, index) => {
      if (action.type !== 'add_column') return;
      const node = actions?.[index]?.column as Loose | undefined;
      if (!node?.range) return;
      const definition = statement.sql.slice(node.range[0], node.range[1]);
      const withRows = probe(columns, definition, true, foreignKeys);
      const refusal = withRows && REFUSALS.find((r) => r.error.test(withRows));
      if (!refusal) return;
      // NOT NULL with no DEFAULT on an existing table is add-required-column's (both dialects);
      // the explicit DEFAULT NULL, and a table created and filled in this migration, are ours.
      if (refusal.constraint === 'constraint_not_null' && !action.defaultIsNull && !context.createdHere(fact.table)) return;
      const always = probe(columns, definition, false, foreignKeys) !== null;
      if (!always && emptyHere(context, fact.table)) return;
      const column = `"${action.column}" of "${fact.table}"`;
      const part = constraintOf(node, refusal.constraint);
      // sql-parser-cst reads `TEXT GENERATED ALWAYS AS (…)` as type "TEXT GENERATED ALWAYS" + `AS (…)`, as SQLite's own grammar does.
      const typeWords = (node.dataType as Loose | undefined)?.name;
      const generated = Array.isArray(typeWords) ? (typeWords as Loose[]).find((word) => /^generated$/i.test(String(word.text))) : undefined;
      const start = refusal.constraint === 'constraint_generated' && generated?.range ? generated.range[0] : part?.range?.[0];
      const partText = part?.range && start !== undefined ? statement.sql.slice(start, part.range[1]) : '';
      const type = (action.dataType ?? '').replace(/\s+GENERATED(\s+ALWAYS)?\s*$/i, '');
      const when = always ? 'the statement fails' : `it fails as soon as "${fact.table}" has rows (it has in production)`;
      reports.push({
        message: `SQLite cannot ADD COLUMN ${column} ${refusal.what(partText, context.target.d1)}: ${when}`,
        help: refusal.help({ table: fact.table, column: action.column, type, part: partText }),
        offset: start ?? action.offset,
      });
    });
    return reports;
  },
};

interface Names {
  readonly table: string;
  readonly column: string;
  readonly type: string;
  /** The offending constraint as written. */
  readonly part: string;
}

interface Refusal {
  /** SQLite's error for it. */
  readonly error: RegExp;
  /** The constraint to point at. */
  readonly constraint: string;
  readonly what: (part: string, d1: boolean) => string;
  readonly help: (names: Names) => string;
}

const rebuild = ({ table }: Names) => `CREATE TABLE ${table}_new (…with the column…); INSERT INTO ${table}_new (…) SELECT … FROM ${table}; DROP TABLE ${table}; ALTER TABLE ${table}_new RENAME TO ${table}`;
const plain = ({ table, column, type }: Names) => `ALTER TABLE ${table} ADD COLUMN ${column}${type ? ` ${type.toUpperCase()}` : ''}`;

const REFUSALS: readonly Refusal[] = [
  {
    error: /Cannot add a PRIMARY KEY column/i,
    constraint: 'constraint_primary_key',
    what: () => 'as PRIMARY KEY',
    help: (n) => `a table's primary key cannot be added: rebuild the table with it (${rebuild(n)}); or add a plain column and a unique index: ${plain(n)}; CREATE UNIQUE INDEX ${n.table}_${n.column}_key ON ${n.table} (${n.column});`,
  },
  {
    error: /Cannot add a UNIQUE column/i,
    constraint: 'constraint_unique',
    what: () => 'with UNIQUE',
    help: (n) => `add the column without UNIQUE and enforce it with a unique index: ${plain(n)}; CREATE UNIQUE INDEX ${n.table}_${n.column}_key ON ${n.table} (${n.column});`,
  },
  {
    error: /cannot add a STORED column/i,
    constraint: 'constraint_generated',
    what: () => 'as a STORED generated column',
    help: (n) => `add it as VIRTUAL, which SQLite computes on read: ${n.part ? `${plain(n)} ${n.part.replace(/\s+STORED\s*$/i, ' VIRTUAL')}` : `${plain(n)} GENERATED ALWAYS AS (…) VIRTUAL`}; or rebuild the table with the STORED column (${rebuild(n)})`,
  },
  {
    error: /Cannot add a NOT NULL column with default value NULL/i,
    constraint: 'constraint_not_null',
    what: () => 'NOT NULL without a non-NULL DEFAULT (existing rows would hold NULL)',
    help: (n) => `give it a constant default: ${plain(n)} NOT NULL DEFAULT <value>; or add it nullable, backfill it (UPDATE ${n.table} SET ${n.column} = …), and rebuild the table to make it NOT NULL (${rebuild(n)})`,
  },
  {
    error: /Cannot add a column with non-constant default/i,
    constraint: 'constraint_default',
    what: (part) => `with ${part || 'its DEFAULT'}, which is not a constant (existing rows would need it computed)`,
    help: (n) => `add it without that default and backfill it: ${plain(n)}; UPDATE ${n.table} SET ${n.column} = ${defaultExpression(n.part)}; then set it in the INSERTs (or an AFTER INSERT trigger); to have the DEFAULT itself, rebuild the table (${rebuild(n)})`,
  },
  {
    error: /Cannot add a REFERENCES column with non-NULL default value/i,
    constraint: 'references_specification',
    what: (_part, d1) =>
      `with REFERENCES and a non-NULL DEFAULT while foreign keys are on (${d1 ? 'D1 always enforces them' : 'Cairn\'s SQLite connection turns them on, as most applications do'})`,
    help: (n) => `add it without a default (${plain(n)} ${n.part || 'REFERENCES …'}) and backfill it with UPDATE ${n.table} SET ${n.column} = …; or rebuild the table (${rebuild(n)})`,
  },
];

/**
 * Adds the column to a copy of the table (same column names, no constraints)
 * in a scratch database, with one row or none. Returns SQLite's error, or null.
 */
function probe(columns: readonly { name: string; hidden: number }[], definition: string, withRow: boolean, foreignKeys: boolean): string | null {
  const db = new Database(':memory:');
  try {
    db.pragma(`foreign_keys = ${foreignKeys ? 'on' : 'off'}`);
    db.exec(`CREATE TABLE probe (${columns.filter((c) => c.hidden !== 1).map((c) => quote(c.name)).join(', ')})`);
    if (withRow) db.exec('INSERT INTO probe DEFAULT VALUES');
    db.exec(`ALTER TABLE probe ADD COLUMN ${definition}`);
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    db.close();
  }
}

/**
 * The table is still empty when the statement runs: created earlier in this
 * migration and nothing inserted into it since. SQLite (3.32+) checks these
 * forms only against existing rows.
 */
function emptyHere(context: StatementContext, table: string): boolean {
  if (!context.createdHere(table)) return false;
  if (olderThan(context.target.sqliteVersion, [3, 32, 0])) return false;
  return !context.before.some((s) => s.fact.kind === 'insert' && same(s.fact.table, table));
}

/** The column's constraint of that type (with its CONSTRAINT name, if it has one). */
function constraintOf(column: Loose, type: string): Loose | undefined {
  for (const c of (column.constraints as Loose[] | undefined) ?? []) {
    const inner = c.type === 'constraint' ? (c.constraint as Loose) : c;
    if (inner.type === type) return c;
  }
  return undefined;
}

/** `DEFAULT (datetime('now'))` → `datetime('now')`, to write the backfill. */
function defaultExpression(part: string): string {
  const expression = part.replace(/^(?:CONSTRAINT\s+\S+\s+)?DEFAULT\s+/i, '').trim();
  return expression || '…';
}
