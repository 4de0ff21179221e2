import { describe, it, expect } from 'vitest';
import { hasStatement, splitStatements } from './split.js';

const sqls = (text: string): string[] => splitStatements(text).map((s) => s.sql);

describe('splitStatements: basics', () => {
  it('splits on semicolons and trims, dropping the semicolon', () => {
    const text = `CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
CREATE UNIQUE INDEX users_email ON users (email);
`;
    expect(sqls(text)).toEqual([
      'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)',
      'CREATE UNIQUE INDEX users_email ON users (email)',
    ]);
  });

  it('returns [] for empty, whitespace-only and comment-only input', () => {
    expect(splitStatements('')).toEqual([]);
    expect(splitStatements('  \n\t\r\n')).toEqual([]);
    expect(splitStatements('-- nothing to do\n/* really\n nothing */\n-- at all')).toEqual([]);
  });

  it('drops empty statements', () => {
    expect(sqls(';;  ;\nSELECT 1;; ; -- done\n;')).toEqual(['SELECT 1']);
  });

  it('returns a trailing statement without a semicolon', () => {
    expect(sqls('DROP TABLE a;\nDROP TABLE b\n')).toEqual(['DROP TABLE a', 'DROP TABLE b']);
  });

  it('keeps comments inside a statement but not leading ones', () => {
    const text = `-- add the column
/* nullable for now */
ALTER TABLE users
  ADD COLUMN name TEXT -- backfilled later
;`;
    expect(sqls(text)).toEqual(['ALTER TABLE users\n  ADD COLUMN name TEXT -- backfilled later']);
  });

  it('splits BEGIN; ... COMMIT; into separate statements', () => {
    const text = `BEGIN;
INSERT INTO settings (key, value) VALUES ('theme', 'dark');
UPDATE settings SET value = 'light' WHERE key = 'theme';
COMMIT;`;
    expect(sqls(text)).toEqual([
      'BEGIN',
      "INSERT INTO settings (key, value) VALUES ('theme', 'dark')",
      "UPDATE settings SET value = 'light' WHERE key = 'theme'",
      'COMMIT',
    ]);
  });

  it('splits BEGIN TRANSACTION / END TRANSACTION (SQLite)', () => {
    expect(sqls('BEGIN TRANSACTION; DELETE FROM t; END TRANSACTION;')).toEqual([
      'BEGIN TRANSACTION',
      'DELETE FROM t',
      'END TRANSACTION',
    ]);
  });
});

describe('splitStatements: strings, identifiers and comments', () => {
  it('ignores ; and -- inside single-quoted strings, including doubled quotes', () => {
    const text = `INSERT INTO notes (body) VALUES ('it''s; -- not a comment');
SELECT 'a;b';`;
    expect(sqls(text)).toEqual([
      "INSERT INTO notes (body) VALUES ('it''s; -- not a comment')",
      "SELECT 'a;b'",
    ]);
  });

  it('handles PostgreSQL E strings with backslash escapes', () => {
    const text = `INSERT INTO t (s) VALUES (E'\\'; still inside\\\\'); SELECT e'x\\';y';`;
    expect(sqls(text)).toEqual([
      `INSERT INTO t (s) VALUES (E'\\'; still inside\\\\')`,
      `SELECT e'x\\';y'`,
    ]);
  });

  it('does not treat backslash as an escape in standard strings', () => {
    // 'C:\' is a complete string; the ; after it ends the statement.
    expect(sqls(`INSERT INTO paths VALUES ('C:\\'); SELECT 1;`)).toEqual([
      `INSERT INTO paths VALUES ('C:\\')`,
      'SELECT 1',
    ]);
  });

  it('does not treat a word ending in e as an E string prefix', () => {
    expect(sqls(`SELECT * FROM t WHERE path LIKE'C:\\'; SELECT 2;`)).toEqual([
      `SELECT * FROM t WHERE path LIKE'C:\\'`,
      'SELECT 2',
    ]);
  });

  it('ignores ; inside double-quoted, backtick and bracket identifiers', () => {
    const text =
      'CREATE TABLE "odd;name" ("col""; x" TEXT);\n' +
      'CREATE TABLE `back;tick` (a);\n' +
      'CREATE TABLE [brack;et] ([a;b] TEXT);';
    expect(sqls(text)).toEqual([
      'CREATE TABLE "odd;name" ("col""; x" TEXT)',
      'CREATE TABLE `back;tick` (a)',
      'CREATE TABLE [brack;et] ([a;b] TEXT)',
    ]);
  });

  it('treats [ after a name as a PostgreSQL array subscript, not an identifier', () => {
    const text = `UPDATE t SET tags = ARRAY['a]b;c'] WHERE ids[1] = 2; SELECT 1;`;
    expect(sqls(text)).toEqual([`UPDATE t SET tags = ARRAY['a]b;c'] WHERE ids[1] = 2`, 'SELECT 1']);
  });

  it('ignores ; inside line and block comments', () => {
    const text = `SELECT 1 -- one; two
  + 1 /* three; four */;
SELECT 2;`;
    expect(sqls(text)).toEqual(['SELECT 1 -- one; two\n  + 1 /* three; four */', 'SELECT 2']);
  });

  it('handles nested block comments', () => {
    const text = `/* outer /* inner; */ still comment; */
CREATE TABLE a (id int);
SELECT /* x /* y */ ; */ 1;`;
    const result = splitStatements(text);
    expect(result.map((s) => s.sql)).toEqual(['CREATE TABLE a (id int)', 'SELECT /* x /* y */ ; */ 1']);
    expect(result[0]?.line).toBe(2);
  });
});

describe('splitStatements: PostgreSQL dollar quotes', () => {
  it('keeps a plpgsql function body in one statement', () => {
    const text = `CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_touch BEFORE UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
`;
    const result = splitStatements(text);
    expect(result).toHaveLength(2);
    expect(result[0]?.sql).toMatch(/^CREATE OR REPLACE FUNCTION[\s\S]*\$\$ LANGUAGE plpgsql$/);
    expect(result[0]?.sql).toContain('RETURN NEW;\nEND;\n$$');
    expect(result[1]).toMatchObject({ line: 8, column: 1 });
    expect(result[1]?.sql).toMatch(/EXECUTE FUNCTION touch_updated_at\(\)$/);
  });

  it('supports tagged dollar quotes containing $$', () => {
    const text = `CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN $$a;b$$ || 'c;d';
END
$fn$;
SELECT f();`;
    expect(sqls(text)).toEqual([
      `CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN $$a;b$$ || 'c;d';
END
$fn$`,
      'SELECT f()',
    ]);
  });

  it('does not treat $1 parameters as dollar quotes', () => {
    const text = `PREPARE q (int, int) AS SELECT $1 + $2; SELECT 2;`;
    expect(sqls(text)).toEqual(['PREPARE q (int, int) AS SELECT $1 + $2', 'SELECT 2']);
  });

  it('keeps BEGIN ATOMIC function bodies in one statement', () => {
    const text = `CREATE FUNCTION add_one(x int) RETURNS int
LANGUAGE SQL
BEGIN ATOMIC
  SELECT CASE WHEN x IS NULL THEN 0 ELSE x END;
  SELECT x + 1;
END;
SELECT add_one(1);`;
    expect(sqls(text)).toEqual([
      `CREATE FUNCTION add_one(x int) RETURNS int
LANGUAGE SQL
BEGIN ATOMIC
  SELECT CASE WHEN x IS NULL THEN 0 ELSE x END;
  SELECT x + 1;
END`,
      'SELECT add_one(1)',
    ]);
  });
});

describe('splitStatements: SQLite triggers', () => {
  it('keeps a trigger body with CASE ... END in one statement', () => {
    const text = `CREATE TRIGGER orders_audit AFTER UPDATE ON orders
WHEN old.status <> new.status
BEGIN
  INSERT INTO audit (order_id, note)
  VALUES (new.id, CASE new.status WHEN 'paid' THEN 'paid; thanks' ELSE 'changed' END);
  UPDATE orders SET updated_at = CURRENT_TIMESTAMP WHERE id = new.id;
END;
CREATE INDEX audit_order ON audit (order_id);`;
    const result = splitStatements(text);
    expect(result.map((s) => s.sql)).toEqual([
      text.slice(0, text.indexOf('END;') + 3),
      'CREATE INDEX audit_order ON audit (order_id)',
    ]);
    expect(result[1]?.line).toBe(8);
  });

  it('handles lower-case CREATE TEMP TRIGGER and IF NOT EXISTS', () => {
    const text = `create temp trigger if not exists t1 before delete on a begin
  select raise(abort, 'no; deleting');
  delete from b where a_id = old.id;
end;
select 1;`;
    expect(sqls(text)).toHaveLength(2);
    expect(sqls(text)[1]).toBe('select 1');
  });

  it('matches keywords as whole words only', () => {
    // "backend", "ending", "begins", "cases" must not affect nesting.
    const text = `CREATE TRIGGER t AFTER INSERT ON backend_jobs BEGIN
  UPDATE stats SET ending = 1, begins = 2, cases = 3;
  INSERT INTO log (msg) VALUES ('END');
END;
SELECT 1;`;
    expect(sqls(text)).toHaveLength(2);
    expect(sqls(text)[0]).toMatch(/VALUES \('END'\);\nEND$/);
  });

  it('does not treat a column named trigger in CREATE TABLE as a trigger', () => {
    const text = `CREATE TABLE events (id INTEGER, "trigger" TEXT, trigger_kind TEXT);
BEGIN;
SELECT 1;`;
    expect(sqls(text)).toEqual([
      'CREATE TABLE events (id INTEGER, "trigger" TEXT, trigger_kind TEXT)',
      'BEGIN',
      'SELECT 1',
    ]);
  });

  it('splits a PostgreSQL trigger without a body normally', () => {
    const text = `CREATE TRIGGER t BEFORE UPDATE ON a FOR EACH ROW EXECUTE FUNCTION f();
SELECT 1;`;
    expect(sqls(text)).toHaveLength(2);
  });
});

describe('splitStatements: positions', () => {
  it('reports line, column and offset of the first token after leading comments', () => {
    const text = `-- migration: add posts
/* multi
   line */
  CREATE TABLE posts (id int);   INSERT INTO posts VALUES (1);
`;
    const result = splitStatements(text);
    expect(result).toEqual([
      { sql: 'CREATE TABLE posts (id int)', line: 4, column: 3, offset: text.indexOf('CREATE') },
      { sql: 'INSERT INTO posts VALUES (1)', line: 4, column: 34, offset: text.indexOf('INSERT') },
    ]);
  });

  it('counts CRLF, LF and lone CR as line breaks', () => {
    const text = '-- header\r\nSELECT 1;\r\n\r\n  SELECT\r\n2;\nSELECT 3;\rSELECT 4;';
    expect(splitStatements(text).map(({ line, column }) => [line, column])).toEqual([
      [2, 1],
      [4, 3],
      [6, 1],
      [7, 1],
    ]);
    expect(splitStatements(text)[1]?.sql).toBe('SELECT\r\n2');
  });

  it('counts lines inside multi-line strings and comments of earlier statements', () => {
    const text = `INSERT INTO t VALUES ('a
b;
c'); /* x
y */ SELECT 1;`;
    expect(splitStatements(text).map((s) => s.line)).toEqual([1, 4]);
  });

  it('offsets line numbers by firstLine', () => {
    const text = '\n-- up\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);';
    const result = splitStatements(text, { firstLine: 10 });
    expect(result.map((s) => s.line)).toEqual([12, 13]);
    expect(result[0]?.offset).toBe(text.indexOf('CREATE'));
  });
});

describe('splitStatements: unterminated input', () => {
  it('returns the rest of an unterminated string as the last statement', () => {
    expect(sqls("SELECT 1;\nINSERT INTO t VALUES ('oops);\nSELECT 2;")).toEqual([
      'SELECT 1',
      "INSERT INTO t VALUES ('oops);\nSELECT 2;",
    ]);
  });

  it('returns the rest of an unterminated dollar quote as the last statement', () => {
    expect(sqls('SELECT 1; DO $$ BEGIN PERFORM 1; END;')).toEqual(['SELECT 1', 'DO $$ BEGIN PERFORM 1; END;']);
  });

  it('does not silently drop SQL swallowed by an unterminated block comment', () => {
    expect(sqls('SELECT 1;\n/* forgot to close\nDROP TABLE users;')).toEqual([
      'SELECT 1',
      '/* forgot to close\nDROP TABLE users;',
    ]);
    expect(sqls('SELECT 1 /* open; SELECT 2;')).toEqual(['SELECT 1 /* open; SELECT 2;']);
  });

  it('returns the rest of an unclosed trigger body as the last statement', () => {
    expect(sqls('CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM b; SELECT 1;')).toEqual([
      'CREATE TRIGGER t AFTER INSERT ON a BEGIN DELETE FROM b; SELECT 1;',
    ]);
  });
});

describe('hasStatement', () => {
  it('says whether splitStatements finds a statement, without splitting', () => {
    const texts = ['', '  \n\t', ';;', '-- only a comment\n', '/* block */ ;', '/* unterminated', '-- a\nSELECT 1', 'SELECT 1;', '  ;  x', '/* a */ -- b\n;\n', 'é', '\r\n--x\r\n'];
    for (const text of texts) expect([text, hasStatement(text)]).toEqual([text, splitStatements(text).length > 0]);
  });
});
