import type { TypedColumn, TypedRelation } from '../columns.js';
import type { Driver } from '../types.js';

/**
 * SQLite's columns, typed as better-sqlite3 returns them. The declared type
 * decides, by SQLite's own affinity rules (INT → number, CHAR/CLOB/TEXT →
 * string, BLOB → Buffer, REAL/FLOA/DOUB → number), except that a date or
 * time type, stored as text by convention, is a string, and BOOLEAN is 0 or 1.
 * A `CHECK (col IN ('a', 'b'))` makes the column `'a' | 'b'`. An INTEGER PRIMARY
 * KEY (the rowid) is never null and filled in when left out.
 */
export async function sqliteRelations(driver: Driver, exclude: readonly string[]): Promise<TypedRelation[]> {
  const objects = await driver.query<{ name: string; type: 'table' | 'view'; sql: string | null }>({
    sql: "SELECT name, type, sql FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name",
  });
  const relations: TypedRelation[] = [];
  for (const object of objects.filter((o) => !exclude.includes(o.name))) {
    const columns = await driver.query<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number; hidden: number }>({
      sql: 'SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid',
      params: [object.name],
    });
    const keyColumns = columns.filter((c) => c.pk > 0).length;
    const withoutRowid = /\)\s*WITHOUT\s+ROWID\s*[;,]?\s*$/i.test(object.sql ?? '');
    relations.push({
      name: object.name,
      kind: object.type,
      columns: columns
        .filter((c) => c.hidden === 0 || c.hidden === 2 || c.hidden === 3)
        .map((c): TypedColumn => {
          const rowid = c.pk === 1 && keyColumns === 1 && c.type.toUpperCase() === 'INTEGER' && !withoutRowid;
          const values = object.sql ? checkedValues(object.sql, c.name) : null;
          return {
            name: c.name,
            type: values ?? tsType(c.type),
            sqlType: c.type.toLowerCase(),
            nullable: !(c.notnull === 1 || rowid),
            generated: c.hidden === 2 || c.hidden === 3 ? 'always' : rowid || c.dflt_value !== null ? 'default' : 'no',
          };
        }),
    });
  }
  return relations;
}

function tsType(declared: string): string {
  const type = declared.toUpperCase();
  if (type === '') return 'unknown';
  if (/DATE|TIME/.test(type)) return 'string';
  if (type.includes('INT') || /BOOL/.test(type)) return 'number';
  if (/CHAR|CLOB|TEXT|JSON|UUID/.test(type)) return 'string';
  if (type.includes('BLOB')) return 'Buffer';
  return 'number'; // REAL, FLOAT, DOUBLE, NUMERIC, DECIMAL: numeric affinity
}

/** `'a' | 'b'` from `CHECK (col IN ('a', 'b'))` in the table's SQL, or null. */
function checkedValues(sql: string, column: string): string | null {
  const name = column.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`CHECK\\s*\\(\\s*["\`\\[]?${name}["\`\\]]?\\s+IN\\s*\\(((?:\\s*'(?:[^']|'')*'\\s*,?)+)\\)\\s*\\)`, 'i').exec(sql);
  if (!match) return null;
  const values = [...match[1]!.matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1]!.replace(/''/g, "'"));
  return values.map((value) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(' | ');
}
