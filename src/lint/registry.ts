import { dropColumn } from './rules/drop-column.js';
import { indexNotConcurrent } from './rules/index-not-concurrent.js';
import { sqliteUnsupportedAlter } from './rules/sqlite-unsupported-alter.js';
import type { Rule } from './types.js';

/** Every rule, in the order findings are listed for one statement. */
export const rules: readonly Rule[] = [dropColumn, indexNotConcurrent, sqliteUnsupportedAlter];
