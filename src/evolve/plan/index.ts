import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CairnError } from '../../errors.js';
import { nextVersion } from '../../core/scaffold.js';
import type { Session } from '../../core/session.js';
import { changeTypePhases, shadowColumn } from './change-type.js';
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
  const facts = await tableFacts(session, change.table);
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
    if (phase.phase === 'expand') expandVersion = version;
    const path = join(dir, `${version}_${phase.name}.sql`);
    const contract = phase.phase === 'contract' && expandVersion ? `-- cairn:contract ${expandVersion}\n` : '';
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
  if (change.kind !== 'change-type') return [];
  const last = facts.columns.at(-1)!.name;
  if (last === change.column) return [];
  return [
    `${change.column} is not the last column of ${change.table}: the contract's down adds it back after ${last} (neither engine can insert a column in the middle), so \`cairn verify\` reports the column order for the contract; run the contract when you will not go back`,
  ];
}

/**
 * Indexes and constraints that name the column whose type changes: the contract
 * drops the old column, and they go with it (PostgreSQL) or stop the drop (SQLite).
 */
async function dependents(session: Session, change: PlannedChange): Promise<string[]> {
  if (change.kind !== 'change-type') return [];
  const snapshot = await session.driver.snapshot({ exclude: [] });
  const word = (name: string) => new RegExp(`(^|[^A-Za-z0-9_$])"?${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?($|[^A-Za-z0-9_$])`, 'i');
  const [table, column] = [word(change.table), word(change.column)];
  const found = Object.entries(snapshot.objects)
    .filter(([key, description]) => /^(index|unique|foreign key|check) /.test(key) && (table.test(key) || table.test(description)) && column.test(description.replace(/^CREATE (UNIQUE )?INDEX (CONCURRENTLY )?(IF NOT EXISTS )?\S+ ON (ONLY )?[^\s(]+/i, '')))
    .map(([key]) => key);
  if (found.length === 0) return [];
  return [`${change.table}.${change.column} is used by ${found.join(', ')}: the contract drops the old column, and these go with it (or stop the drop): create them on ${change.column}_new in a migration before the contract (PostgreSQL: CREATE INDEX CONCURRENTLY), and drop the old ones there`];
}

async function tableFacts(session: Session, table: string): Promise<TableFacts> {
  const shape = await session.driver.backup?.describe(table);
  if (!shape) throw new CairnError('USAGE', `table ${table} does not exist in ${session.driver.target}`, { hint: 'apply the migrations that create it first (`cairn up`), or check the name' });
  return { dialect: session.config.lint.dialect, table, columns: shape.columns, key: shape.key, q: session.driver.flavor.quoteIdentifier };
}
