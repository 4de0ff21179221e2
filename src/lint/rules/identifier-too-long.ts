import type { Node as PgNode } from '@pgsql/types';
import { lastName, walk } from '../parse/postgres.js';
import { isDataChange } from '../facts.js';
import type { Report, Rule } from '../types.js';

/**
 * PostgreSQL keeps at most 63 bytes of a name (NAMEDATALEN - 1) and silently
 * cuts longer ones, with only a NOTICE. The object then has a different name
 * than the one written: two long names that share their first 63 bytes
 * collide ("already exists"), and whatever looks the full name up as a string
 * (catalog queries, ORMs, schema-diff tools, code matching a constraint name
 * in an error) does not find it. The parser truncates too, so the tree holds
 * the cut names: we find the long ones in the statement's text.
 */
const MAX_BYTES = 63;

export const identifierTooLong: Rule = {
  id: 'identifier-too-long',
  dialects: ['postgres'],
  severity: 'error',
  summary: 'a name longer than 63 bytes, which PostgreSQL silently truncates',
  statement(statement) {
    // A data statement defines no name, and its tree may not even be parsed (parse/shape.ts): leave it unread.
    if (isDataChange(statement.fact)) return [];
    const { pg, sql } = statement;
    if (!pg) return [];
    const defined = definedNames(pg);
    const reports: Report[] = [];
    const seen = new Set<string>();
    for (const token of identifiers(sql)) {
      const bytes = byteLength(token.name);
      if (bytes <= MAX_BYTES) continue;
      const truncated = truncate(token.name);
      const kind = defined.get(truncated);
      // A long name that only refers to an existing object is cut the same way and still resolves.
      if (!kind || seen.has(truncated)) continue;
      seen.add(truncated);
      reports.push({
        message: `${kind} name "${token.name}" is ${bytes} bytes: PostgreSQL silently truncates it to ${MAX_BYTES} ("${truncated}"), so it can collide with another long name and anything that looks up the full name does not find it`,
        help: `shorten it to ${MAX_BYTES} bytes or fewer (abbreviate words, drop the table name from an index or constraint name), and use the short name everywhere`,
        offset: token.offset,
      });
    }
    for (const label of enumLabels(pg)) {
      const bytes = byteLength(label);
      if (bytes <= MAX_BYTES) continue;
      reports.push({
        message: `enum label '${label}' is ${bytes} bytes: PostgreSQL rejects labels longer than ${MAX_BYTES} bytes ("invalid enum label"), so this statement fails`,
        help: `shorten the label to ${MAX_BYTES} bytes or fewer`,
        offset: Math.max(0, sql.indexOf(`'${label.replace(/'/g, "''")}'`)),
      });
    }
    return reports;
  },
};

/** The names a statement defines (as the parser left them: lower-cased, cut to 63 bytes), and what they name. */
function definedNames(pg: PgNode): Map<string, string> {
  const names = new Map<string, string>();
  const add = (name: string | undefined, kind: string) => {
    if (name && !names.has(name)) names.set(name, kind);
  };
  if ('CreateStmt' in pg) add(pg.CreateStmt.relation?.relname, 'table');
  if ('CreateTableAsStmt' in pg) add(pg.CreateTableAsStmt.into?.rel?.relname, pg.CreateTableAsStmt.objtype === 'OBJECT_MATVIEW' ? 'materialized view' : 'table');
  if ('ViewStmt' in pg) add(pg.ViewStmt.view?.relname, 'view');
  if ('IndexStmt' in pg) add(pg.IndexStmt.idxname, 'index');
  if ('CreateSeqStmt' in pg) add(pg.CreateSeqStmt.sequence?.relname, 'sequence');
  if ('CreateSchemaStmt' in pg) add(pg.CreateSchemaStmt.schemaname, 'schema');
  if ('CreateEnumStmt' in pg) add(lastName(pg.CreateEnumStmt.typeName), 'type');
  if ('CompositeTypeStmt' in pg) add(pg.CompositeTypeStmt.typevar?.relname, 'type');
  if ('CreateDomainStmt' in pg) add(lastName(pg.CreateDomainStmt.domainname), 'domain');
  if ('CreateTrigStmt' in pg) add(pg.CreateTrigStmt.trigname, 'trigger');
  if ('CreateFunctionStmt' in pg) add(lastName(pg.CreateFunctionStmt.funcname), pg.CreateFunctionStmt.is_procedure ? 'procedure' : 'function');
  if ('CreatePolicyStmt' in pg) add(pg.CreatePolicyStmt.policy_name, 'policy');
  if ('RenameStmt' in pg) add(pg.RenameStmt.newname, 'new');
  walk(pg, (node) => {
    if ('ColumnDef' in node) add(node.ColumnDef.colname, 'column');
    if ('Constraint' in node) add(node.Constraint.conname, 'constraint');
    if ('FunctionParameter' in node) add(node.FunctionParameter.name, 'parameter');
  });
  return names;
}

function enumLabels(pg: PgNode): string[] {
  if ('CreateEnumStmt' in pg) return (pg.CreateEnumStmt.vals ?? []).flatMap((v) => ('String' in v && v.String.sval ? [v.String.sval] : []));
  if ('AlterEnumStmt' in pg && pg.AlterEnumStmt.newVal) return [pg.AlterEnumStmt.newVal];
  return [];
}

interface Identifier {
  /** As PostgreSQL reads it: unquoted names lower-cased (ASCII only), quoted ones unescaped. */
  readonly name: string;
  readonly offset: number;
}

/**
 * The identifiers of a statement's text, skipping comments, string constants
 * and dollar-quoted bodies. Keywords come along too; none is anywhere near 63 bytes.
 */
function identifiers(sql: string): Identifier[] {
  const found: Identifier[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else {
          i++;
        }
      }
    } else if (c === "'") {
      i = skipString(sql, i, false);
    } else if (c === '"') {
      let j = i + 1;
      let name = '';
      while (j < n) {
        if (sql[j] === '"' && sql[j + 1] === '"') {
          name += '"';
          j += 2;
        } else if (sql[j] === '"') {
          break;
        } else {
          name += sql[j++];
        }
      }
      found.push({ name, offset: i });
      i = j + 1;
    } else if (c === '$' && /[A-Za-z_\u0080-\uffff$]/.test(sql[i + 1] ?? '')) {
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i));
      if (!tag) {
        i++;
        continue;
      }
      const end = sql.indexOf(tag[0], i + tag[0].length);
      i = end < 0 ? n : end + tag[0].length;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j]!)) j++;
      const word = sql.slice(i, j);
      if (sql[j] === "'" && /^[ebxn]$/i.test(word)) {
        // E'…', B'…', X'…', N'…' are strings, not identifiers.
        i = skipString(sql, j, word.toLowerCase() === 'e');
        continue;
      }
      found.push({ name: word.replace(/[A-Z]/g, (ch) => ch.toLowerCase()), offset: i });
      i = j;
    } else if (/[0-9]/.test(c)) {
      while (i < n && /[A-Za-z0-9_.]/.test(sql[i]!)) i++;
    } else {
      i++;
    }
  }
  return found;
}

function skipString(sql: string, quote: number, backslashes: boolean): number {
  let i = quote + 1;
  while (i < sql.length) {
    if (backslashes && sql[i] === '\\') i += 2;
    else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
    else if (sql[i] === "'") return i + 1;
    else i++;
  }
  return i;
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The first 63 bytes, without splitting a character (as PostgreSQL's pg_mbcliplen). */
function truncate(text: string): string {
  let bytes = 0;
  let out = '';
  for (const char of text) {
    bytes += byteLength(char);
    if (bytes > MAX_BYTES) break;
    out += char;
  }
  return out;
}
