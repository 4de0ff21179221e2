import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CairnError } from '../../errors.js';
import { nextVersion } from '../../core/scaffold.js';
import type { Session } from '../../core/session.js';
import { addableOnSqlite, carriedIndexes } from './carry.js';
import { changeTypePhases, convertedDefault, shadowColumn } from './change-type.js';
import { renameColumnPhases } from './rename-column.js';
import { renameTablePhases } from './rename-table.js';
import { setNotNullPhases } from './set-not-null.js';
import type { PhaseFile, TableFacts } from './types.js';

/** A change `cairn plan` knows how to split into phases. */
export type PlannedChange =
  | { readonly kind: 'rename-column'; readonly table: string; readonly column: string; readonly to: string }
  | { readonly kind: 'rename-table'; readonly table: string; readonly to: string }
  /** `fill`: an SQL expression for the rows (and writes) that leave the column NULL. */
  | { readonly kind: 'set-not-null'; readonly table: string; readonly column: string; readonly fill: string | null }
  /** `using`: the new value from the row (default a CAST); `back`: the old value from the new one, read under the column's name. */
  | { readonly kind: 'change-type'; readonly table: string; readonly column: string; readonly type: string; readonly using: string | null; readonly back: string | null };

export interface PlanResult {
  readonly change: string;
  readonly files: readonly { readonly phase: PhaseFile['phase']; readonly version: string; readonly file: string }[];
  /** What the user should know about the files written (e.g. what their down cannot restore). */
  readonly notes: readonly string[];
}

/**
 * Writes the next-numbered migration files for each phase of `change`, each
 * headed with its phase and change; the contract file names its expand
 * (`-- cairn:contract <version>`), which is what makes `up` wait for the deploy.
 */
export async function planChange(session: Session, change: PlannedChange): Promise<PlanResult> {
  const facts = await withLiterals(session, await tableFacts(session, change.table), change);
  const phases =
    change.kind === 'rename-column'
      ? renameColumn(facts, change)
      : change.kind === 'rename-table'
        ? renameTable(facts, change, await session.driver.tableExists(change.to))
        : change.kind === 'change-type'
          ? changeType(facts, change)
          : setNotNull(facts, change);
  const dir = session.config.migrationsDir;
  if (!existsSync(dir)) throw new CairnError('SOURCE', `migrations directory ${relative(session.config.root, dir)} does not exist`, { hint: 'run `cairn init` first' });
  const versions = readdirSync(dir).map((f) => /^(\d{8,}_\d+|\d+)_/.exec(f)?.[1]).filter((v): v is string => v !== undefined);
  const written: { phase: PhaseFile['phase']; version: string; file: string }[] = [];
  let expandVersion = '';
  for (const phase of phases) {
    const version = nextVersion([...versions, ...written.map((w) => w.version)], new Date());
    if (phase.phase === 'expand' && !expandVersion) expandVersion = version;
    const path = join(dir, `${version}_${phase.name}.sql`);
    const contract = [...(phase.phase === 'contract' && expandVersion ? [`cairn:contract ${expandVersion}`] : []), ...(phase.directives ?? [])].map((d) => `-- ${d}\n`).join('');
    const text = `-- Migration: ${phase.title}\n-- Type: ${phase.type}\n-- Rollback: ${phase.rollback}\n-- Phase: ${phase.phase} of ${phase.change}\n${contract}\n-- migrate:up\n${phase.up}\n\n-- migrate:down\n${phase.down}\n`;
    writeFileSync(path, text, { flag: 'wx' });
    written.push({ phase: phase.phase, version, file: relative(session.config.root, path) });
  }
  return { change: phases[0]!.change, files: written, notes: [...notesOn(facts, change), ...(await dependents(session, change))] };
}

function renameColumn(facts: TableFacts, change: Extract<PlannedChange, { kind: 'rename-column' }>): PhaseFile[] {
  if (!facts.columns.some((c) => c.name === change.column)) {
    throw new CairnError('USAGE', `table ${change.table} has no column ${change.column}`, { hint: `its columns: ${facts.columns.map((c) => c.name).join(', ')}` });
  }
  if (facts.columns.some((c) => c.name === change.to)) throw new CairnError('USAGE', `table ${change.table} already has a column ${change.to}`, { hint: 'pick a new name' });
  return renameColumnPhases(facts, change.column, change.to);
}

function setNotNull(facts: TableFacts, change: Extract<PlannedChange, { kind: 'set-not-null' }>): PhaseFile[] {
  if (!facts.columns.some((c) => c.name === change.column)) {
    throw new CairnError('USAGE', `table ${change.table} has no column ${change.column}`, { hint: `its columns: ${facts.columns.map((c) => c.name).join(', ')}` });
  }
  return setNotNullPhases(facts, change.column, change.fill);
}

function changeType(facts: TableFacts, change: Extract<PlannedChange, { kind: 'change-type' }>): PhaseFile[] {
  if (!facts.columns.some((c) => c.name === change.column)) {
    throw new CairnError('USAGE', `table ${change.table} has no column ${change.column}`, { hint: `its columns: ${facts.columns.map((c) => c.name).join(', ')}` });
  }
  if (facts.key.includes(change.column)) {
    throw new CairnError('USAGE', `${change.table}.${change.column} is part of the table's key: expand–contract cannot swap it under running writes`, { hint: 'change a key column in one migration while no app writes the table, or add a new key column and move references to it' });
  }
  const shadow = shadowColumn(change.column);
  if (facts.columns.some((c) => c.name === shadow)) throw new CairnError('USAGE', `table ${change.table} already has a column ${shadow}, which the expand would add`, { hint: `rename or drop ${shadow} first` });
  if (!change.type.trim()) throw new CairnError('USAGE', 'the new type is empty', { hint: 'e.g. cairn plan change-type orders.amount bigint' });
  return changeTypePhases(facts, change);
}

function renameTable(facts: TableFacts, change: Extract<PlannedChange, { kind: 'rename-table' }>, taken: boolean): PhaseFile[] {
  if (taken) throw new CairnError('USAGE', `there is already a table ${change.to}`, { hint: 'pick a new name' });
  return renameTablePhases(facts, change.to);
}

function notesOn(facts: TableFacts, change: PlannedChange): string[] {
  if (change.kind !== 'change-type' && change.kind !== 'rename-column') return [];
  const notes: string[] = [];
  const into = change.kind === 'change-type' ? shadowColumn(change.column) : change.to;
  const last = facts.columns.at(-1)!.name;
  if (last !== change.column) {
    notes.push(`${change.column} is not the last column of ${change.table}: the contract's down adds it back after ${last} (neither engine can insert a column in the middle), so \`cairn verify\` reports the column order for the contract; run the contract when you will not go back`);
  }
  const fallback = facts.defaults[change.column] ?? null;
  if (facts.dialect === 'sqlite' && fallback !== null && !addableOnSqlite(fallback)) {
    notes.push(`${change.table}.${change.column} defaults to ${fallback}, which SQLite cannot give a column that ALTER TABLE adds: ${into} has no default, so once the contract ran, an INSERT that leaves the column out stores NULL; rebuild the table with the default when you need it`);
  }
  const indexes = carriedIndexes(facts, change.column, into);
  const fillsNew = facts.dialect === 'sqlite' && fallback !== null && addableOnSqlite(fallback);
  for (const index of fillsNew ? indexes.filter((i) => /^CREATE UNIQUE/i.test(i.newSql)) : []) {
    notes.push(`the unique index ${index.newName} on ${into} is built by the contract, not the expand: SQLite fills ${into} with its default when adding it, so the rows are unique only once the backfill ran (until then ${index.name} keeps them unique)`);
  }
  if (facts.dialect === 'sqlite' && change.kind === 'change-type' && indexes.length > 0) {
    notes.push(`the indexes on ${change.column} are built on ${into} as ${indexes.map((i) => i.newName).join(', ')} and keep those names after the contract (SQLite cannot rename an index without building it again)`);
  }
  return notes;
}

/**
 * Constraints that name the column the change moves (unique, foreign key,
 * check): the contract drops the old column, and they go with it (PostgreSQL)
 * or stop the drop (SQLite). Indexes are carried over by the plan itself.
 */
async function dependents(session: Session, change: PlannedChange): Promise<string[]> {
  if (change.kind !== 'change-type' && change.kind !== 'rename-column') return [];
  const snapshot = await session.driver.snapshot({ exclude: [] });
  const word = (name: string) => new RegExp(`(^|[^A-Za-z0-9_$])"?${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?($|[^A-Za-z0-9_$])`, 'i');
  const [table, column] = [word(change.table), word(change.column)];
  const found = Object.entries(snapshot.objects)
    .filter(([key, description]) => /^(unique|foreign key|check) /.test(key) && (table.test(key) || table.test(description)) && (column.test(key.replace(/^\S+( key)? \S+/, '')) || column.test(description)))
    .map(([key]) => key);
  if (found.length === 0) return [];
  const into = change.kind === 'change-type' ? shadowColumn(change.column) : change.to;
  return [`${change.table}.${change.column} is used by ${found.join(', ')}: the contract drops the old column, and these go with it (or stop the drop): add them for ${into} in a migration before the contract, and drop the old ones there`];
}

/**
 * SQLite adds a column with a default only when it is a literal: the defaults the
 * plan adds columns with (the column's own, and, for change-type, the converted one)
 * are read as values and written back as literals.
 */
async function withLiterals(session: Session, facts: TableFacts, change: PlannedChange): Promise<TableFacts> {
  if (facts.dialect !== 'sqlite' || (change.kind !== 'change-type' && change.kind !== 'rename-column')) return facts;
  const own = facts.defaults[change.column] ?? null;
  if (own === null || !addableOnSqlite(own) || !facts.columns.some((c) => c.name === change.column)) return facts;
  const expressions = [own, ...(change.kind === 'change-type' ? [convertedDefault(facts, change)!] : [])];
  const literals: Record<string, string> = {};
  for (const expression of expressions) {
    try {
      const [row] = await session.driver.query<{ v: unknown }>({ sql: `SELECT ${expression} AS v` });
      literals[expression] = sqlLiteral(row?.v ?? null);
    } catch (error) {
      throw new CairnError('USAGE', `the default of ${change.table}.${change.column} cannot be computed as ${expression}: ${(error as Error).message}`, { hint: 'check --using, or drop the default first', cause: error });
    }
  }
  return { ...facts, literals };
}

function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (value instanceof Uint8Array) return `X'${Buffer.from(value).toString('hex')}'`;
  return `'${String(value).replace(/'/g, "''")}'`;
}

async function tableFacts(session: Session, table: string): Promise<TableFacts> {
  const shape = await session.driver.backup?.describe(table);
  if (!shape) throw new CairnError('USAGE', `table ${table} does not exist in ${session.driver.target}`, { hint: 'apply the migrations that create it first (`cairn up`), or check the name' });
  const dialect = session.config.lint.dialect;
  const q = session.driver.flavor.quoteIdentifier;
  const query = <Row>(sql: string, params: unknown[]) => session.driver.query<Row>({ sql, params });
  // The table as the catalog names it: quoted unless the user qualified it with a schema.
  const regclass = table.includes('.') ? table : q(table);
  const [defaults, indexes] =
    dialect === 'postgres'
      ? await Promise.all([
          query<{ name: string; def: string | null }>(
            `SELECT a.attname AS name, pg_get_expr(d.adbin, d.adrelid) AS def FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''`,
            [regclass],
          ),
          query<{ name: string; sql: string }>(
            `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS sql FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
              WHERE i.indrelid = to_regclass($1) AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
              ORDER BY c.relname`,
            [regclass],
          ),
        ])
      : [
          await query<{ name: string; def: string | null }>('SELECT name, dflt_value AS def FROM pragma_table_xinfo(?)', [table]),
          await query<{ name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name", [table]),
        ];
  return { dialect, table, columns: shape.columns, key: shape.key, defaults: Object.fromEntries(defaults.map((d) => [d.name, d.def])), indexes, q };
}
