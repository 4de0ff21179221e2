import type { Rule } from '../types.js';

/**
 * SQLite's ALTER TABLE knows only RENAME TO, RENAME COLUMN, ADD COLUMN and
 * DROP COLUMN. The grammar rejects everything else, so these statements reach
 * us unparsed: we recognise them from their text to name the rule and the fix.
 */
const UNSUPPORTED = /^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?([\w."`[\]]+)\s+(ALTER\s+(?:COLUMN\s+)?[\w"`[\]]+|ADD\s+CONSTRAINT|DROP\s+CONSTRAINT|ADD\s+(?:PRIMARY\s+KEY|UNIQUE|FOREIGN\s+KEY|CHECK)|MODIFY|CHANGE)\b/i;

export const sqliteUnsupportedAlter: Rule = {
  id: 'sqlite-unsupported-alter',
  dialects: ['sqlite'],
  severity: 'error',
  summary: 'ALTER TABLE forms SQLite does not have (ALTER COLUMN, ADD/DROP CONSTRAINT)',
  statement(statement) {
    if (!statement.parseError) return [];
    const match = UNSUPPORTED.exec(statement.sql);
    if (!match) return [];
    const what = match[2]!.replace(/\s+/g, ' ').toUpperCase().replace(/^ALTER (COLUMN )?.*/, 'ALTER COLUMN');
    return [
      {
        message: `SQLite has no ALTER TABLE … ${what}: this statement fails`,
        help: 'rebuild the table (SQLite\'s 12-step procedure): CREATE TABLE new_t with the new definition; INSERT INTO new_t SELECT … FROM t; DROP TABLE t; ALTER TABLE new_t RENAME TO t; then recreate its indexes, triggers and views. If other tables reference t with ON DELETE CASCADE or SET NULL, read cascade-on-drop first: the DROP fires those actions',
        offset: match.index + match[0].indexOf(match[2]!),
      },
    ];
  },
};
