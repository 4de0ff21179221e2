import { quoteLiteral } from '../../sql/quote.js';
import { incrementalAssembler, oidList, othersFrom, othersSql, partsFrom, partsSql, readRelations, relationsSql, type RelationPart, type RelationRow, type Row } from './dump.js';
import { CHANGE_LOG } from './scratch.js';

/**
 * The incremental dump of a scratch database, dumped after every step of a
 * replay: what changed since the last dump (the change log scratch.ts keeps,
 * or catalog rows with a newer xmin) is read again, the rest reused. The full
 * dump (dump.ts) prints; this file decides what to read.
 */

/** A connection that takes several statements in one round trip (pg's simple query protocol). */
export interface PgBatchQueryable {
  query(text: string): Promise<{ rows: Row[] } | { rows: Row[] }[]>;
}

/** Catalogs whose rows hang off a relation, with the column naming the row and the relation it belongs to. */
const OWNED = {
  class: { table: 'pg_class', row: 'oid', owner: 'oid' },
  constraint: { table: 'pg_constraint', row: 'oid', owner: 'conrelid' },
  index: { table: 'pg_index', row: 'indexrelid', owner: 'indrelid' },
  trigger: { table: 'pg_trigger', row: 'oid', owner: 'tgrelid' },
  rewrite: { table: 'pg_rewrite', row: 'oid', owner: 'ev_class' },
  attrdef: { table: 'pg_attrdef', row: 'oid', owner: 'adrelid' },
  inherits: { table: 'pg_inherits', row: "inhrelid::text || ':' || inhparent::text", owner: 'inhrelid' },
} as const;
type Owned = keyof typeof OWNED;

/** Oids below this are the system's own objects (FirstNormalObjectId). */
const USER_OID = 16384;

/**
 * The relation a pg_class row is printed with: an index with its table, a
 * sequence with the column that owns it (serial, identity), a toast table
 * with nothing (not dumped), anything else as itself.
 */
const relationOf = (c: string) => `CASE WHEN ${c}.relkind IN ('i', 'I') THEN (SELECT x.indrelid FROM pg_index x WHERE x.indexrelid = ${c}.oid)
       WHEN ${c}.relkind = 't' THEN NULL
       WHEN ${c}.relkind = 'S' THEN coalesce((SELECT x.refobjid FROM pg_depend x WHERE x.classid = 'pg_class'::regclass AND x.objid = ${c}.oid
                                                AND x.refclassid = 'pg_class'::regclass AND x.deptype IN ('a', 'i') LIMIT 1), ${c}.oid)
       ELSE ${c}.oid END`;

/** The relation a dependent catalog object (pg_depend's classid, objid) is printed with; for other objects, the object itself. */
const dependentOf = (classid: string, objid: string) => `CASE ${classid}
       WHEN 'pg_class'::regclass THEN (SELECT ${relationOf('y')} FROM pg_class y WHERE y.oid = ${objid})
       WHEN 'pg_constraint'::regclass THEN (SELECT nullif(y.conrelid, 0) FROM pg_constraint y WHERE y.oid = ${objid})
       WHEN 'pg_attrdef'::regclass THEN (SELECT y.adrelid FROM pg_attrdef y WHERE y.oid = ${objid})
       WHEN 'pg_trigger'::regclass THEN (SELECT y.tgrelid FROM pg_trigger y WHERE y.oid = ${objid})
       WHEN 'pg_rewrite'::regclass THEN (SELECT y.ev_class FROM pg_rewrite y WHERE y.oid = ${objid})
       ELSE ${objid} END`;

/**
 * Catalog rows written since `mark` (a transaction id), each named by the
 * relation it is printed with, or `other`: a schema, type, function,
 * collation, operator or extension, which may be printed anywhere (types in
 * columns, functions in defaults and triggers, schemas in every name).
 */
function changedSql(mark: string): string {
  const since = (alias: string) => `age(${alias}.xmin) <= age('${mark}'::xid)`;
  const relation = (alias: string, oid: string) => `(SELECT ${relationOf('r')} FROM pg_class r WHERE r.oid = ${oid})`;
  return [
    `SELECT 'class' AS cat, c.oid::text AS row, (${relationOf('c')})::text AS owner, c.relkind::text AS kind FROM pg_class c WHERE c.oid >= ${USER_OID} AND ${since('c')}`,
    `SELECT DISTINCT 'attribute', NULL, ${relation('r', 'a.attrelid')}::text, (SELECT r.relkind::text FROM pg_class r WHERE r.oid = a.attrelid) FROM pg_attribute a WHERE a.attrelid >= ${USER_OID} AND ${since('a')}`,
    ...(['constraint', 'index', 'trigger', 'rewrite', 'attrdef', 'inherits'] as const).map((cat) => {
      const { table, row, owner } = OWNED[cat];
      return `SELECT '${cat}', (${row})::text, ${owner}::text, NULL FROM ${table} x WHERE ${owner} >= ${USER_OID} AND ${since('x')}`;
    }),
    // How many rows the owned catalogs hold (kind is the count): rows that went missing show as fewer than expected.
    ...(Object.keys(OWNED) as Owned[]).map((cat) => {
      const { table, row, owner } = OWNED[cat];
      return `SELECT 'count', '${cat}', NULL, count(*)::text FROM ${table} WHERE ${cat === 'class' ? row : owner} >= ${USER_OID}`;
    }),
    `SELECT 'sequence', s.seqrelid::text, ${relation('r', 's.seqrelid')}::text, 'S' FROM pg_sequence s WHERE ${since('s')}`,
    // A table's row type and its array type come and go with the table (its pg_class row says so).
    `SELECT 'other', t.oid::text, NULL, NULL FROM pg_type t WHERE t.oid >= ${USER_OID} AND ${since('t')} AND t.typrelid = 0
        AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = t.typelem AND e.typrelid <> 0)`,
    ...['pg_proc', 'pg_namespace', 'pg_enum', 'pg_collation', 'pg_operator', 'pg_extension', 'pg_opclass', 'pg_ts_config'].map(
      (table) => `SELECT 'other', x.oid::text, NULL, NULL FROM ${table} x WHERE x.oid >= ${USER_OID} AND ${since('x')}`,
    ),
  ].join('\nUNION ALL\n');
}

/** How many other objects there are (one dropped shows as fewer), and the transaction id the next write will get. */
function countsSql(): string {
  const others = ['pg_proc', 'pg_namespace', 'pg_enum', 'pg_collation', 'pg_operator', 'pg_extension', 'pg_opclass', 'pg_ts_config']
    .map((table) => `(SELECT count(*) FROM ${table} WHERE oid >= ${USER_OID})`)
    .concat(`(SELECT count(*) FROM pg_type t WHERE t.oid >= ${USER_OID} AND t.typrelid = 0 AND t.typelem = 0)`);
  return `SELECT (${others.join(' + ')})::int AS other, (txid_snapshot_xmax(txid_current_snapshot()) % 4294967296)::text AS mark`;
}

/** Every row of an owned catalog, with its owner: read once, at the first dump. */
function listSql(cat: Owned): string {
  const { table, row, owner } = OWNED[cat];
  if (cat === 'class') return `SELECT c.oid::text AS row, (${relationOf('c')})::text AS owner FROM pg_class c WHERE c.oid >= ${USER_OID}`;
  return `SELECT (${row})::text AS row, ${owner}::text AS owner FROM ${table} WHERE ${owner} >= ${USER_OID}`;
}

/** The rows an owned catalog holds now, as one array: read when some went missing (their owners are known from before). */
function presentSql(cat: Owned): string {
  const { table, row, owner } = OWNED[cat];
  return `SELECT array_to_string(array_agg((${row})::text), ',') AS rows FROM ${table} WHERE ${cat === 'class' ? row : owner} >= ${USER_OID}`;
}

/** The relations printed with any of `seeds`, following dependencies (a view of a view, a foreign key to a renamed table). */
function dependentsSql(seeds: readonly string[] | string): string {
  return `WITH RECURSIVE reach(oid) AS (
            SELECT unnest(${oidList(seeds)})
            UNION
            SELECT (${dependentOf('d.classid', 'd.objid')})
              FROM reach JOIN pg_depend d ON d.refobjid = reach.oid
             WHERE d.refclassid IN ('pg_class'::regclass, 'pg_type'::regclass, 'pg_proc'::regclass, 'pg_namespace'::regclass, 'pg_collation'::regclass)
          )
          SELECT oid::text AS oid FROM reach WHERE oid IS NOT NULL`;
}

interface DumpState {
  readonly excludeKey: string;
  readonly excluded: ReadonlySet<string>;
  readonly version: number;
  /** Taken before the last read: rows written since have a newer xmin. */
  mark: string;
  /** Owned catalogs' rows (row → owning relation) as of the last read, and their count of other objects. */
  known: Map<Owned, Map<string, string | null>>;
  otherCount: number;
  /** The rows of `othersSql`, as of the last read. */
  others: Row[][];
  readonly parts: Map<string, RelationPart>;
}

/**
 * `dumpPostgres` for a connection that is the only writer of its database
 * (a scratch database): the same text, but after the first call each dump
 * re-reads only what changed since the one before. A full dump reads every
 * relation through the server's printers (about 70 ms at 1000 tables), which
 * made a replay that dumps after every step quadratic.
 *
 * What changed is found in the catalogs: every row a transaction writes
 * carries its id (xmin), so rows newer than the id taken at the last dump
 * are the new and altered objects; rows that went missing show as a count
 * lower than expected, and then that catalog's rows are listed and compared.
 * Each changed row names the relation it is printed with (an index its
 * table, a default its column's table, a serial sequence its column), and
 * relations whose printed text names a changed one (a foreign key, a view,
 * a default calling nextval) follow, through pg_depend. Any change to a
 * schema, type, function, collation, operator or extension, which any
 * definition may name, re-reads everything. Schemas, types, functions and
 * sequences themselves are few and are read every time.
 *
 * With `changeLog` (a scratch where Cairn may create event triggers,
 * scratch.ts: installChangeLog), what changed is read from the log the
 * triggers keep instead of scanned for: each command's objects, resolved to
 * the relation they are printed with, and each dropped object by its address
 * (a table's index, constraint, trigger or default by the table's name in
 * the previous dump). Relations that depended on a changed one at the
 * previous dump are re-read too (a partition detached from its parent), and
 * pg_depend is followed from there as above.
 *
 * Only for a database no one else writes to while it is in use: a
 * transaction that commits later with an older id would go unseen.
 */
export function incrementalPostgresDump(client: PgBatchQueryable, settings: { readonly changeLog?: boolean } = {}): (options: { readonly exclude: readonly string[] }) => Promise<string> {
  /** `before`: statements run first, with the session's own search_path (resolving names as dumpPostgres does); their rows come first. */
  const run = async (statements: readonly string[], before: readonly string[] = []): Promise<Row[][]> => {
    // One round trip, one implicit transaction: set_config(…, true) ends with it, as does a failure.
    // No JIT: these queries are small, but their estimates can pass jit_above_cost, and compiling costs more than running them.
    const result = await client.query([...before, `SELECT set_config('search_path', 'public', true), set_config('jit', 'off', true)`, ...statements].join(';\n'));
    const rows = (Array.isArray(result) ? result : [result]).map((r) => r.rows);
    return [...rows.slice(0, before.length), ...rows.slice(before.length + 1)];
  };
  /**
   * `run` for statements whose text is the same at every dump: each is
   * prepared once (PREPARE, in the session) and then only executed, in one
   * round trip. Parsing and planning these catalog queries took more of a
   * dump than running them (about 2 ms of 3 at 1000 tables). Prepared with
   * the search_path `run` sets, so their plans stay valid. A migration that
   * drops them (DEALLOCATE ALL, DISCARD ALL) only makes the next dump
   * prepare them again, under new names.
   */
  let prepared = new Map<string, string>();
  let generation = 0;
  const runPrepared = async (statements: readonly string[], before: readonly string[] = []): Promise<Row[][]> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const missing = [...new Set(statements.filter((sql) => !prepared.has(sql)))];
        if (missing.length > 0) {
          const named = missing.map((sql, i) => [sql, `cairn_scratch_dump_${generation}_${prepared.size + i}`] as const);
          await run(named.map(([sql, name]) => `PREPARE ${name} AS ${sql}`));
          for (const [sql, name] of named) prepared.set(sql, name);
        }
        return await run(statements.map((sql) => `EXECUTE ${prepared.get(sql)!}`), before);
      } catch (error) {
        // 26000: no such prepared statement; 42P05: one of that name exists already.
        const code = (error as { code?: string }).code;
        if (attempt > 0 || (code !== '26000' && code !== '42P05')) throw error;
        prepared = new Map();
        generation++;
      }
    }
  };
  let state: DumpState | null = null;
  // The text from the parts: kept sorted between dumps (dump.ts, incrementalAssembler); the others rows are replaced, never changed in place, when re-read.
  const assemble = incrementalAssembler();
  const assembled = (dump: DumpState) => assemble(othersFrom(dump.others, dump.excluded), dump.others, dump.parts.values());
  /** Whether changes are read from the scratch's change log (scratch.ts) rather than found in the catalogs. */
  let changeLog = settings.changeLog ?? false;

  // Names resolved as the session sees them, as dumpPostgres does.
  const resolve = async (exclude: readonly string[]) => {
    const [result] = [await client.query(resolveSql(exclude))].flat();
    return resolvedOids(result?.rows ?? []);
  };

  const fresh = async (exclude: readonly string[]): Promise<DumpState> => {
    const excluded = await resolve(exclude);
    // The change log starts empty here: what comes after this read is in it.
    const [versionRows] = await run(["SELECT current_setting('server_version_num') AS v", ...(changeLog ? [changeLogStateSql()] : [])]);
    const [countRows, ...lists] = await run([countsSql(), ...(Object.keys(OWNED) as Owned[]).map(listSql)]);
    const counts = countRows![0] as Record<string, number | string>;
    const known = new Map((Object.keys(OWNED) as Owned[]).map((cat, i) => [cat, new Map((lists[i] as { row: string; owner: string | null }[]).map((r) => [r.row, r.owner]))]));
    const version = Number((versionRows![0] as { v: string }).v);
    const parts = new Map((await readRelations(run, excluded, null, version)).map((part) => [part.relation.oid, part]));
    const others = await run(othersSql());
    return { excludeKey: exclude.join('\0'), excluded, version, mark: String(counts.mark), known, otherCount: Number(counts.other), others, parts };
  };

  /** What a step changed: the relations to re-read from (`seeds`), relations that are gone, and whether to re-read everything or the sequences. */
  interface Changes {
    everything: boolean;
    readonly seeds: Set<string>;
    readonly gone: Set<string>;
    sequence: boolean;
    /** Called once the dump is read: what to remember for the next one. */
    readonly done: () => void;
  }

  /** From the catalogs: rows newer than the mark, and catalogs holding fewer rows than expected. */
  const fromCatalogs = async (current: DumpState): Promise<Changes> => {
    const [changedRows, countRows] = await run([changedSql(current.mark), countsSql()]);
    const counts = countRows![0] as Record<string, number | string>;
    const rows = changedRows as { cat: string; row: string | null; owner: string | null; kind: string | null }[];
    const changed = rows.filter((row) => row.cat !== 'count');
    const owned = new Map(rows.filter((row) => row.cat === 'count').map((row) => [row.row, Number(row.kind)]));
    let everything = changed.some((row) => row.cat === 'other' || row.kind === 'c') || Number(counts.other) !== current.otherCount;
    const seeds = new Set<string>();
    for (const row of changed) if (row.owner !== null) seeds.add(row.owner);
    for (const row of changed) if (row.cat === 'class' && row.row !== null) seeds.add(row.row);

    // Rows that went missing: a catalog holds fewer rows than before plus the new ones.
    const short = (Object.keys(OWNED) as Owned[]).filter((cat) => {
      const known = current.known.get(cat)!;
      const added = new Set(changed.filter((row) => row.cat === cat && row.row !== null && !known.has(row.row)).map((row) => row.row));
      return owned.get(cat) !== known.size + added.size;
    });
    const lists = short.length > 0 ? await run(short.map(presentSql)) : [];
    const gone = new Set<string>();
    short.forEach((cat, i) => {
      const present = new Set(String((lists[i]![0] as { rows: string | null }).rows ?? '').split(',').filter(Boolean));
      const known = current.known.get(cat)!;
      for (const [row, owner] of known) {
        if (present.has(row)) continue;
        if (owner !== null) seeds.add(owner);
        if (cat === 'class') gone.add(row);
        known.delete(row);
      }
    });
    for (const oid of gone) seeds.add(oid);
    for (const row of changed) if (row.row !== null) current.known.get(row.cat as Owned)?.set(row.row, row.owner);
    if (changed.some((row) => row.cat === 'class' && row.kind === 'c')) everything = true;
    return {
      everything,
      seeds,
      gone,
      sequence: changed.some((row) => row.cat === 'sequence' || row.kind === 'S'),
      done: () => {
        current.mark = String(counts.mark);
        current.otherCount = Number(counts.other);
      },
    };
  };

  /**
   * From the change log the scratch's event triggers keep (scratch.ts): each
   * object a command created or altered, named by the relation it is printed
   * with, and each one dropped, named by its address. Null when the log
   * cannot be trusted (a trigger was dropped or disabled, or event triggers
   * were switched off): then it is not used again.
   */
  const fromLog = async (current: DumpState, exclude: readonly string[] | null): Promise<{ changes: Changes; early: EarlyRead; excluded: ReadonlySet<string> | null } | null> => {
    const results = await runPrepared([changeLogSql(), ...earlyReadSql(current.version)], exclude === null ? [] : [resolveSql(exclude)]);
    const excluded = exclude === null ? null : resolvedOids(results.shift()!);
    const [entryRows, seedRows, stateRows, , reachRows, relationRows, ...partRows] = results;
    const logState = stateRows![0] as { triggers: number; enabled: string };
    if (Number(logState.triggers) !== CHANGE_LOG_TRIGGERS.length || logState.enabled === 'off') return null;
    const oidsOf = (text: unknown) => new Set(String(text ?? '').replace(/^\{|\}$/g, '').split(',').filter(Boolean));
    const early: EarlyRead = {
      seeds: oidsOf((seedRows![0] as { seeds?: string } | undefined)?.seeds),
      reached: oidsOf((reachRows![0] as { reach?: string } | undefined)?.reach),
      relations: (relationRows as unknown as RelationRow[]).filter((relation) => !current.excluded.has(relation.oid)),
      partRows,
    };
    const entries = entryRows as { op: string; cls: string | null; objid: string | null; rest: string; owner: string | null; kind: string | null }[];
    const changes: Changes = { everything: false, seeds: new Set(), gone: new Set(), sequence: false, done: () => undefined };
    const sequences = current.others[6] as { oid: string; owner: string | null }[];
    const parts = [...current.parts.values()];
    const byKey = (key: string) => parts.filter((part) => part.relation.key === key);
    const droppedRelations = new Set(entries.filter((e) => e.op === 'd' && e.cls === 'pg_class').map((e) => (JSON.parse(e.rest) as [string, string | null])[1]));
    for (const entry of entries) {
      const cls = entry.cls ?? '';
      if (entry.op === 'c') {
        const [tag] = JSON.parse(entry.rest) as [string];
        if (cls === '' || entry.objid === null) {
          if (!NO_OBJECT_TAGS.has(tag)) changes.everything = true;
        } else if (cls === 'pg_class') {
          // Gone again within the step when kind is null: its drop is in the log too.
          if (entry.kind === 'c') changes.everything = true;
          if (entry.kind === 'S') changes.sequence = true;
          if (entry.owner !== null) changes.seeds.add(entry.owner);
        } else if (cls === 'pg_constraint' && entry.kind === 'domain') {
          changes.everything = true;
        } else if (PRINTED_WITH_RELATION.has(cls)) {
          if (entry.owner !== null) changes.seeds.add(entry.owner);
        } else if (cls === 'pg_type') {
          // A table's row type (or its array) is printed with the table; any other type anywhere.
          if (entry.owner !== null) changes.seeds.add(entry.owner);
          else if (entry.kind !== null) changes.everything = true;
        } else if (!NOT_PRINTED.has(cls)) {
          changes.everything = true;
        }
        continue;
      }
      // Dropped: the catalog row is gone, its address says where it was printed.
      const [type, identity, names] = JSON.parse(entry.rest) as [string, string | null, string[] | null];
      const schema = names?.[0] ?? '';
      if (schema === 'pg_toast' || /^pg_temp_\d+$/.test(schema)) continue;
      if (cls === 'pg_class') {
        if (entry.objid !== null && current.parts.has(entry.objid)) {
          changes.gone.add(entry.objid);
          changes.seeds.add(entry.objid);
        }
        for (const sequence of sequences.filter((row) => row.oid === entry.objid)) {
          changes.sequence = true;
          if (sequence.owner !== null) changes.seeds.add(sequence.owner);
        }
        // An index is printed with its table.
        const key = `${schema}.${names?.[1] ?? ''}`;
        for (const part of parts) if (part.indexes.some((index) => index.key === key)) changes.seeds.add(part.relation.oid);
        if (type === 'composite type') changes.everything = true;
      } else if (PRINTED_WITH_RELATION.has(cls)) {
        if (type === 'domain constraint') changes.everything = true;
        for (const part of byKey(`${schema}.${names?.[1] ?? ''}`)) changes.seeds.add(part.relation.oid);
      } else if (cls === 'pg_type') {
        // A dropped table's row type and array type go with it.
        if (identity === null || !droppedRelations.has(identity.replace(/\[\]$/, ''))) changes.everything = true;
      } else if (!NOT_PRINTED.has(cls)) {
        changes.everything = true;
      }
    }
    // A relation that stops depending on a seed no longer shows in pg_depend (a partition detached from its parent, a view no longer reading a table): the previous dump says which.
    if (changes.seeds.size > 0) {
      for (const part of parts) if (part.parents.some((oid) => changes.seeds.has(oid)) || part.uses.some((oid) => changes.seeds.has(oid))) changes.seeds.add(part.relation.oid);
    }
    return { changes, early, excluded };
  };

  return async (options) => {
    const key = options.exclude.join('\0');
    if (state !== null && state.excludeKey !== key) state = null;
    // A table to exclude that did not exist yet may exist now (verify's history table exists before its first dump): looked up again (with the log, in its round trip).
    const recheck = state !== null && state.excluded.size < options.exclude.length;
    const appeared = (now: ReadonlySet<string> | null) => now !== null && [...now].some((oid) => !state?.excluded.has(oid));
    if (recheck && !changeLog && appeared(await resolve(options.exclude))) state = null;
    if (state === null) {
      state = await fresh(options.exclude);
      return assembled(state);
    }
    const current = state;
    const logged = changeLog ? await fromLog(current, recheck ? options.exclude : null) : null;
    if (logged && appeared(logged.excluded)) {
      // The log is read and emptied: read everything again, as at the first dump.
      state = await fresh(options.exclude);
      return assembled(state);
    }
    let changes = logged?.changes ?? null;
    if (changeLog && changes === null) {
      // The log missed something, or may have: read everything once, and find changes in the catalogs from now on.
      changeLog = false;
      state = await fresh(options.exclude);
      return assembled(state);
    }
    changes ??= await fromCatalogs(current);
    const { everything, seeds, gone } = changes;

    // What the log's round trip already read: the relations reached from the seeds the server found in the log.
    const early = everything ? null : (logged?.early ?? null);
    let dirty: Set<string>;
    if (everything) {
      dirty = new Set(current.parts.keys());
    } else {
      // Seeds only the previous dump could name (a dropped index's table, a partition no longer attached) need a walk of their own.
      const walk = early === null ? [...seeds] : [...seeds].filter((oid) => !early.seeds.has(oid));
      // The walk follows a few index entries per step; a hash join would read all of pg_depend at each.
      const [, reached] = walk.length > 0 ? await run([WALK_SETTINGS, dependentsSql(walk)]) : [[], []];
      dirty = new Set([...(early?.reached ?? []), ...(reached as { oid: string }[]).map((row) => row.oid)]);
    }
    // Schemas, types and functions change only with an `everything` change; sequences also with a sequence or a table that owns one.
    const sequences = current.others[6] as { oid: string; owner: string | null }[];
    const sequenceTouched = changes.sequence || sequences.some((row) => gone.has(row.oid) || dirty.has(row.oid) || (row.owner !== null && dirty.has(row.owner)));
    if (!everything && dirty.size === 0 && gone.size === 0 && !sequenceTouched) {
      changes.done();
      return assembled(current);
    }
    const othersPart = everything ? othersSql() : sequenceTouched ? [othersSql()[6]!] : [];
    const pending = everything ? null : [...dirty].filter((oid) => !early?.reached.has(oid));
    const statements = [...othersPart, ...(pending === null || pending.length > 0 ? [relationsSql(pending)] : [])];
    const results = statements.length > 0 ? await run(statements) : [];
    if (everything) current.others = results.slice(0, othersPart.length);
    else if (sequenceTouched) current.others = [...current.others.slice(0, 6), results[0]!];
    const relations = ((results[othersPart.length] ?? []) as unknown as RelationRow[]).filter((relation) => !current.excluded.has(relation.oid));
    const read = relations.length === 0 ? [] : partsFrom(relations, await run(partsSql(relations.map((r) => r.oid), current.version)));
    if (early !== null && early.relations.length > 0) read.push(...partsFrom(early.relations, early.partRows));
    if (everything) current.parts.clear();
    for (const oid of dirty) current.parts.delete(oid);
    for (const oid of gone) current.parts.delete(oid);
    for (const part of read) current.parts.set(part.relation.oid, part);
    changes.done();
    return assembled(current);
  };
}

/** Planner settings for the pg_depend walk (transaction-local). */
const WALK_SETTINGS = "SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)";

/** What the change log's round trip read besides the log: the seeds the server found in it, the relations reached from them, and those relations read. */
interface EarlyRead {
  readonly seeds: ReadonlySet<string>;
  readonly reached: ReadonlySet<string>;
  /** Rows of relationsSql for `reached` (excluded tables left out), and of partsSql. */
  readonly relations: readonly RelationRow[];
  readonly partRows: readonly Row[][];
}

/**
 * After changeLogSql, in the same round trip: the relations the log's
 * entries are printed with, as far as the server can tell (a created or
 * altered object's relation; a dropped relation; the table named in a
 * dropped constraint's, default's, trigger's or rule's address), followed
 * through pg_depend and read, as the dump would read them in later round
 * trips. The oids go from one statement to the next in transaction-local
 * settings (the simple query protocol takes no parameters). The log is
 * emptied in between (changeLogStateSql, whose row is the third). Hash and merge
 * joins stay off for the reads too: each looks up a handful of oids by index.
 */
function earlyReadSql(version: number): string[] {
  const entries = changeLogSql();
  const names = (n: number) => `((e.rest::json) -> 2 ->> ${n})`;
  const seeds = `SELECT CASE WHEN e.op = 'c' THEN e.owner::oid
                              WHEN e.cls = 'pg_class' THEN e.objid::oid
                              WHEN e.cls IN (${[...PRINTED_WITH_RELATION].map((cls) => `'${cls}'`).join(', ')}) THEN to_regclass(quote_ident(${names(0)}) || '.' || quote_ident(${names(1)}))::oid
                         END AS oid
                   FROM (${entries}) e`;
  const reached = "current_setting('cairn.early_reach')::oid[]";
  return [
    `SELECT set_config('cairn.early_seeds', coalesce((SELECT array_agg(DISTINCT s.oid)::text FROM (${seeds}) s WHERE s.oid IS NOT NULL), '{}'), true) AS seeds`,
    changeLogStateSql(),
    WALK_SETTINGS,
    `SELECT set_config('cairn.early_reach', coalesce((SELECT array_agg(DISTINCT w.oid)::text FROM (${dependentsSql("current_setting('cairn.early_seeds')::oid[]")}) w), '{}'), true) AS reach`,
    relationsSql(reached),
    ...partsSql(reached, version),
  ];
}

/** Catalogs whose objects are printed with a relation (dependentOf names it). */
const PRINTED_WITH_RELATION = new Set(['pg_constraint', 'pg_attrdef', 'pg_trigger', 'pg_rewrite']);
/** Catalogs whose objects no dump prints, nor any definition that is printed names. */
const NOT_PRINTED = new Set([
  'pg_policy',
  'pg_statistic_ext',
  'pg_publication',
  'pg_publication_rel',
  'pg_publication_namespace',
  'pg_subscription',
  'pg_default_acl',
  'pg_event_trigger',
  'pg_largeobject_metadata',
  'pg_user_mapping',
  'pg_foreign_data_wrapper',
  'pg_foreign_server',
]);
/** Commands that name no object and change nothing a dump prints. */
const NO_OBJECT_TAGS = new Set(['GRANT', 'REVOKE', 'ALTER DEFAULT PRIVILEGES', 'REFRESH MATERIALIZED VIEW', 'COMMENT', 'SECURITY LABEL']);
const CHANGE_LOG_TRIGGERS = CHANGE_LOG.triggers;

/** The change log's entries since it was last read (scratch.ts writes them), each created or altered object resolved to the relation it is printed with. */
function changeLogSql(): string {
  const field = (n: number) => `split_part(l, ' ', ${n})`;
  return `SELECT e.op, e.classid::regclass::text AS cls, e.objid::text AS objid, e.rest,
                 CASE WHEN e.op <> 'c' THEN NULL
                      WHEN e.classid = 'pg_type'::regclass THEN (SELECT r.oid FROM pg_type y JOIN pg_class r ON r.oid = CASE WHEN y.typrelid <> 0 THEN y.typrelid ELSE (SELECT z.typrelid FROM pg_type z WHERE z.oid = y.typelem) END
                                                                  WHERE y.oid = e.objid AND r.relkind <> 'c')::text
                      ELSE (${dependentOf('e.classid', 'e.objid')})::text END AS owner,
                 CASE WHEN e.op <> 'c' THEN NULL
                      WHEN e.classid = 'pg_class'::regclass THEN (SELECT y.relkind::text FROM pg_class y WHERE y.oid = e.objid)
                      WHEN e.classid = 'pg_type'::regclass THEN (SELECT 'type' FROM pg_type y WHERE y.oid = e.objid)
                      WHEN e.classid = 'pg_constraint'::regclass THEN (SELECT CASE WHEN y.conrelid = 0 THEN 'domain' ELSE 'table' END FROM pg_constraint y WHERE y.oid = e.objid)
                 END AS kind
            FROM (SELECT ${field(1)} AS op, nullif(${field(2)}, '')::oid AS classid, nullif(${field(3)}, '')::oid AS objid,
                         substr(l, length(${field(1)}) + length(${field(2)}) + length(${field(3)}) + 4) AS rest
                    FROM regexp_split_to_table(coalesce(current_setting('${CHANGE_LOG.setting}', true), ''), E'\\n') l WHERE l <> '') e`;
}

/** Empties the change log, and says whether it can be trusted: both triggers there and enabled, event triggers not switched off. */
function changeLogStateSql(): string {
  return `SELECT set_config('${CHANGE_LOG.setting}', '', false) AS cleared,
                 (SELECT count(*) FROM pg_event_trigger WHERE evtname IN (${CHANGE_LOG.triggers.map((name) => `'${name}'`).join(', ')}) AND evtenabled = 'A')::int AS triggers,
                 coalesce(current_setting('event_triggers', true), 'on') AS enabled`;
}


/** The oids of the tables `names` name (to_regclass, so with the session's search_path), null where there is none. */
function resolveSql(names: readonly string[]): string {
  return `SELECT ARRAY[${names.map((name) => `to_regclass(${quoteLiteral(name)})::oid::text`).join(', ')}]::text[] AS oids`;
}

function resolvedOids(rows: readonly Row[]): Set<string> {
  const oids = (rows[0] as { oids?: (string | null)[] | null } | undefined)?.oids ?? [];
  return new Set(oids.filter((oid): oid is string => typeof oid === 'string' && oid !== ''));
}
