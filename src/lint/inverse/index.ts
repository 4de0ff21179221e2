import type { AlterTableCmd, Node as PgNode, RangeVar, TypeName } from '@pgsql/types';
import { CairnError } from '../../errors.js';
import type { Fact } from '../facts.js';
import { loadPostgresParser, parsePostgres } from '../parse/postgres.js';
import { parseSqlite, type Loose } from '../parse/sqlite.js';
import type { Dialect, LintStatement } from '../types.js';
import type { Migration, Section } from '../../source/migration.js';
import { splitStatements, type SqlStatement } from '../../source/split.js';

/**
 * Writes the down of an up made only of statements whose inverse is known
 * from the statement alone: CREATE TABLE → DROP TABLE, ADD COLUMN → DROP
 * COLUMN, RENAME a TO b → RENAME b TO a, and so on. Statements are read with
 * the linter's real parsers, inverted one by one and put in reverse order.
 * Anything whose inverse depends on what was there before (an UPDATE, a DROP,
 * ALTER COLUMN TYPE, CREATE OR REPLACE) makes the whole down ungeneratable,
 * with the first such statement's line as the reason: a partial down would
 * look like a rollback and not be one.
 *
 * IF NOT EXISTS is taken as "safe to run again", the linter's advice for
 * migrations outside a transaction, not as "may have been there before": it
 * becomes IF EXISTS in the inverse, which is then just as safe to re-run.
 *
 * Each generated statement carries the line of the up statement it undoes,
 * so a failing generated down points at the line that explains it.
 */
export type GeneratedDown =
  | {
      /** The inverse statements as SQL text, one per line, each ending in `;`. */
      readonly sql: string;
      readonly statements: readonly SqlStatement[];
    }
  | {
      /** Why there is none: "line 7: UPDATE cannot be reversed: write the down by hand". */
      readonly reason: string;
    };

export async function generateDown(migration: { readonly up: Pick<Section, 'statements'> }, target: { readonly dialect: Dialect }): Promise<GeneratedDown> {
  const statements = migration.up.statements;
  if (statements.length === 0) return { reason: 'the up section has no statements' };
  const parsed = target.dialect === 'postgres' ? await parsePostgres(statements) : await parseSqlite(statements);
  const quote = target.dialect === 'postgres' ? postgresQuoter((await loadPostgresParser()).scanSync) : null;
  const created = new Set<string>();
  const inverses: { sql: string; source: LintStatement }[] = [];
  const invert = (statement: LintStatement): Inverse => {
    if (statement.parseError) return { refused: `the statement does not parse (${statement.parseError})` };
    if (coveredByCreate(statement.fact, created)) return { sql: null };
    return quote ? invertPostgres(statement, quote) : invertSqlite(statement);
  };
  for (const statement of parsed) {
    const inverse = invert(statement);
    if ('refused' in inverse) return { reason: `line ${statement.line}: ${inverse.refused}` };
    if (inverse.sql !== null) inverses.push({ sql: inverse.sql, source: statement });
    if (statement.fact.kind === 'create_table') created.add(statement.fact.table);
  }
  let offset = 0;
  const generated = inverses.reverse().map(({ sql, source }) => {
    const statement: SqlStatement = { sql, line: source.line, column: source.column, offset };
    offset += sql.length + 2;
    return statement;
  });
  return { sql: generated.map((s) => `${s.sql};\n`).join(''), statements: generated };
}

/** The generated down as the migration's down section, for the runner: same file, the up's first line. */
export function generatedSection(migration: Pick<Migration, 'file' | 'up'>, down: Extract<GeneratedDown, { sql: string }>): Section {
  return { file: migration.file, firstLine: migration.up.firstLine, text: down.sql, statements: down.statements };
}

/**
 * For each migration without a written down: its generated down as a section,
 * or the reason there is none. Keyed by version; migrations with a down are left out.
 */
export async function generateDowns(migrations: readonly Migration[], target: { readonly dialect: Dialect }): Promise<Map<string, Section | string>> {
  const downs = new Map<string, Section | string>();
  for (const migration of migrations) {
    if (migration.down) continue;
    const down = await generateDown(migration, target);
    downs.set(migration.version, 'sql' in down ? generatedSection(migration, down) : down.reason);
  }
  return downs;
}

/**
 * The sections of a migration written from up SQL (`cairn new --from`): the
 * up as given (blank lines around it trimmed), and under the down marker the
 * generated down, or a comment saying why there is none. `firstLine` is the
 * file line the up will start on, so reasons name lines of the new file.
 */
export async function sectionsFromUp(sql: string, firstLine: number, target: { readonly dialect: Dialect }): Promise<{ up: string; down: string; rollback: string; generated: GeneratedDown }> {
  const up = sql.replace(/^(?:[ \t]*\r?\n)+/, '').trimEnd();
  if (up === '') throw new CairnError('USAGE', 'the up SQL given with --from is empty', { hint: 'pass a file with the statements, or pipe them: cairn new add_index --from - < up.sql' });
  const marker = /^[ \t]*--\s*(?:migrate:(?:up|down)\b.*|up|down)[ \t]*$/im.exec(up);
  if (marker) {
    throw new CairnError('USAGE', `--from takes the up SQL alone, but it has a section marker ("${marker[0].trim()}")`, { hint: 'pass only the statements of the up; cairn new writes the markers' });
  }
  const generated = await generateDown({ up: { statements: splitStatements(up, { firstLine }) } }, target);
  if ('reason' in generated) {
    return { up, down: `-- No down was generated (${generated.reason}).`, rollback: 'what the down section undoes, and what data it cannot bring back', generated };
  }
  return {
    up,
    down: `-- Generated by cairn from the up section, in reverse order: review it.\n${generated.sql.trimEnd()}`,
    rollback: 'drops what the up creates and renames back what it renamed (generated); rows written since are lost with what is dropped',
    generated,
  };
}

/** `sql: null`: nothing to undo. `refused`: why this statement cannot be undone (without its line). */
type Inverse = { readonly sql: string | null } | { readonly refused: string };

const byHand = 'write the down by hand';

/**
 * Seed rows and comments for a table this same up created go with its DROP
 * TABLE: they need no inverse of their own.
 */
function coveredByCreate(fact: Fact, created: ReadonlySet<string>): boolean {
  return (fact.kind === 'insert' || fact.kind === 'update' || fact.kind === 'delete') && created.has(fact.table);
}

// ---------------------------------------------------------------- PostgreSQL

type Quote = (name: string) => string;

/**
 * Quotes a name only when PostgreSQL needs it: anything but lower-case
 * letters, digits, `_` and `$`, or a keyword other than an unreserved one
 * (the rule of PostgreSQL's quote_ident), asked of PostgreSQL's own scanner.
 */
function postgresQuoter(scan: (sql: string) => { tokens: { keywordKind: number }[] }): Quote {
  const UNRESERVED = 1;
  return (name) => {
    const plain = /^[a-z_][a-z0-9_$]*$/.test(name) && (scan(name).tokens[0]?.keywordKind ?? 0) <= UNRESERVED;
    return plain ? name : `"${name.replace(/"/g, '""')}"`;
  };
}

function invertPostgres(statement: LintStatement, quote: Quote): Inverse {
  const node = statement.pg;
  if (!node) return refuse(statement);
  const relation = (rel: RangeVar | undefined, name = rel?.relname ?? ''): string => (rel?.schemaname ? `${quote(rel.schemaname)}.${quote(name)}` : quote(name));
  const dotted = (names: readonly PgNode[] | undefined): string => (names ?? []).flatMap((n) => ('String' in n ? [quote(n.String.sval ?? '')] : [])).join('.');
  const ifExists = (flag: boolean | undefined): string => (flag ? ' IF EXISTS' : '');

  if ('CreateStmt' in node) return { sql: `DROP TABLE${ifExists(node.CreateStmt.if_not_exists)} ${relation(node.CreateStmt.relation)}` };
  if ('CreateTableAsStmt' in node) {
    const create = node.CreateTableAsStmt;
    const kind = create.objtype === 'OBJECT_MATVIEW' ? 'MATERIALIZED VIEW' : 'TABLE';
    return { sql: `DROP ${kind}${ifExists(create.if_not_exists)} ${relation(create.into?.rel)}` };
  }
  if ('IndexStmt' in node) {
    const index = node.IndexStmt;
    if (!index.idxname) return { refused: `${label(statement.sql)} without a name cannot be reversed: name the index so a down can drop it, or ${byHand}` };
    // The index lives in its table's schema.
    return { sql: `DROP INDEX${index.concurrent ? ' CONCURRENTLY' : ''}${ifExists(index.if_not_exists)} ${relation(index.relation, index.idxname)}` };
  }
  if ('ViewStmt' in node) return node.ViewStmt.replace ? replaced(statement) : { sql: `DROP VIEW ${relation(node.ViewStmt.view)}` };
  if ('CreateTrigStmt' in node) {
    const trigger = node.CreateTrigStmt;
    return trigger.replace ? replaced(statement) : { sql: `DROP TRIGGER ${quote(trigger.trigname ?? '')} ON ${relation(trigger.relation)}` };
  }
  if ('CreateSeqStmt' in node) return { sql: `DROP SEQUENCE${ifExists(node.CreateSeqStmt.if_not_exists)} ${relation(node.CreateSeqStmt.sequence)}` };
  if ('CreateEnumStmt' in node) return { sql: `DROP TYPE ${dotted(node.CreateEnumStmt.typeName)}` };
  if ('CompositeTypeStmt' in node) return { sql: `DROP TYPE ${relation(node.CompositeTypeStmt.typevar)}` };
  if ('CreateDomainStmt' in node) return { sql: `DROP DOMAIN ${dotted(node.CreateDomainStmt.domainname)}` };
  if ('CreateSchemaStmt' in node) {
    const schema = node.CreateSchemaStmt;
    if (!schema.schemaname || (schema.schemaElts?.length ?? 0) > 0) return refuse(statement);
    return { sql: `DROP SCHEMA${ifExists(schema.if_not_exists)} ${quote(schema.schemaname)}` };
  }
  if ('CreateExtensionStmt' in node) return { sql: `DROP EXTENSION${ifExists(node.CreateExtensionStmt.if_not_exists)} ${quote(node.CreateExtensionStmt.extname ?? '')}` };
  if ('CreateFunctionStmt' in node) {
    const fn = node.CreateFunctionStmt;
    if (fn.replace) return replaced(statement);
    const inputs = (fn.parameters ?? []).flatMap((p) => ('FunctionParameter' in p ? [p.FunctionParameter] : [])).filter((p) => p.mode !== 'FUNC_PARAM_OUT' && p.mode !== 'FUNC_PARAM_TABLE');
    const types = inputs.map((p) => (p.argType ? typeText(p.argType, quote) : null));
    if (types.includes(null)) return refuse(statement);
    return { sql: `DROP ${fn.is_procedure ? 'PROCEDURE' : 'FUNCTION'} ${dotted(fn.funcname)}(${types.join(', ')})` };
  }
  if ('AlterTableStmt' in node && node.AlterTableStmt.objtype === 'OBJECT_TABLE') {
    const table = relation(node.AlterTableStmt.relation);
    const actions: string[] = [];
    for (const cmd of node.AlterTableStmt.cmds ?? []) {
      const action = 'AlterTableCmd' in cmd ? invertAction(cmd.AlterTableCmd, quote) : null;
      if (typeof action !== 'string') return { refused: `ALTER TABLE … ${action?.refused ?? 'this action'} cannot be reversed: ${byHand}` };
      actions.push(action);
    }
    return { sql: `ALTER TABLE ${table} ${actions.reverse().join(', ')}` };
  }
  if ('RenameStmt' in node) {
    const rename = node.RenameStmt;
    const from = rename.subname ?? '';
    const to = rename.newname ?? '';
    const kind = RENAMED_RELATIONS[rename.renameType ?? ''];
    if (kind && rename.relation) return { sql: `ALTER ${kind} ${relation(rename.relation, to)} RENAME TO ${quote(rename.relation.relname ?? '')}` };
    if (rename.renameType === 'OBJECT_COLUMN' && rename.relationType === 'OBJECT_TABLE') return { sql: `ALTER TABLE ${relation(rename.relation)} RENAME COLUMN ${quote(to)} TO ${quote(from)}` };
    if (rename.renameType === 'OBJECT_TABCONSTRAINT') return { sql: `ALTER TABLE ${relation(rename.relation)} RENAME CONSTRAINT ${quote(to)} TO ${quote(from)}` };
  }
  return refuse(statement);
}

/** ALTER <kind> x RENAME TO y, where x is a relation. */
const RENAMED_RELATIONS: Readonly<Record<string, string>> = {
  OBJECT_TABLE: 'TABLE',
  OBJECT_INDEX: 'INDEX',
  OBJECT_VIEW: 'VIEW',
  OBJECT_MATVIEW: 'MATERIALIZED VIEW',
  OBJECT_SEQUENCE: 'SEQUENCE',
};

/** One ALTER TABLE action's inverse, or (as `refused`) the action's name. */
function invertAction(cmd: AlterTableCmd, quote: Quote): string | { refused: string } {
  if (cmd.subtype === 'AT_AddColumn' && cmd.def && 'ColumnDef' in cmd.def) {
    return `DROP COLUMN${cmd.missing_ok ? ' IF EXISTS' : ''} ${quote(cmd.def.ColumnDef.colname ?? '')}`;
  }
  if (cmd.subtype === 'AT_AddConstraint' && cmd.def && 'Constraint' in cmd.def) {
    const name = cmd.def.Constraint.conname;
    return name ? `DROP CONSTRAINT ${quote(name)}` : { refused: 'ADD CONSTRAINT without a name' };
  }
  return { refused: ACTION_NAMES[cmd.subtype ?? ''] ?? words((cmd.subtype ?? 'unknown').replace(/^AT_/, '')) };
}

const ACTION_NAMES: Readonly<Record<string, string>> = {
  AT_DropColumn: 'DROP COLUMN',
  AT_AlterColumnType: 'ALTER COLUMN … TYPE',
  AT_ColumnDefault: 'ALTER COLUMN … SET/DROP DEFAULT',
  AT_SetNotNull: 'ALTER COLUMN … SET NOT NULL',
  AT_DropNotNull: 'ALTER COLUMN … DROP NOT NULL',
  AT_DropConstraint: 'DROP CONSTRAINT',
};

/** `AlterColumnGenericOptions` → `ALTER COLUMN GENERIC OPTIONS`. */
function words(camel: string): string {
  return camel.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}

/** A type as DROP FUNCTION's signature wants it: its (quoted) name and array brackets; modifiers do not matter there. */
function typeText(type: TypeName, quote: Quote): string | null {
  if (type.pct_type || type.setof) return null;
  const names = (type.names ?? []).flatMap((n) => ('String' in n ? [n.String.sval ?? ''] : []));
  const base = (names[0] === 'pg_catalog' ? names.slice(1) : names).map(quote).join('.');
  return base ? `${base}${'[]'.repeat(type.arrayBounds?.length ?? 0)}` : null;
}

// -------------------------------------------------------------------- SQLite

/** SQLite names are copied as written (quotes and schema included), from the syntax tree. */
function invertSqlite(statement: LintStatement): Inverse {
  const node = statement.sqlite as unknown as Loose | null;
  if (!node) return refuse(statement);
  const ifExists = node.ifNotExistsKw !== undefined ? ' IF EXISTS' : '';
  switch (node.type) {
    case 'create_table_stmt':
      return { sql: `DROP TABLE${ifExists} ${written(node.name)}` };
    case 'create_index_stmt':
      return { sql: `DROP INDEX${ifExists} ${written(node.name)}` };
    case 'create_view_stmt':
      return { sql: `DROP VIEW${ifExists} ${written(node.name)}` };
    case 'create_trigger_stmt':
      return { sql: `DROP TRIGGER${ifExists} ${written(node.name)}` };
    case 'alter_table_stmt':
      return invertSqliteAlter(statement, node);
    default:
      return refuse(statement);
  }
}

/** SQLite allows one action per ALTER TABLE. */
function invertSqliteAlter(statement: LintStatement, node: Loose): Inverse {
  const action = ((node.actions as Loose).items as Loose[])[0];
  const table = node.table as Loose;
  const fact = statement.fact.kind === 'alter_table' ? statement.fact.actions[0] : undefined;
  switch (action?.type) {
    case 'alter_action_add_column':
      if (fact?.type === 'add_column' && fact.references) {
        return { refused: `ALTER TABLE … ADD COLUMN … REFERENCES cannot be reversed on SQLite (DROP COLUMN refuses a foreign-key column): ${byHand}` };
      }
      return { sql: `ALTER TABLE ${written(table)} DROP COLUMN ${written((action.column as Loose).name)}` };
    case 'alter_action_rename_column':
      return { sql: `ALTER TABLE ${written(table)} RENAME COLUMN ${written(action.newName)} TO ${written(action.oldName)}` };
    case 'alter_action_rename':
    case 'alter_action_rename_table': {
      // The renamed table stays in its schema: ALTER TABLE main.a RENAME TO b → ALTER TABLE main.b RENAME TO a.
      const schema = table.type === 'member_expr' ? `${written(table.object)}.` : '';
      const old = table.type === 'member_expr' ? table.property : table;
      return { sql: `ALTER TABLE ${schema}${written(action.newName)} RENAME TO ${written(old)}` };
    }
    default:
      return { refused: `ALTER TABLE … ${action ? action.type.replace(/^alter_action_/, '').replace(/_/g, ' ').toUpperCase() : 'this action'} cannot be reversed: ${byHand}` };
  }
}

/** An identifier or `schema.name` as the user wrote it. */
function written(node: unknown): string {
  const n = node as Loose | undefined;
  if (!n) return '';
  if (n.type === 'member_expr') return `${written(n.object)}.${written(n.property)}`;
  return String(n.text ?? n.name ?? '');
}

// -------------------------------------------------------------------- Reasons

function refuse(statement: LintStatement): Inverse {
  return { refused: `${label(statement.sql)} cannot be reversed: ${byHand}` };
}

function replaced(statement: LintStatement): Inverse {
  return { refused: `${label(statement.sql)} cannot be reversed: what it replaced is not known; ${byHand}` };
}

const LABEL_WORDS = new Set(
  'CREATE DROP ALTER UPDATE INSERT INTO DELETE FROM TABLE INDEX UNIQUE VIEW TRIGGER OR REPLACE TEMP TEMPORARY MATERIALIZED IF NOT EXISTS GRANT REVOKE COMMENT SEQUENCE TYPE SCHEMA EXTENSION FUNCTION PROCEDURE DOMAIN POLICY RULE VIRTUAL TRUNCATE SELECT WITH COPY DO CALL VACUUM ANALYZE REINDEX CLUSTER PRAGMA BEGIN COMMIT ROLLBACK SAVEPOINT RELEASE SET RESET LOCK REFRESH CONCURRENTLY CONSTRAINT COLUMN'.split(' '),
);

/** The statement's leading keywords, upper-cased: "UPDATE", "DROP TABLE", "CREATE OR REPLACE VIEW". */
function label(sql: string): string {
  const leading = sql.split(/[\s(;]+/).filter(Boolean);
  const kept: string[] = [];
  for (const word of leading.slice(0, 5)) {
    if (!LABEL_WORDS.has(word.toUpperCase())) break;
    kept.push(word.toUpperCase());
  }
  return kept.length > 0 ? kept.join(' ') : (leading[0] ?? 'this statement').toUpperCase();
}
