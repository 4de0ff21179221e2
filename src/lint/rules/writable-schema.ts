import type { Rule } from '../types.js';

/**
 * `PRAGMA writable_schema` lets statements edit sqlite_schema (the text of
 * every CREATE statement) directly. SQLite then trusts that text without
 * checking it against the stored rows and indexes: one mistake and the file
 * is corrupt ("malformed database schema"), for every connection, with no
 * error at the time. D1 refuses the pragma.
 */
const SCHEMA_TABLES = new Set(['sqlite_master', 'sqlite_schema', 'sqlite_temp_master', 'sqlite_temp_schema']);

export const writableSchema: Rule = {
  id: 'writable-schema',
  dialects: ['sqlite'],
  severity: 'error',
  summary: 'PRAGMA writable_schema, or INSERT/UPDATE/DELETE on sqlite_master / sqlite_schema',
  statement(statement, context) {
    const { fact } = statement;
    const help = 'change the schema with SQL that SQLite checks: rebuild the table (CREATE TABLE t_new (…); INSERT INTO t_new (…) SELECT … FROM t; DROP TABLE t; ALTER TABLE t_new RENAME TO t; then recreate its indexes, triggers and views)';
    const d1 = context.target.d1 ? '; D1 refuses it' : '';
    if (fact.kind === 'pragma' && fact.name === 'writable_schema') {
      return [{ message: `PRAGMA writable_schema${fact.value === null ? '' : ` = ${fact.value}`} lets the migration edit the schema text behind SQLite's checks: a mistake corrupts the database file${d1}`, help }];
    }
    if ((fact.kind === 'insert' || fact.kind === 'update' || fact.kind === 'delete') && SCHEMA_TABLES.has(fact.table.toLowerCase())) {
      const verb = fact.kind === 'insert' ? 'INSERT INTO' : fact.kind === 'update' ? 'UPDATE' : 'DELETE FROM';
      return [{ message: `${verb} ${fact.table} edits the schema text directly: a mistake corrupts the database file (and without writable_schema SQLite refuses it)${d1}`, help }];
    }
    return [];
  },
};
