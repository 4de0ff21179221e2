import type { AlterTableCmd, Node as PgNode } from '@pgsql/types';
import { walk } from '../parse/postgres.js';
import { isDataChange } from '../facts.js';
import type { LintStatement, Rule } from '../types.js';

/**
 * A statement that needs a strong lock on a busy table waits for every query
 * and open transaction already using the table. While it waits it sits in the
 * lock queue, and every query that arrives after it (even a plain SELECT)
 * queues behind it: a quick ALTER TABLE becomes an outage. lock_timeout makes
 * the statement give up instead, so the migration fails and can be retried.
 * Reported once per file, at the first statement that needs it.
 */
export const requireLockTimeout: Rule = {
  id: 'require-lock-timeout',
  dialects: ['postgres'],
  severity: 'warning',
  summary: 'a strong lock on an existing table with no SET lock_timeout before it',
  statement(statement, context) {
    // Cairn runs SET LOCAL lock_timeout (config statementLockTimeout) first in each migration's transaction.
    if (context.target.cairnLockTimeout === true && context.inTransaction) return [];
    const analysis = analyse(context.statements, context.inTransaction);
    if (!analysis.first || analysis.first.statement !== statement.index) return [];
    const { what, table } = analysis.first;
    const others = analysis.count > 1 ? ` (the first of ${analysis.count} such statements in this file)` : '';
    const ignored = analysis.ignoredLocal !== null ? `; the SET LOCAL lock_timeout on line ${analysis.ignoredLocal} has no effect, since this migration does not run in a transaction` : '';
    const help = context.inTransaction
      ? "start the migration with SET LOCAL lock_timeout = '5s'; so a blocked statement fails fast instead of queueing every query behind it, then retry the migration later"
      : "start the migration with SET lock_timeout = '5s'; (SET LOCAL lasts only for its own statement outside a transaction) and end it with RESET lock_timeout;, so a blocked statement fails fast instead of queueing every query behind it, then retry later";
    return [
      {
        message: `${what} on "${table}" waits for a lock that blocks other queries, with no lock_timeout set: if it has to wait (behind a long query or an open transaction), every later query on "${table}" queues behind it${others}${ignored}`,
        help: `${help} (Cairn sets it for you in a transactional migration unless statementLockTimeout is turned off in the config; if the connection or database role already sets lock_timeout, turn this rule off)`,
      },
    ];
  },
};

interface Offender {
  readonly statement: number;
  readonly what: string;
  readonly table: string;
}

interface Analysis {
  readonly first: Offender | null;
  readonly count: number;
  /** Line of a SET LOCAL lock_timeout that had no effect (outside any transaction), if one came before the first offender. */
  readonly ignoredLocal: number | null;
}

const cache = new WeakMap<readonly LintStatement[], Analysis>();

/** Walks the file once: which statements take strong locks before any lock_timeout is in force. */
function analyse(statements: readonly LintStatement[], inTransaction: boolean): Analysis {
  const cached = cache.get(statements);
  if (cached) return cached;
  const created = new Set<string>();
  let timeout: 'session' | 'local' | null = null;
  let explicit = false;
  let ignoredLocal: number | null = null;
  let first: Offender | null = null;
  let count = 0;
  for (const statement of statements) {
    // A data statement takes no strong lock and creates nothing; it can only set lock_timeout through set_config(), which
    // its text then names. Others' trees stay unread (they may not even be parsed, see parse/shape.ts).
    if (isDataChange(statement.fact) && !/set_config|U&/i.test(statement.sql)) continue;
    const { pg } = statement;
    if (!pg) continue;
    const lock = strongLock(pg, created);
    if (lock && timeout === null) {
      count++;
      first ??= { statement: statement.index, ...lock };
    }
    const setting = lockTimeoutSetting(pg);
    if (setting === 'off') {
      timeout = null;
    } else if (setting === 'session') {
      timeout = 'session';
    } else if (setting === 'local') {
      if (inTransaction || explicit) timeout = 'local';
      else if (!first) ignoredLocal = statement.line;
    }
    if ('TransactionStmt' in pg) {
      const kind = pg.TransactionStmt.kind;
      if (kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START') explicit = true;
      if (kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK') {
        explicit = false;
        if (timeout === 'local') timeout = null;
      }
    }
    for (const name of createdRelations(pg)) created.add(name);
  }
  const analysis = { first, count, ignoredLocal: first ? ignoredLocal : null };
  cache.set(statements, analysis);
  return analysis;
}

/** ALTER TABLE forms that take only SHARE UPDATE EXCLUSIVE, which lets reads and writes through. */
const LIGHT_ALTERS = new Set(['AT_ValidateConstraint', 'AT_SetStatistics', 'AT_SetOptions', 'AT_ResetOptions', 'AT_ClusterOn', 'AT_DropCluster', 'AT_DetachPartitionFinalize']);

function isLight(cmd: AlterTableCmd): boolean {
  if (cmd.subtype === 'AT_DetachPartition') return cmd.def !== undefined && 'PartitionCmd' in cmd.def && cmd.def.PartitionCmd.concurrent === true;
  return LIGHT_ALTERS.has(cmd.subtype ?? '');
}

const ALTER_NAMES: Record<string, string> = {
  OBJECT_TABLE: 'ALTER TABLE',
  OBJECT_INDEX: 'ALTER INDEX',
  OBJECT_VIEW: 'ALTER VIEW',
  OBJECT_MATVIEW: 'ALTER MATERIALIZED VIEW',
  OBJECT_FOREIGN_TABLE: 'ALTER FOREIGN TABLE',
  OBJECT_SEQUENCE: 'ALTER SEQUENCE',
};

const DROPPED_RELATIONS: Record<string, string> = {
  OBJECT_TABLE: 'DROP TABLE',
  OBJECT_VIEW: 'DROP VIEW',
  OBJECT_MATVIEW: 'DROP MATERIALIZED VIEW',
  OBJECT_INDEX: 'DROP INDEX',
};

/** What the statement locks strongly (blocking reads or writes) on a relation that existed before this migration. */
function strongLock(pg: PgNode, created: ReadonlySet<string>): { what: string; table: string } | null {
  const existing = (name: string | undefined) => (name && !created.has(name) ? name : null);
  if ('AlterTableStmt' in pg) {
    const alter = pg.AlterTableStmt;
    const table = existing(alter.relation?.relname);
    const cmds = (alter.cmds ?? []).flatMap((c) => ('AlterTableCmd' in c ? [c.AlterTableCmd] : []));
    if (table && !cmds.every(isLight)) return { what: ALTER_NAMES[alter.objtype ?? ''] ?? 'ALTER TABLE', table };
    const referenced = referencedTable(pg, created);
    return referenced ? { what: 'a FOREIGN KEY (locks the table it references)', table: referenced } : null;
  }
  if ('RenameStmt' in pg) {
    const table = existing(pg.RenameStmt.relation?.relname);
    return table ? { what: 'RENAME', table } : null;
  }
  if ('DropStmt' in pg) {
    const drop = pg.DropStmt;
    const names = (drop.objects ?? []).map(objectNames);
    if (drop.removeType === 'OBJECT_TRIGGER') {
      const table = existing(names[0]?.at(-2));
      return table ? { what: 'DROP TRIGGER', table } : null;
    }
    const what = DROPPED_RELATIONS[drop.removeType ?? ''];
    if (!what || (drop.removeType === 'OBJECT_INDEX' && drop.concurrent)) return null;
    const table = names.map((parts) => existing(parts.at(-1))).find((name) => name !== null);
    return table ? { what, table } : null;
  }
  if ('IndexStmt' in pg && !pg.IndexStmt.concurrent) {
    const table = existing(pg.IndexStmt.relation?.relname);
    return table ? { what: 'CREATE INDEX (without CONCURRENTLY)', table } : null;
  }
  if ('TruncateStmt' in pg) {
    const table = (pg.TruncateStmt.relations ?? []).map((r) => ('RangeVar' in r ? existing(r.RangeVar.relname) : null)).find((name) => name !== null);
    return table ? { what: 'TRUNCATE', table } : null;
  }
  if ('CreateTrigStmt' in pg) {
    const table = existing(pg.CreateTrigStmt.relation?.relname);
    return table ? { what: 'CREATE TRIGGER', table } : null;
  }
  if ('LockStmt' in pg) {
    const table = (pg.LockStmt.relations ?? []).map((r) => ('RangeVar' in r ? existing(r.RangeVar.relname) : null)).find((name) => name !== null);
    return table ? { what: 'LOCK TABLE', table } : null;
  }
  if ('VacuumStmt' in pg && pg.VacuumStmt.is_vacuumcmd && (pg.VacuumStmt.options ?? []).some((o) => 'DefElem' in o && o.DefElem.defname === 'full' && !isFalse(o.DefElem.arg))) {
    const tables = (pg.VacuumStmt.rels ?? []).map((r) => ('VacuumRelation' in r ? existing(r.VacuumRelation.relation?.relname) : null));
    const table = tables.length === 0 ? 'every table' : tables.find((name) => name !== null);
    return table ? { what: 'VACUUM FULL', table } : null;
  }
  if ('ClusterStmt' in pg) {
    const table = pg.ClusterStmt.relation ? existing(pg.ClusterStmt.relation.relname) : 'every clustered table';
    return table ? { what: 'CLUSTER', table } : null;
  }
  if ('ReindexStmt' in pg && !(pg.ReindexStmt.params ?? []).some((p) => 'DefElem' in p && p.DefElem.defname === 'concurrently')) {
    const table = existing(pg.ReindexStmt.relation?.relname ?? pg.ReindexStmt.name);
    return table ? { what: 'REINDEX', table } : null;
  }
  if ('RefreshMatViewStmt' in pg && !pg.RefreshMatViewStmt.concurrent) {
    const table = existing(pg.RefreshMatViewStmt.relation?.relname);
    return table ? { what: 'REFRESH MATERIALIZED VIEW (without CONCURRENTLY)', table } : null;
  }
  if ('CreateStmt' in pg) {
    const referenced = referencedTable(pg, created, pg.CreateStmt.relation?.relname);
    return referenced ? { what: 'a FOREIGN KEY (locks the table it references)', table: referenced } : null;
  }
  return null;
}

/** A FOREIGN KEY takes SHARE ROW EXCLUSIVE (no writes) on the table it references. */
function referencedTable(pg: PgNode, created: ReadonlySet<string>, self?: string): string | null {
  let found: string | null = null;
  walk(pg, (node) => {
    if (found === null && 'Constraint' in node && node.Constraint.contype === 'CONSTR_FOREIGN') {
      const name = node.Constraint.pktable?.relname;
      if (name && name !== self && !created.has(name)) found = name;
    }
  });
  return found;
}

/** Relations a statement creates: later strong locks on them hurt nobody. */
function createdRelations(pg: PgNode): string[] {
  if ('CreateStmt' in pg) return [pg.CreateStmt.relation?.relname ?? ''];
  if ('CreateTableAsStmt' in pg) return [pg.CreateTableAsStmt.into?.rel?.relname ?? ''];
  if ('ViewStmt' in pg) return [pg.ViewStmt.view?.relname ?? ''];
  if ('IndexStmt' in pg && pg.IndexStmt.idxname) return [pg.IndexStmt.idxname];
  if ('CreateSeqStmt' in pg) return [pg.CreateSeqStmt.sequence?.relname ?? ''];
  return [];
}

/** How a statement changes lock_timeout: SET [LOCAL], set_config(), RESET, or not at all. */
function lockTimeoutSetting(pg: PgNode): 'session' | 'local' | 'off' | null {
  if ('VariableSetStmt' in pg) {
    const set = pg.VariableSetStmt;
    if (set.kind === 'VAR_RESET_ALL') return 'off';
    if (set.name !== 'lock_timeout') return null;
    if (set.kind !== 'VAR_SET_VALUE') return 'off';
    if (isZero(set.args?.[0])) return 'off';
    return set.is_local ? 'local' : 'session';
  }
  let setting: 'session' | 'local' | 'off' | null = null;
  walk(pg, (node) => {
    if (!('FuncCall' in node)) return;
    const name = node.FuncCall.funcname?.at(-1);
    const args = node.FuncCall.args ?? [];
    if (!name || !('String' in name) || name.String.sval !== 'set_config' || constantText(args[0]) !== 'lock_timeout') return;
    const local = args[2] && 'A_Const' in args[2] && args[2].A_Const.boolval?.boolval === true;
    setting = isZero(args[1]) ? 'off' : local ? 'local' : 'session';
  });
  return setting;
}

function isZero(value: PgNode | undefined): boolean {
  if (!value || !('A_Const' in value)) return false;
  const constant = value.A_Const;
  if (constant.ival) return (constant.ival.ival ?? 0) === 0;
  const text = constant.sval?.sval ?? constant.fval?.fval;
  return text !== undefined && /^\s*0*(\.0*)?\s*(us|ms|s|min|h|d)?\s*$/i.test(text);
}

function isFalse(arg: PgNode | undefined): boolean {
  if (!arg) return false;
  const text = 'String' in arg ? (arg.String.sval ?? '') : 'Integer' in arg ? String(arg.Integer.ival ?? 0) : '';
  return ['false', 'off', '0', 'no'].includes(text.toLowerCase());
}

function constantText(node: PgNode | undefined): string | undefined {
  return node && 'A_Const' in node ? node.A_Const.sval?.sval : undefined;
}

function objectNames(object: PgNode): string[] {
  if ('List' in object) return (object.List.items ?? []).flatMap((item) => ('String' in item ? [item.String.sval ?? ''] : []));
  if ('String' in object) return [object.String.sval ?? ''];
  return [];
}
