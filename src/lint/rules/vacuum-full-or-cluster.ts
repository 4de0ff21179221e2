import type { Node as PgNode } from '@pgsql/types';
import type { Rule } from '../types.js';

/**
 * VACUUM FULL and CLUSTER write a new copy of the table (and rebuild its
 * indexes) while holding ACCESS EXCLUSIVE on it: no reads and no writes for
 * the whole rewrite. Plain VACUUM and ANALYZE take a lock that lets traffic
 * through, and are not flagged.
 */
export const vacuumFullOrCluster: Rule = {
  id: 'vacuum-full-or-cluster',
  dialects: ['postgres'],
  severity: 'error',
  summary: 'VACUUM FULL or CLUSTER, which rewrite a table under ACCESS EXCLUSIVE',
  statement(statement, context) {
    // Only VACUUM and CLUSTER: other trees stay unread (a data statement's may not even be parsed, see parse/shape.ts).
    if (statement.fact.kind !== 'other') return [];
    const { pg } = statement;
    if (!pg) return [];
    const repack = context.target.postgresVersion >= 19 ? 'use REPACK (CONCURRENTLY) (PostgreSQL 19+), pg_repack or pg_squeeze' : 'use pg_repack (or pg_squeeze)';
    const help =
      `${repack}, which rebuild a table online and hold ACCESS EXCLUSIVE only for a moment at the end; ` +
      'or run it by hand in a maintenance window, or keep it here with -- cairn:allow vacuum-full-or-cluster <reason>';
    const full = 'VacuumStmt' in pg && pg.VacuumStmt.is_vacuumcmd ? (pg.VacuumStmt.options ?? []).find(isFull) : undefined;
    if (full && 'VacuumStmt' in pg) {
      const tables = relations(pg.VacuumStmt.rels ?? []);
      if (tables.length > 0 && tables.every((table) => context.createdHere(table))) return [];
      const what = tables.length > 0 ? tables.map((t) => `"${t}"`).join(', ') : 'every table in the database';
      return [
        {
          message: `VACUUM FULL rewrites ${what} under an ACCESS EXCLUSIVE lock: all reads and writes wait until the rewrite finishes`,
          help: `${help}; a plain VACUUM (without FULL) reclaims dead rows for reuse without blocking traffic`,
          offset: 'DefElem' in full ? full.DefElem.location : undefined,
        },
      ];
    }
    if ('ClusterStmt' in pg) {
      const table = pg.ClusterStmt.relation?.relname;
      if (table && context.createdHere(table)) return [];
      const what = table ? `"${table}"` : 'every table that was clustered before';
      return [
        {
          message: `CLUSTER rewrites ${what} in index order under an ACCESS EXCLUSIVE lock: all reads and writes wait until the rewrite finishes`,
          help,
        },
      ];
    }
    return [];
  },
};

/** `FULL`, `FULL true`, `FULL on`…, but not `FULL false` / `FULL off` / `FULL 0`. */
function isFull(option: PgNode): boolean {
  if (!('DefElem' in option) || option.DefElem.defname !== 'full') return false;
  const arg = option.DefElem.arg;
  if (!arg) return true;
  const value = 'String' in arg ? (arg.String.sval ?? '') : 'Integer' in arg ? String(arg.Integer.ival ?? 0) : 'A_Const' in arg ? String(arg.A_Const.ival?.ival ?? arg.A_Const.sval?.sval ?? arg.A_Const.boolval?.boolval ?? '') : '';
  return !['false', 'off', '0', 'no'].includes(value.toLowerCase());
}

function relations(rels: readonly PgNode[]): string[] {
  return rels.flatMap((rel) => ('VacuumRelation' in rel && rel.VacuumRelation.relation?.relname ? [rel.VacuumRelation.relation.relname] : []));
}
