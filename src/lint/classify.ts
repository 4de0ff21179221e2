import type { Fact } from './facts.js';
import { qualifiedTables } from './parse/postgres.js';
import type { LintStatement } from './types.js';

/**
 * Additive changes only add (tables, columns, indexes, views): old code keeps
 * working. Transformative ones change what exists (renames, type changes,
 * data rewrites). Destructive ones can lose data (drops, deletes, rebuilds).
 */
export type ChangeType = 'additive' | 'transformative' | 'destructive';
export type Risk = 'low' | 'medium' | 'high';

export interface Classification {
  readonly type: ChangeType;
  readonly risk: Risk;
  /** The statements that decided it, as "line: what", for the curious. */
  readonly reasons: readonly string[];
}

const ORDER: readonly ChangeType[] = ['additive', 'transformative', 'destructive'];
const RISK: Record<ChangeType, Risk> = { additive: 'low', transformative: 'medium', destructive: 'high' };

/**
 * The risk also counts what the linter found: an error (allowed or not) makes
 * it high, a warning at least medium. A "low" migration is additive and clean.
 */
export function withFindings(classification: Classification, severities: readonly ('error' | 'warning')[]): Classification {
  const floor: Risk = severities.includes('error') ? 'high' : severities.includes('warning') ? 'medium' : 'low';
  const ranks: readonly Risk[] = ['low', 'medium', 'high'];
  return ranks.indexOf(floor) > ranks.indexOf(classification.risk) ? { ...classification, risk: floor } : classification;
}

export function classify(statements: readonly LintStatement[]): Classification {
  const created = new Set<string>();
  let type: ChangeType = 'additive';
  const reasons: string[] = [];
  for (const statement of statements) {
    const [kind, why] = classifyFact(statement.fact, created);
    if (statement.fact.kind === 'create_table') created.add(statement.fact.table);
    if (ORDER.indexOf(kind) > ORDER.indexOf(type)) {
      type = kind;
      reasons.length = 0;
    }
    if (kind === type && kind !== 'additive') reasons.push(`line ${statement.line}: ${why}`);
  }
  return { type, risk: RISK[type], reasons };
}

/**
 * The tables whose existing rows a migration can destroy or overwrite, in the
 * order first met: dropped tables (a SQLite rebuild drops the old one), tables
 * losing a column, tables whose rows are deleted, updated or truncated. Tables
 * created earlier in the same file hold nothing worth saving and are left out.
 * `cairn up` backs these up before the migration runs.
 */
export function tablesAtRisk(statements: readonly LintStatement[]): string[] {
  const created = new Set<string>();
  const risky = new Set<string>();
  for (const statement of statements) {
    const { fact } = statement;
    // (The tree is read only for what may be a TRUNCATE: an INSERT's may not have been parsed yet.)
    const atRisk = fact.kind === 'drop_table' || (fact.kind === 'alter_table' && fact.actions.some((a) => a.type === 'drop_column')) || fact.kind === 'update' || fact.kind === 'delete' || (fact.kind === 'other' && statement.pg !== null && 'TruncateStmt' in statement.pg);
    if (!atRisk) {
      if (fact.kind === 'create_table') created.add(fact.table);
      continue;
    }
    // PostgreSQL: the schema as written (`billing.invoices`), so the backup reads that table and not a namesake on the search_path.
    const { pg } = statement;
    const tables = pg ? qualifiedTables(pg) : fact.kind === 'drop_table' ? fact.tables : 'table' in fact ? [fact.table] : [];
    for (const table of tables) if (table && !created.has(table.replace(/^.*\./, ''))) risky.add(table);
  }
  return [...risky];
}

function classifyFact(fact: Fact, created: ReadonlySet<string>): [ChangeType, string] {
  switch (fact.kind) {
    case 'drop_table':
      return ['destructive', `drops table ${fact.tables.join(', ')}`];
    case 'delete':
      return created.has(fact.table) ? ['additive', ''] : ['destructive', `deletes rows from ${fact.table}`];
    case 'alter_table': {
      if (fact.actions.some((a) => a.type === 'drop_column')) return ['destructive', `drops a column of ${fact.table}`];
      if (fact.actions.every((a) => a.type === 'add_column')) return ['additive', ''];
      if (created.has(fact.table)) return ['additive', ''];
      return ['transformative', `alters ${fact.table}`];
    }
    case 'update':
      return created.has(fact.table) ? ['additive', ''] : ['transformative', `updates rows of ${fact.table}`];
    case 'insert':
      return created.has(fact.table) ? ['additive', ''] : ['transformative', `inserts into ${fact.table}`];
    case 'drop_index':
    case 'drop_view':
    case 'drop_trigger':
      return ['transformative', fact.kind.replace('_', 's ')];
    case 'other':
      if (/^Truncate|^truncate/.test(fact.name)) return ['destructive', 'truncates a table'];
      if (/^(AlterTableStmt|AlterEnumStmt|AlterDomainStmt|RenameStmt)/.test(fact.name)) return ['transformative', fact.name];
      return ['additive', ''];
    default:
      return ['additive', ''];
  }
}
