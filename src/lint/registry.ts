import { addRequiredColumn } from './rules/add-required-column.js';
import { addSerialOrIdentity } from './rules/add-serial-or-identity.js';
import { batchDirective } from './rules/batch-directive.js';
import { cascadeOnDrop } from './rules/cascade-on-drop.js';
import { changeColumnType } from './rules/change-column-type.js';
import { concurrentlyInTransaction } from './rules/concurrently-in-transaction.js';
import { constraintMissingNotValid } from './rules/constraint-missing-not-valid.js';
import { d1Limits } from './rules/d1-limits.js';
import { d1TransactionStatements } from './rules/d1-transaction-statements.js';
import { dropColumn } from './rules/drop-column.js';
import { dropTable } from './rules/drop-table.js';
import { enumValueOrdering } from './rules/enum-value-ordering.js';
import { foreignKeysPragma } from './rules/foreign-keys-pragma.js';
import { headerTemplate } from './rules/header-template.js';
import { identifierTooLong } from './rules/identifier-too-long.js';
import { indexNotConcurrent } from './rules/index-not-concurrent.js';
import { naming } from './rules/naming.js';
import { preferRobustStatements } from './rules/prefer-robust-statements.js';
import { renameColumn } from './rules/rename-column.js';
import { renameTable } from './rules/rename-table.js';
import { requireLockTimeout } from './rules/require-lock-timeout.js';
import { schemaAndDataMixed } from './rules/schema-and-data-mixed.js';
import { setNotNullScan } from './rules/set-not-null-scan.js';
import { sqliteAddColumnIllegal } from './rules/sqlite-add-column-illegal.js';
import { sqliteDropColumnBlocked } from './rules/sqlite-drop-column-blocked.js';
import { sqliteRebuildOrder } from './rules/sqlite-rebuild-order.js';
import { sqliteUnsupportedAlter } from './rules/sqlite-unsupported-alter.js';
import { storedGeneratedColumn } from './rules/stored-generated-column.js';
import { transactionControl } from './rules/transaction-control.js';
import { typeMismatch } from './rules/type-mismatch.js';
import { unbatchedDataChange } from './rules/unbatched-data-change.js';
import { uncommittedTransaction } from './rules/uncommitted-transaction.js';
import { uniqueConstraintLocks } from './rules/unique-constraint-locks.js';
import { vacuumFullOrCluster } from './rules/vacuum-full-or-cluster.js';
import { volatileDefault } from './rules/volatile-default.js';
import { writableSchema } from './rules/writable-schema.js';
import type { Rule } from './types.js';

/** Every rule, in the order findings are listed for one statement. */
export const rules: readonly Rule[] = [
  // Both dialects
  dropTable,
  dropColumn,
  renameTable,
  renameColumn,
  addRequiredColumn,
  unbatchedDataChange,
  batchDirective,
  schemaAndDataMixed,
  transactionControl,
  uncommittedTransaction,
  // PostgreSQL
  indexNotConcurrent,
  concurrentlyInTransaction,
  constraintMissingNotValid,
  uniqueConstraintLocks,
  setNotNullScan,
  changeColumnType,
  volatileDefault,
  addSerialOrIdentity,
  storedGeneratedColumn,
  requireLockTimeout,
  enumValueOrdering,
  vacuumFullOrCluster,
  identifierTooLong,
  preferRobustStatements,
  // SQLite and D1
  sqliteUnsupportedAlter,
  sqliteDropColumnBlocked,
  sqliteAddColumnIllegal,
  sqliteRebuildOrder,
  foreignKeysPragma,
  cascadeOnDrop,
  writableSchema,
  d1TransactionStatements,
  d1Limits,
  // The file itself
  headerTemplate,
  typeMismatch,
  naming,
];
