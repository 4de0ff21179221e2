import { CairnError } from '../../errors.js';
import type { PgColumn, PgConstraint, PgDomain, PgIndex, PgSchema, PgTable } from './schema.js';
import { quoteIdentifier, quoteLiteral } from '../../sql/quote.js';

/**
 * From one PostgreSQL schema to another, in the forms Cairn's linter accepts
 * on a live database: constraints NOT VALID and validated in a later
 * transaction, NOT NULL through a validated CHECK, indexes (and the indexes
 * behind new unique keys) built CONCURRENTLY in a file of their own, and
 * lock_timeout first. One logical change can need several files, run in
 * order:
 *   enum        ALTER TYPE … ADD VALUE (a new value cannot be used in the transaction that adds it)
 *   main        everything quick, in one transaction
 *   concurrent  CREATE / DROP INDEX CONCURRENTLY (-- cairn:no-transaction)
 *   backfill    `--fill`: UPDATE … WHERE col IS NULL, in batches (-- cairn:batch)
 *   validate    VALIDATE CONSTRAINT, SET NOT NULL, ADD … USING INDEX, in a later transaction
 * Every step carries its own down; a file's down is its steps' downs in reverse.
 */
export type PgPhase = 'enum' | 'main' | 'concurrent' | 'backfill' | 'validate';

export interface PgChange {
  readonly kind: string;
  /** `users`, `users.phone`, `users_email_idx`. */
  readonly object: string;
}

export interface PgPlanFile {
  readonly phase: PgPhase;
  /** Why this part is a file of its own (for its header). */
  readonly why: string;
  readonly up: readonly string[];
  readonly down: readonly string[] | null;
  /** Why there is no down, when there is none. */
  readonly noDown: string | null;
  readonly noTransaction: boolean;
}

export interface PgPlan {
  readonly changes: readonly PgChange[];
  readonly files: readonly PgPlanFile[];
  /** Lint rules the user allowed with --allow-drop, --rename, --allow-rewrite (for `-- cairn:allow` lines). */
  readonly allowed: readonly string[];
  /** `table: column changes`, for a rewrite error: which columns change type on each table. */
  readonly typeChanges: ReadonlyMap<string, readonly string[]>;
}

export interface PgRenameStep {
  readonly up: string;
  readonly down: string;
  readonly change: PgChange;
}

export interface PgPlanOptions {
  readonly allowDrop: boolean;
  /** Renames already made on `current` (the statements go first). */
  readonly renames: readonly PgRenameStep[];
  /** lock_timeout written at the top of transactional files. */
  readonly lockTimeout: string;
  /** `--fill`: `table.column` or `column` (lower-cased) → the SQL expression that fills its NULLs before it becomes NOT NULL. */
  readonly fill?: ReadonlyMap<string, string>;
}

interface Step {
  readonly phase: PgPhase;
  /** Order inside the phase (see STAGE). */
  readonly stage: number;
  readonly up: readonly string[];
  readonly down: readonly string[];
}

/** Order of steps inside a file: what others depend on is created first and dropped last. */
const STAGE = {
  schema: 0, type: 1, function: 2, rename: 3, dropTrigger: 4, dropView: 5, dropConstraint: 6, dropIndex: 7, renameObject: 8,
  dropTable: 9, dropColumn: 10, alterColumn: 11, addColumn: 12, createTable: 13, addConstraint: 14, createView: 15, createTrigger: 16,
  dropFunction: 17, dropType: 18, dropSchema: 19,
} as const;

const WHY: Record<PgPhase, string> = {
  enum: 'new enum values, in a transaction of their own: PostgreSQL does not let a value be used in the transaction that adds it',
  main: 'the schema changes, in one transaction',
  concurrent: 'indexes built CONCURRENTLY, so writes to the table go on while they build: CONCURRENTLY cannot run inside a transaction, so this file is -- cairn:no-transaction',
  backfill: 'the rows already there get the --fill value, in batches (-- cairn:batch), each its own short transaction, before the column becomes NOT NULL; the filled values stay when this part is rolled back',
  validate: 'constraints validated, NOT NULL set and unique keys attached to their indexes, in a later transaction than the one that added them NOT VALID: VALIDATE scans without blocking reads or writes',
};

export function planPostgres(current: PgSchema, desired: PgSchema, options: PgPlanOptions): PgPlan {
  const steps: Step[] = [];
  const changes: PgChange[] = [...options.renames.map((r) => r.change)];
  const refused: string[] = [];
  const manual: string[] = [];
  const allowed = new Set<string>(options.renames.map((r) => r.change.kind));
  const typeChanges = new Map<string, string[]>();
  const step = (phase: PgPhase, stage: number, up: readonly string[], down: readonly string[]) => steps.push({ phase, stage, up, down });
  const change = (kind: string, object: string) => changes.push({ kind, object });
  const fills = options.fill ?? new Map<string, string>();
  const used = new Set<string>();
  const fillFor = (table: PgTable, column: PgColumn): string | undefined => {
    for (const key of [`${table.name}.${column.name}`.toLowerCase(), column.name.toLowerCase()]) {
      const fill = fills.get(key);
      if (fill !== undefined) {
        used.add(key);
        return fill;
      }
    }
    return undefined;
  };
  /** New NOT NULL columns with no default and no --fill: the rows already there would have no value. */
  const unfilled: string[] = [];
  /** The batched UPDATE that fills a column's NULLs (its own file, before the validate file makes the column NOT NULL). */
  const backfill = (table: PgTable, column: PgColumn, fill: string) => {
    step('backfill', 0, [`-- cairn:batch size=1000\nUPDATE ${table.sql} SET ${column.sql} = ${fill} WHERE ${column.sql} IS NULL`], ['SELECT 1']);
    change('fill-column', `${table.name}.${column.name}`);
  };
  /** NOT NULL through a validated CHECK, added NOT VALID (in the main file, or after the backfill) and validated in the validate file. */
  const setNotNull = (table: PgTable, column: PgColumn, late: boolean) => {
    const at = `ALTER TABLE ${table.sql} ALTER COLUMN ${column.sql}`;
    const check = quote(truncate(`${table.name.replace(/.*\./, '')}_${column.name}_not_null`));
    const add = `ALTER TABLE ${table.sql} ADD CONSTRAINT ${check} CHECK (${column.sql} IS NOT NULL) NOT VALID`;
    const drop = `ALTER TABLE ${table.sql} DROP CONSTRAINT ${check}`;
    // After a backfill the check comes at the end of the backfill file (each of its statements commits on its own), so that writes during the backfill are not refused.
    step(late ? 'backfill' : 'main', late ? 1 : STAGE.addConstraint, [add], [drop]);
    step('validate', 1, [`ALTER TABLE ${table.sql} VALIDATE CONSTRAINT ${check}`, `${at} SET NOT NULL`, drop], [`${at} DROP NOT NULL`, add]);
  };
  for (const rename of options.renames) step('main', STAGE.rename, [rename.up], [rename.down]);

  // Schemas and enum types.
  for (const name of desired.schemas.filter((s) => !current.schemas.includes(s))) {
    step('main', STAGE.schema, [`CREATE SCHEMA ${quote(name)}`], [`DROP SCHEMA ${quote(name)}`]);
    change('create-schema', name);
  }
  for (const name of current.schemas.filter((s) => !desired.schemas.includes(s))) {
    step('main', STAGE.dropSchema, [`DROP SCHEMA ${quote(name)}`], [`CREATE SCHEMA ${quote(name)}`]);
    change('drop-schema', name);
  }
  // Extensions (before the types and tables that use them) and sequences no column owns (before the defaults that read them).
  for (const [name, wanted] of desired.extensions) {
    if (current.extensions.has(name)) continue;
    step('main', STAGE.schema + 0.5, [`CREATE EXTENSION IF NOT EXISTS ${quote(name)} SCHEMA ${wanted.schema}`], [`DROP EXTENSION IF EXISTS ${quote(name)}`]);
    change('create-extension', name);
  }
  for (const [name, was] of current.extensions) {
    if (desired.extensions.has(name)) continue;
    refused.push(`extension ${name}`);
    step('main', STAGE.dropSchema - 0.5, [`DROP EXTENSION ${quote(name)}`], [`CREATE EXTENSION IF NOT EXISTS ${quote(name)} SCHEMA ${was.schema}`]);
    change('drop-extension', name);
  }
  for (const [name, wanted] of desired.sequences) {
    const was = current.sequences.get(name);
    if (was?.def === wanted.def) continue;
    if (was) step('main', STAGE.type, [`ALTER SEQUENCE ${wanted.sql} ${wanted.def}`], [`ALTER SEQUENCE ${wanted.sql} ${was.def}`]);
    else step('main', STAGE.type, [`CREATE SEQUENCE ${wanted.sql} ${wanted.def}`], [`DROP SEQUENCE ${wanted.sql}`]);
    change(was ? 'alter-sequence' : 'create-sequence', name);
  }
  for (const [name, was] of current.sequences) {
    if (desired.sequences.has(name)) continue;
    refused.push(`sequence ${name}`);
    step('main', STAGE.dropType, [`DROP SEQUENCE ${was.sql}`], [`CREATE SEQUENCE ${was.sql} ${was.def}`]);
    change('drop-sequence', name);
  }

  for (const [name, wanted] of desired.enums) {
    const was = current.enums.get(name);
    const create = `CREATE TYPE ${wanted.sql} AS ENUM (${wanted.labels.map(literal).join(', ')})`;
    if (!was) {
      step('main', STAGE.type, [create], [`DROP TYPE ${wanted.sql}`]);
      change('create-enum', name);
      continue;
    }
    if (same(was.labels, wanted.labels)) continue;
    const kept = wanted.labels.filter((l) => was.labels.includes(l));
    if (!same(kept, was.labels)) {
      manual.push(`enum ${name}: values removed or reordered (${was.labels.join(', ')} → ${wanted.labels.join(', ')}); PostgreSQL only adds values in place. By hand: CREATE TYPE ${name}_new AS ENUM (…); ALTER TABLE … ALTER COLUMN … TYPE ${name}_new USING col::text::${name}_new for each column; DROP TYPE ${name}; ALTER TYPE ${name}_new RENAME TO ${name}`);
      continue;
    }
    const up = wanted.labels.flatMap((label, i) => {
      if (was.labels.includes(label)) return [];
      const next = wanted.labels.slice(i + 1).find((l) => was.labels.includes(l));
      return [`ALTER TYPE ${wanted.sql} ADD VALUE IF NOT EXISTS ${literal(label)}${next !== undefined ? ` BEFORE ${literal(next)}` : ''}`];
    });
    step('enum', 0, up, []);
    change('add-enum-value', `${name} (${wanted.labels.filter((l) => !was.labels.includes(l)).join(', ')})`);
  }
  for (const [name, was] of current.enums) {
    if (desired.enums.has(name)) continue;
    step('main', STAGE.dropType, [`DROP TYPE ${was.sql}`], [`CREATE TYPE ${was.sql} AS ENUM (${was.labels.map(literal).join(', ')})`]);
    change('drop-enum', name);
  }

  // Domains: created after the types they are over, dropped after the columns that use them.
  const domainOrder = (domains: PgSchema['domains'], names: readonly string[]) => dependencyOrder(names, (n) => [domains.get(n)!.base]);
  const createDomain = (d: PgDomain) => [
    `CREATE DOMAIN ${d.sql} AS ${d.base}${d.collation ? ` COLLATE ${d.collation}` : ''}${d.default !== null ? ` DEFAULT ${d.default}` : ''}${d.notNull ? ' NOT NULL' : ''}${d.constraints
      .filter((k) => k.validated)
      .map((k) => ` CONSTRAINT ${quote(k.name)} ${k.def}`)
      .join('')}`,
    ...d.constraints.filter((k) => !k.validated).map((k) => `ALTER DOMAIN ${d.sql} ADD CONSTRAINT ${quote(k.name)} ${k.def} NOT VALID`),
  ];
  for (const name of domainOrder(desired.domains, [...desired.domains.keys()].filter((n) => !current.domains.has(n)))) {
    const wanted = desired.domains.get(name)!;
    step('main', STAGE.type + 0.5, createDomain(wanted), [`DROP DOMAIN ${wanted.sql}`]);
    change('create-domain', name);
  }
  for (const name of domainOrder(current.domains, [...current.domains.keys()].filter((n) => !desired.domains.has(n))).reverse()) {
    const was = current.domains.get(name)!;
    step('main', STAGE.dropType - 0.5, [`DROP DOMAIN ${was.sql}`], createDomain(was));
    change('drop-domain', name);
  }
  for (const [name, wanted] of desired.domains) {
    const was = current.domains.get(name);
    if (was) alterDomain(name, was, wanted);
  }

  function alterDomain(name: string, was: PgDomain, wanted: PgDomain): void {
    const at = `ALTER DOMAIN ${wanted.sql}`;
    if (was.base !== wanted.base || was.collation !== wanted.collation) {
      const users = [...current.tables.values()].flatMap((t) => t.columns.filter((c) => c.type === was.name).map((c) => `${t.name}.${c.name}`));
      const what = was.base !== wanted.base ? `its base type changes (${was.base} → ${wanted.base})` : `its collation changes (${was.collation ?? 'default'} → ${wanted.collation ?? 'default'})`;
      manual.push(
        `domain ${name}: ${what}, and PostgreSQL cannot ALTER DOMAIN … TYPE. By hand: CREATE DOMAIN ${name}_new AS ${wanted.base} …; ` +
          `${users.length > 0 ? `ALTER TABLE … ALTER COLUMN … TYPE ${name}_new for ${users.join(', ')} (each rewrites its table: \`cairn plan change-type\` does it expand–contract); ` : ''}` +
          `DROP DOMAIN ${name}; ALTER DOMAIN ${name}_new RENAME TO ${name.replace(/.*\./, '')}`,
      );
      return;
    }
    if (was.default !== wanted.default) {
      step('main', STAGE.type + 0.6, [wanted.default === null ? `${at} DROP DEFAULT` : `${at} SET DEFAULT ${wanted.default}`], [was.default === null ? `${at} DROP DEFAULT` : `${at} SET DEFAULT ${was.default}`]);
      change(wanted.default === null ? 'drop-domain-default' : 'set-domain-default', name);
    }
    if (was.notNull !== wanted.notNull) {
      // SET NOT NULL scans every column of the domain's type, blocking writes (not reads) while it does: last, in the validate file's short transaction.
      if (wanted.notNull) step('validate', 1, [`${at} SET NOT NULL`], [`${at} DROP NOT NULL`]);
      else step('main', STAGE.type + 0.6, [`${at} DROP NOT NULL`], [`${at} SET NOT NULL`]);
      change(wanted.notNull ? 'set-domain-not-null' : 'drop-domain-not-null', name);
    }
    const removed = was.constraints.filter((k) => !wanted.constraints.some((d) => d.name === k.name && d.def === k.def));
    const added = wanted.constraints.filter((k) => !was.constraints.some((c) => c.name === k.name && c.def === k.def));
    const addNotValid = (k: PgDomain['constraints'][number]) => `${at} ADD CONSTRAINT ${quote(k.name)} ${k.def} NOT VALID`;
    const addAsWas = (k: PgDomain['constraints'][number]) => (k.validated ? `${at} ADD CONSTRAINT ${quote(k.name)} ${k.def}` : addNotValid(k));
    for (const k of wanted.constraints) {
      const old = was.constraints.find((c) => c.name === k.name && c.def === k.def);
      if (old && !old.validated && k.validated) {
        step('validate', 0, [`${at} VALIDATE CONSTRAINT ${quote(k.name)}`], [`${at} DROP CONSTRAINT ${quote(k.name)}`, addNotValid(k)]);
        change('validate-domain-constraint', `${name}.${k.name}`);
      } else if (old && old.validated && !k.validated) {
        step('main', STAGE.type + 0.7, [`${at} DROP CONSTRAINT ${quote(k.name)}`, addNotValid(k)], [`${at} DROP CONSTRAINT ${quote(k.name)}`, addAsWas(old)]);
        change('unvalidate-domain-constraint', `${name}.${k.name}`);
      }
    }
    for (const k of removed) {
      const renamed = added.find((a) => a.def === k.def && !was.constraints.some((c) => c.name === a.name));
      if (renamed) {
        step('main', STAGE.type + 0.7, [`${at} RENAME CONSTRAINT ${quote(k.name)} TO ${quote(renamed.name)}`], [`${at} RENAME CONSTRAINT ${quote(renamed.name)} TO ${quote(k.name)}`]);
        change('rename-domain-constraint', `${name}.${k.name} → ${renamed.name}`);
        added.splice(added.indexOf(renamed), 1);
        continue;
      }
      step('main', STAGE.type + 0.6, [`${at} DROP CONSTRAINT ${quote(k.name)}`], [addAsWas(k)]);
      change('drop-domain-constraint', `${name}.${k.name}`);
    }
    for (const k of added) {
      // NOT VALID: only values written from now on are checked; VALIDATE, in a later transaction, checks the rows already there without blocking writes.
      step('main', STAGE.type + 0.8, [addNotValid(k)], [`${at} DROP CONSTRAINT ${quote(k.name)}`]);
      if (k.validated) step('validate', 0, [`${at} VALIDATE CONSTRAINT ${quote(k.name)}`], [`${at} DROP CONSTRAINT ${quote(k.name)}`, addNotValid(k)]);
      change('add-domain-check', `${name}.${k.name}`);
    }
  }

  // Functions (trigger functions first of all): replaced in place; bodies are checked when they run.
  for (const [name, wanted] of desired.functions) {
    const was = current.functions.get(name);
    if (was && was.def === wanted.def) continue;
    step('main', STAGE.function, [wanted.def], [was ? was.def : `DROP FUNCTION ${wanted.sql}`]);
    change(was ? 'replace-function' : 'create-function', name);
  }
  for (const [name, was] of current.functions) {
    if (desired.functions.has(name)) continue;
    step('main', STAGE.dropFunction, [`DROP FUNCTION ${was.sql}`], [was.def]);
    change('drop-function', name);
  }

  // Tables.
  const created = [...desired.tables.values()].filter((t) => !current.tables.has(t.name));
  const dropped = [...current.tables.values()].filter((t) => !desired.tables.has(t.name));
  if (created.length > 0) {
    const indexes = [...desired.indexes.values()].filter((i) => created.some((t) => t.name === i.table));
    step('main', STAGE.createTable, [...created.map(createTable), ...created.flatMap(foreignKeys), ...indexes.map((i) => i.def)], [...created.map((t) => `DROP TABLE ${t.sql}`).reverse()]);
    for (const t of created) change('create-table', t.name);
  }
  if (dropped.length > 0) {
    refused.push(...dropped.map((t) => `table ${t.name}`));
    const indexes = [...current.indexes.values()].filter((i) => dropped.some((t) => t.name === i.table));
    step('main', STAGE.dropTable, [`DROP TABLE ${dropped.map((t) => t.sql).join(', ')}`], [...dropped.map(createTable), ...dropped.flatMap(foreignKeys), ...indexes.map((i) => i.def)]);
    for (const t of dropped) change('drop-table', t.name);
    allowed.add('drop-table');
  }

  // Tables on both sides: what changed in each. `reshaped` tables are those whose views must be recreated.
  const reshaped = new Set<string>(options.renames.map((r) => r.change.object.split(/[ .]/)[0]!));
  const droppedColumns = new Map<string, Set<string>>();
  for (const wanted of desired.tables.values()) {
    const was = current.tables.get(wanted.name);
    if (!was) continue;
    if (was.extra !== wanted.extra) {
      manual.push(`table ${wanted.name}: its partitioning, inheritance, storage options or row level security differ (${was.extra} → ${wanted.extra}); write that ALTER TABLE by hand`);
    }
    const gone = was.columns.filter((c) => !wanted.columns.some((d) => d.name === c.name));
    droppedColumns.set(wanted.name, new Set(gone.map((c) => c.name)));
    for (const column of gone) {
      refused.push(`column ${wanted.name}.${column.name}`);
      step('main', STAGE.dropColumn, [`ALTER TABLE ${wanted.sql} DROP COLUMN ${column.sql}`], [`ALTER TABLE ${wanted.sql} ADD COLUMN ${columnDefinition(column)}`]);
      change('drop-column', `${wanted.name}.${column.name}`);
      allowed.add('drop-column');
      reshaped.add(wanted.name);
    }
    for (const column of wanted.columns) {
      const old = was.columns.find((c) => c.name === column.name);
      if (!old) {
        if (column.notNull && column.default === null && column.identity === '' && column.generated === '') {
          const fill = fillFor(wanted, column);
          if (fill === undefined) {
            unfilled.push(`${wanted.name}.${column.name}`);
            continue;
          }
          // Added nullable, filled in batches, then NOT NULL through a validated CHECK.
          step('main', STAGE.addColumn, [`ALTER TABLE ${wanted.sql} ADD COLUMN ${columnDefinition({ ...column, notNull: false })}`], [`ALTER TABLE ${wanted.sql} DROP COLUMN ${column.sql}`]);
          change('add-column', `${wanted.name}.${column.name}`);
          backfill(wanted, column, fill);
          setNotNull(wanted, column, true);
          continue;
        }
        step('main', STAGE.addColumn, [`ALTER TABLE ${wanted.sql} ADD COLUMN ${columnDefinition(column)}`], [`ALTER TABLE ${wanted.sql} DROP COLUMN ${column.sql}`]);
        change('add-column', `${wanted.name}.${column.name}`);
        if (column.identity !== '') allowed.add('add-serial-or-identity');
        continue;
      }
      alterColumn(wanted, old, column);
    }
    constraints(was, wanted);
  }

  function alterColumn(table: PgTable, old: PgColumn, column: PgColumn): void {
    const at = `ALTER TABLE ${table.sql} ALTER COLUMN ${column.sql}`;
    const object = `${table.name}.${column.name}`;
    if (old.identity !== column.identity || old.generated !== column.generated || (old.generated === 's' && old.default !== column.default)) {
      manual.push(`column ${object}: its identity or generated expression changes; write that by hand (ALTER COLUMN … ADD/DROP IDENTITY, or add a new column and drop the old one)`);
      return;
    }
    if (old.type !== column.type || old.collation !== column.collation) {
      const to = `${column.type}${column.collation ? ` COLLATE ${column.collation}` : ''}`;
      const back = `${old.type}${old.collation ? ` COLLATE ${old.collation}` : ''}`;
      step('main', STAGE.alterColumn, [`${at} TYPE ${to} USING ${column.sql}::${column.type}`], [`${at} TYPE ${back} USING ${column.sql}::${old.type}`]);
      change('change-column-type', `${object} (${old.type} → ${column.type})`);
      typeChanges.set(table.name, [...(typeChanges.get(table.name) ?? []), `${column.name} ${old.type} → ${column.type}`]);
      reshaped.add(table.name);
    }
    if (old.default !== column.default && column.generated === '') {
      step('main', STAGE.alterColumn + 0.5, [column.default === null ? `${at} DROP DEFAULT` : `${at} SET DEFAULT ${column.default}`], [old.default === null ? `${at} DROP DEFAULT` : `${at} SET DEFAULT ${old.default}`]);
      change('set-default', object);
    }
    if (old.notNull && !column.notNull) {
      step('main', STAGE.alterColumn, [`${at} DROP NOT NULL`], [`${at} SET NOT NULL`]);
      change('drop-not-null', object);
    } else if (!old.notNull && column.notNull) {
      const fill = fillFor(table, column);
      if (fill !== undefined) backfill(table, column, fill);
      setNotNull(table, column, fill !== undefined);
      change('set-not-null', object);
    }
  }

  function constraints(was: PgTable, wanted: PgTable): void {
    const removed = was.constraints.filter((k) => !wanted.constraints.some((d) => d.name === k.name && d.def === k.def));
    const added = wanted.constraints.filter((k) => !was.constraints.some((c) => c.name === k.name && c.def === k.def));
    for (const k of wanted.constraints) {
      const old = was.constraints.find((c) => c.name === k.name && c.def === k.def);
      if (old && !old.validated && k.validated) {
        step('validate', 0, [`ALTER TABLE ${wanted.sql} VALIDATE CONSTRAINT ${quote(k.name)}`], [`ALTER TABLE ${wanted.sql} DROP CONSTRAINT ${quote(k.name)}`, addConstraint(wanted, k, true)]);
        change('validate-constraint', `${wanted.name}.${k.name}`);
      } else if (old && old.validated && !k.validated) {
        step('main', STAGE.addConstraint, [`ALTER TABLE ${wanted.sql} DROP CONSTRAINT ${quote(k.name)}`, addConstraint(wanted, k, true)], [`ALTER TABLE ${wanted.sql} DROP CONSTRAINT ${quote(k.name)}`, addConstraint(wanted, old, false)]);
        change('unvalidate-constraint', `${wanted.name}.${k.name}`);
      }
    }
    for (const k of removed) {
      const renamed = added.find((a) => a.type === k.type && a.def === k.def && !was.constraints.some((c) => c.name === a.name));
      if (renamed) {
        step('main', STAGE.renameObject, [`ALTER TABLE ${wanted.sql} RENAME CONSTRAINT ${quote(k.name)} TO ${quote(renamed.name)}`], [`ALTER TABLE ${wanted.sql} RENAME CONSTRAINT ${quote(renamed.name)} TO ${quote(k.name)}`]);
        change('rename-constraint', `${wanted.name}.${k.name} → ${renamed.name}`);
        added.splice(added.indexOf(renamed), 1);
        continue;
      }
      // A constraint on a dropped column goes with it; dropped first all the same, so that its down comes back after the column.
      // Foreign keys go before the keys they may reference; their downs come back after them.
      step('main', STAGE.dropConstraint - (k.type === 'f' ? 0.5 : 0), [`ALTER TABLE ${wanted.sql} DROP CONSTRAINT ${quote(k.name)}`], [addConstraint(was, k, !k.validated)]);
      change('drop-constraint', `${wanted.name}.${k.name}`);
    }
    for (const k of added) {
      const object = `${wanted.name}.${k.name}`;
      if (k.type === 'c' || k.type === 'f') {
        if (k.type === 'f' && k.references !== null && newKeyOn(k.references, k)) {
          manual.push(`foreign key ${object}: it references a key that this same change adds to ${k.references}. Diff in two steps: first the key, then the foreign key`);
          continue;
        }
        step('main', STAGE.addConstraint, [addConstraint(wanted, k, true)], [`ALTER TABLE ${wanted.sql} DROP CONSTRAINT ${quote(k.name)}`]);
        if (k.validated) step('validate', 0, [`ALTER TABLE ${wanted.sql} VALIDATE CONSTRAINT ${quote(k.name)}`], [`ALTER TABLE ${wanted.sql} DROP CONSTRAINT ${quote(k.name)}`, addConstraint(wanted, k, true)]);
        change(k.type === 'f' ? 'add-foreign-key' : 'add-check', object);
      } else if ((k.type === 'u' || k.type === 'p') && k.index !== null) {
        const index = quote(k.name);
        const kind = k.type === 'p' ? 'PRIMARY KEY' : 'UNIQUE';
        const deferrable = /\s(DEFERRABLE.*)$/.exec(k.def)?.[1];
        step('concurrent', 0, [`DROP INDEX CONCURRENTLY IF EXISTS ${qualifiedIndex(wanted, k.name)}`, concurrently(k.index)], [`DROP INDEX CONCURRENTLY IF EXISTS ${qualifiedIndex(wanted, k.name)}`]);
        step('validate', 2, [`ALTER TABLE ${wanted.sql} ADD CONSTRAINT ${index} ${kind} USING INDEX ${index}${deferrable ? ` ${deferrable}` : ''}`], [`ALTER TABLE ${wanted.sql} DROP CONSTRAINT ${index}`, k.index]);
        change(k.type === 'p' ? 'add-primary-key' : 'add-unique', object);
      } else {
        manual.push(`constraint ${object} (${k.def}): cairn diff does not add exclusion constraints to an existing table; write it by hand`);
      }
    }
  }

  function newKeyOn(table: string, fk: PgConstraint): boolean {
    const was = current.tables.get(table);
    const wanted = desired.tables.get(table);
    if (!was || !wanted) return false;
    const referenced = /REFERENCES\s+\S+\(([^)]*)\)/.exec(fk.def)?.[1] ?? '';
    const keyOf = (k: PgConstraint) => (k.type === 'p' || k.type === 'u') && k.columns.map(quoteIfNeeded).join(', ') === referenced;
    return wanted.constraints.some(keyOf) && !was.constraints.some(keyOf);
  }

  // Indexes of tables on both sides.
  const kept = (name: string) => current.tables.has(name) && desired.tables.has(name);
  const removedIndexes = [...current.indexes.values()].filter((i) => kept(i.table) && desired.indexes.get(i.name)?.def !== i.def);
  const addedIndexes = [...desired.indexes.values()].filter((i) => kept(i.table) && current.indexes.get(i.name)?.def !== i.def);
  for (const index of removedIndexes) {
    const renamed = !desired.indexes.has(index.name) && addedIndexes.find((a) => !current.indexes.has(a.name) && a.table === index.table && withoutName(a) === withoutName(index));
    if (renamed) {
      step('main', STAGE.renameObject, [`ALTER INDEX ${index.sql} RENAME TO ${quote(renamed.name.replace(/.*\./, ''))}`], [`ALTER INDEX ${renamed.sql} RENAME TO ${quote(index.name.replace(/.*\./, ''))}`]);
      change('rename-index', `${index.name} → ${renamed.name}`);
      addedIndexes.splice(addedIndexes.indexOf(renamed), 1);
      continue;
    }
    const gone = droppedColumns.get(index.table) ?? new Set<string>();
    if (index.columns.some((c) => gone.has(c))) {
      // Goes with its column; its down comes back after the column does.
      step('main', STAGE.dropIndex, [], [index.def]);
    } else {
      step('concurrent', 0, [`DROP INDEX CONCURRENTLY IF EXISTS ${index.sql}`], [`DROP INDEX CONCURRENTLY IF EXISTS ${index.sql}`, concurrently(index.def)]);
    }
    if (!addedIndexes.some((a) => a.name === index.name)) change('drop-index', index.name);
  }
  for (const index of addedIndexes) {
    step('concurrent', 1, [`DROP INDEX CONCURRENTLY IF EXISTS ${index.sql}`, concurrently(index.def)], [`DROP INDEX CONCURRENTLY IF EXISTS ${index.sql}`]);
    change(current.indexes.has(index.name) ? 'replace-index' : 'create-index', index.name);
  }

  // Views: the changed ones, and those that read a table whose columns change or a view that is recreated.
  const recreate = new Set<string>();
  const readsChanged = (reads: readonly string[]) => reads.some((r) => reshaped.has(r) || recreate.has(r) || dropped.some((t) => t.name === r));
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, view] of current.views) {
      if (recreate.has(name)) continue;
      const wanted = desired.views.get(name);
      if (!wanted || wanted.def !== view.def || wanted.materialized !== view.materialized || readsChanged(view.reads)) {
        recreate.add(name);
        grew = true;
      }
    }
  }
  const viewOrder = (views: PgSchema['views'], names: ReadonlySet<string>) => dependencyOrder([...names].filter((n) => views.has(n)), (n) => views.get(n)!.reads);
  const createView = (v: NonNullable<ReturnType<PgSchema['views']['get']>>) => `CREATE ${v.materialized ? 'MATERIALIZED VIEW' : 'VIEW'} ${v.sql} AS ${v.def.trim().replace(/;$/, '')}`;
  const dropView = (v: NonNullable<ReturnType<PgSchema['views']['get']>>) => `DROP ${v.materialized ? 'MATERIALIZED VIEW' : 'VIEW'} ${v.sql}`;
  for (const name of viewOrder(current.views, recreate).reverse()) {
    const view = current.views.get(name)!;
    step('main', STAGE.dropView, [dropView(view)], [createView(view)]);
    if (!desired.views.has(name)) change('drop-view', name);
  }
  const wantedViews = new Set([...desired.views.keys()].filter((n) => recreate.has(n) || !current.views.has(n)));
  for (const name of viewOrder(desired.views, wantedViews)) {
    const view = desired.views.get(name)!;
    step('main', STAGE.createView, [createView(view)], [dropView(view)]);
    const old = current.views.get(name);
    if (!old || old.def !== view.def || old.materialized !== view.materialized) change(old ? 'replace-view' : 'create-view', name);
  }

  // Triggers.
  for (const [key, trigger] of current.triggers) {
    if (desired.triggers.get(key)?.def === trigger.def) continue;
    const table = current.tables.get(trigger.table);
    step('main', STAGE.dropTrigger, [`DROP TRIGGER ${quote(trigger.name)} ON ${table?.sql ?? trigger.table}`], [trigger.def]);
    if (!desired.triggers.has(key)) change('drop-trigger', `${trigger.name} on ${trigger.table}`);
  }
  for (const [key, trigger] of desired.triggers) {
    const old = current.triggers.get(key);
    if (old?.def === trigger.def) continue;
    const table = desired.tables.get(trigger.table);
    step('main', STAGE.createTrigger, [trigger.def], [`DROP TRIGGER ${quote(trigger.name)} ON ${table?.sql ?? trigger.table}`]);
    change(old ? 'replace-trigger' : 'create-trigger', `${trigger.name} on ${trigger.table}`);
  }

  if (unfilled.length > 0) {
    const [first] = unfilled;
    throw new CairnError('USAGE', `${unfilled.length === 1 ? `column ${first} is` : `columns ${unfilled.join(', ')} are`} new, NOT NULL and without a default: the rows already in the table need a value, and the ADD COLUMN would fail on a table that has rows`, {
      hint: `pass --fill ${first}=<SQL expression over the table's columns> (once per column; the file adds it nullable, fills it in batches, then sets NOT NULL), or give it a DEFAULT in the desired schema`,
      details: { columns: unfilled },
    });
  }
  const unused = [...fills.keys()].filter((key) => !used.has(key));
  if (unused.length > 0) {
    throw new CairnError('USAGE', `--fill ${unused.join(', ')}: no column that becomes NOT NULL in this change has that name`, {
      hint: 'on PostgreSQL --fill fills a new NOT NULL column, or one that becomes NOT NULL, before the NOT NULL is set: name it as table.column',
      details: { unused },
    });
  }
  if (manual.length > 0) {
    throw new CairnError('USAGE', `cairn diff cannot write ${manual.length === 1 ? 'this change' : 'these changes'} safely:\n  ${manual.join('\n  ')}`, {
      hint: 'write that part by hand in a migration of its own (`cairn new <name>`), apply it, then run cairn diff again for the rest',
      details: { manual },
    });
  }
  if (refused.length > 0 && !options.allowDrop) {
    throw new CairnError('USAGE', `the desired schema drops ${refused.join(', ')}, and cairn diff does not drop data unless told to`, {
      hint: 'if a name changed, say so: --rename table.old=new (or --rename old_table=new_table); to drop, pass --allow-drop --reason "<why the data can go>"',
      details: { drops: refused },
    });
  }
  if (typeChanges.size > 0) allowed.add('change-column-type');
  return { changes, files: files(steps, options), allowed: [...allowed], typeChanges };
}

function files(steps: readonly Step[], options: PgPlanOptions): PgPlanFile[] {
  const result: PgPlanFile[] = [];
  for (const phase of ['enum', 'main', 'concurrent', 'backfill', 'validate'] as const) {
    const mine = steps.filter((s) => s.phase === phase && s.up.length + s.down.length > 0).sort((a, b) => a.stage - b.stage);
    if (mine.length === 0) continue;
    const transactional = phase !== 'concurrent';
    if (phase === 'backfill') {
      // Batched statements commit batch by batch: no SET LOCAL, no file-wide transaction.
      const down = [...mine].reverse().flatMap((s) => s.down).filter((sql) => sql !== 'SELECT 1');
      result.push({ phase, why: WHY[phase], up: mine.flatMap((s) => s.up), down: down.length > 0 ? down : ['SELECT 1'], noDown: null, noTransaction: false });
      continue;
    }
    const functions = phase === 'main' && mine.some((s) => s.stage === STAGE.function || s.stage === STAGE.dropFunction);
    const top = [
      ...(transactional ? [`SET LOCAL lock_timeout = '${options.lockTimeout}'`] : []),
      // Function bodies may name tables created further down, as pg_dump's output does.
      ...(functions ? ['SET LOCAL check_function_bodies = off'] : []),
    ];
    const up = [...top, ...mine.flatMap((s) => s.up)];
    const down = phase === 'enum' ? null : [...top, ...[...mine].reverse().flatMap((s) => s.down)];
    result.push({ phase, why: WHY[phase], up, down, noDown: phase === 'enum' ? 'PostgreSQL cannot remove a value from an enum type' : null, noTransaction: !transactional });
  }
  return result;
}

/** CREATE TABLE with its columns, primary key, unique, check and exclusion constraints; foreign keys come after every table exists. */
function createTable(table: PgTable): string {
  const parts = [
    ...table.columns.map(columnDefinition),
    ...table.constraints.filter((k) => k.type !== 'f').map((k) => `CONSTRAINT ${quote(k.name)} ${k.def}${k.validated ? '' : ' NOT VALID'}`),
  ];
  return `CREATE TABLE ${table.sql} (\n  ${parts.join(',\n  ')}\n)`;
}

function foreignKeys(table: PgTable): string[] {
  return table.constraints.filter((k) => k.type === 'f').map((k) => addConstraint(table, k, !k.validated));
}

function addConstraint(table: PgTable, k: PgConstraint, notValid: boolean): string {
  return `ALTER TABLE ${table.sql} ADD CONSTRAINT ${quote(k.name)} ${k.def}${notValid && (k.type === 'f' || k.type === 'c') ? ' NOT VALID' : ''}`;
}

const SERIAL: Record<string, string> = { integer: 'serial', bigint: 'bigserial', smallint: 'smallserial' };

export function columnDefinition(column: PgColumn): string {
  // serial: the sequence it owns is created with it, named as it was.
  const serial = column.ownsSequence !== false && column.default !== null && /^nextval\('[^']+'::regclass\)$/.test(column.default) && SERIAL[column.type] !== undefined;
  const parts = [column.sql, serial ? SERIAL[column.type]! : column.type];
  if (column.collation) parts.push(`COLLATE ${column.collation}`);
  if (column.generated === 's') parts.push(`GENERATED ALWAYS AS (${column.default ?? 'NULL'}) STORED`);
  else if (column.default !== null && !serial) parts.push(`DEFAULT ${column.default}`);
  if (column.identity === 'a') parts.push('GENERATED ALWAYS AS IDENTITY');
  if (column.identity === 'd') parts.push('GENERATED BY DEFAULT AS IDENTITY');
  if (column.notNull && column.identity === '' && !serial) parts.push('NOT NULL');
  return parts.join(' ');
}

/** `CREATE [UNIQUE] INDEX name ON …` → `CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS name ON …`. */
function concurrently(def: string): string {
  return def.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX CONCURRENTLY IF NOT EXISTS ');
}

/** An index's definition with its own name taken out: two that differ only by name are a rename. */
function withoutName(index: PgIndex): string {
  return index.def.replace(/^(CREATE (?:UNIQUE )?INDEX )\S+ /, '$1');
}

function qualifiedIndex(table: PgTable, name: string): string {
  const schema = /^(.*)\.[^.]+$/.exec(table.sql)?.[1];
  return schema ? `${schema}.${quote(name)}` : quote(name);
}

/** Names in the order they can be created: each after those it reads (that are in the list). */
function dependencyOrder(names: readonly string[], reads: (name: string) => readonly string[]): string[] {
  const wanted = new Set(names);
  const done = new Set<string>();
  const order: string[] = [];
  const visit = (name: string, path: Set<string>) => {
    if (done.has(name) || path.has(name)) return;
    path.add(name);
    for (const dependency of reads(name)) if (wanted.has(dependency)) visit(dependency, path);
    done.add(name);
    order.push(name);
  };
  for (const name of [...names].sort()) visit(name, new Set());
  return order;
}

export const quote = quoteIdentifier;

/** As PostgreSQL prints an identifier: bare when it can be. */
function quoteIfNeeded(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : quote(name);
}

const literal = quoteLiteral;

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** PostgreSQL keeps 63 bytes of a name. */
function truncate(name: string): string {
  return Buffer.from(name).subarray(0, 63).toString();
}
