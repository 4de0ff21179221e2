import type Database from 'better-sqlite3';
import type { Loose } from '../parse/sqlite.js';
import { splitInsert } from '../../source/split-insert.js';
import type { Report, Rule } from '../types.js';

/**
 * D1 has hard limits that a local SQLite file does not: a statement may be at
 * most 100,000 bytes and a table at most 100 columns. A migration past them
 * passes every local test and fails only when it reaches D1.
 */
const D1_MAX_STATEMENT_BYTES = 100_000;
const D1_MAX_COLUMNS = 100;

export const d1Limits: Rule = {
  id: 'd1-limits',
  dialects: ['sqlite'],
  severity: 'error',
  summary: 'D1 limits: a statement over 100 KB, a table over 100 columns',
  statement(statement, context) {
    if (!context.target.d1) return [];
    const reports: Report[] = [];
    const bytes = Buffer.byteLength(statement.sql, 'utf8');
    const pieces = bytes > D1_MAX_STATEMENT_BYTES ? splitInsert(statement.sql, D1_MAX_STATEMENT_BYTES) : null;
    if (pieces) {
      // Cairn sends it as several INSERTs in the migration's one batch; another tool would send it whole.
      reports.push({
        message: `this INSERT is ${bytes.toLocaleString('en')} bytes, over D1's ${D1_MAX_STATEMENT_BYTES.toLocaleString('en')}: Cairn sends it as ${pieces.length} INSERTs in the same batch, but \`wrangler d1 migrations apply\` would fail on it`,
        help: 'split it into INSERTs of a few hundred rows each to keep the file portable; or leave it to Cairn',
        severity: 'warning',
      });
    } else if (bytes > D1_MAX_STATEMENT_BYTES) {
      reports.push({
        message: `this statement is ${bytes.toLocaleString('en')} bytes: D1 rejects statements over ${D1_MAX_STATEMENT_BYTES.toLocaleString('en')} bytes (100 KB)`,
        help: 'split it: a multi-row INSERT into several INSERTs of a few hundred rows each; big data belongs in a seed or import step (wrangler d1 execute --file), not in one statement',
      });
    }
    const { fact } = statement;
    if (fact.kind === 'create_table') {
      const { count, offset } = createdColumns(statement.sql, statement.sqlite as unknown as Loose | null, context.sqlite);
      if (count > D1_MAX_COLUMNS) {
        reports.push({
          message: `CREATE TABLE ${fact.table} has ${count} columns: D1 allows at most ${D1_MAX_COLUMNS} per table`,
          help: `split the table: keep the hot columns in ${fact.table} and move the rest to ${fact.table}_details (id INTEGER PRIMARY KEY REFERENCES ${fact.table}(id), …), one row per ${fact.table} row; or group rarely-queried attributes in one JSON column`,
          ...(offset === undefined ? {} : { offset }),
        });
      }
    }
    if (fact.kind === 'alter_table' && context.sqlite) {
      const added = fact.actions.filter((a) => a.type === 'add_column');
      if (added.length > 0) {
        const existing = (context.sqlite.prepare('SELECT count(*) FROM pragma_table_xinfo(?) WHERE hidden <> 1').pluck().get(fact.table) as number) ?? 0;
        const count = existing + added.length;
        if (existing > 0 && count > D1_MAX_COLUMNS) {
          reports.push({
            message: `ADD COLUMN gives ${fact.table} ${count} columns: D1 allows at most ${D1_MAX_COLUMNS} per table`,
            help: `put the new column in a side table instead: CREATE TABLE ${fact.table}_details (id INTEGER PRIMARY KEY REFERENCES ${fact.table}(id), …), one row per ${fact.table} row; or group rarely-queried attributes in one JSON column`,
            offset: added[0]!.offset,
          });
        }
      }
    }
    return reports;
  },
};

/**
 * The number of columns a CREATE TABLE makes, and the offset of the first one
 * past the limit. For CREATE TABLE … AS SELECT, SQLite counts the SELECT's
 * result columns (prepared, never run).
 */
function createdColumns(sql: string, node: Loose | null, db: Database.Database | null): { count: number; offset?: number } {
  if (!node) return { count: 0 };
  const items = ((node.columns as Loose | undefined)?.expr as Loose | undefined)?.items as Loose[] | undefined;
  if (items) {
    const columns = items.filter((i) => i.type === 'column_definition');
    return { count: columns.length, offset: columns[D1_MAX_COLUMNS]?.range?.[0] };
  }
  const as = ((node.clauses as Loose[] | undefined) ?? []).find((c) => c.type === 'as_clause');
  const select = as?.expr as Loose | undefined;
  if (!db || !select?.range) return { count: 0 };
  try {
    return { count: db.prepare(sql.slice(select.range[0], select.range[1])).columns().length };
  } catch {
    return { count: 0 };
  }
}
