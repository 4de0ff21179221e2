import { isDataChange, type Fact } from '../facts.js';
import type { LintStatement, Rule } from '../types.js';

/**
 * A migration that alters existing tables and also rewrites their data runs
 * both in one transaction: the locks the schema change took (ACCESS EXCLUSIVE
 * for most ALTER TABLEs on PostgreSQL, the write lock on SQLite) are held for
 * the whole backfill, and a data error rolls the schema change back with it.
 * Split, each part is short, retryable and can be rolled back on its own.
 *
 * Reported once per file, on its first data statement (a statement rule, so
 * the finding points at a line and a statement-level allow works).
 */
export const schemaAndDataMixed: Rule = {
  id: 'schema-and-data-mixed',
  dialects: ['postgres', 'sqlite'],
  severity: 'warning',
  summary: 'one migration that changes both the schema and the data of existing tables',
  statement(statement, context) {
    if (!isDataChange(statement.fact)) return [];
    const { schema, data } = changesOf(context.statements);
    if (schema.length === 0 || data[0] !== statement) return [];
    const first = schema[0]!;
    const more = schema.length > 1 ? ` and ${schema.length - 1} more` : '';
    const verb = statement.fact.kind.toUpperCase();
    return [
      {
        message: `this migration changes the schema of existing objects (line ${first.statement.line}: ${first.what}${more}) and also the data of "${tableOf(statement.fact)}" (${verb})`,
        help: 'split it: a schema migration (expand), then a separate data migration for the backfill (batched, see unbatched-data-change), then a later schema migration for the contract step (SET NOT NULL, drops), so a failure or a long backfill does not hold schema locks or roll back the schema change',
      },
    ];
  },
};

interface SchemaChange {
  readonly statement: LintStatement;
  readonly what: string;
}

/**
 * The statements that change the schema of objects that existed before the
 * migration, and those that change the data of tables that existed before it.
 * Creating new tables, views and indexes on new tables is not a change of
 * existing schema, and seeding a new table is not a change of existing data.
 */
function changesOf(statements: readonly LintStatement[]): Changes {
  // Asked at every data statement: walk the file once.
  let changes = cache.get(statements);
  if (!changes) cache.set(statements, (changes = findChanges(statements)));
  return changes;
}

interface Changes {
  readonly schema: readonly SchemaChange[];
  readonly data: readonly LintStatement[];
}

const cache = new WeakMap<readonly LintStatement[], Changes>();

function findChanges(statements: readonly LintStatement[]): Changes {
  const created = new Set<string>();
  const schema: SchemaChange[] = [];
  const data: LintStatement[] = [];
  for (const statement of statements) {
    const { fact } = statement;
    const existing = (name: string | null) => name !== null && !created.has(name);
    switch (fact.kind) {
      case 'create_table':
        created.add(fact.table);
        break;
      case 'create_view':
        created.add(fact.name);
        break;
      case 'create_index':
        if (existing(fact.table)) schema.push({ statement, what: `CREATE INDEX on ${fact.table}` });
        if (fact.index) created.add(fact.index);
        break;
      case 'create_trigger':
        if (existing(fact.table)) schema.push({ statement, what: `CREATE TRIGGER on ${fact.table}` });
        created.add(fact.name);
        break;
      case 'alter_table':
        if (existing(fact.table)) schema.push({ statement, what: `ALTER TABLE ${fact.table}` });
        for (const action of fact.actions) if (action.type === 'rename_table' && !existing(fact.table)) created.add(action.to);
        break;
      case 'drop_table': {
        const dropped = fact.tables.filter(existing);
        if (dropped.length > 0) schema.push({ statement, what: `DROP TABLE ${dropped.join(', ')}` });
        break;
      }
      case 'drop_index': {
        const dropped = fact.indexes.filter(existing);
        if (dropped.length > 0) schema.push({ statement, what: `DROP INDEX ${dropped.join(', ')}` });
        break;
      }
      case 'drop_view':
      case 'drop_trigger':
        if (existing(fact.name)) schema.push({ statement, what: `${fact.kind === 'drop_view' ? 'DROP VIEW' : 'DROP TRIGGER'} ${fact.name}` });
        break;
      case 'insert':
      case 'update':
      case 'delete':
        if (existing(fact.table)) data.push(statement);
        break;
      default:
        break;
    }
  }
  return { schema, data };
}

function tableOf(fact: Fact): string {
  return 'table' in fact && typeof fact.table === 'string' ? fact.table : '';
}
