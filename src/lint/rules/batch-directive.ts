import { batchesOf } from '../../source/batch.js';
import type { Report, Rule } from '../types.js';

/**
 * `-- cairn:batch` runs the statement on the next line one key range at a
 * time. It can only do that for a single-table UPDATE or DELETE; anywhere
 * else it would fail at `up` time, half-way through a file that no longer
 * runs as one transaction. Caught here, before anything runs.
 */
export const batchDirective: Rule = {
  id: 'batch-directive',
  dialects: ['postgres', 'sqlite'],
  severity: 'error',
  summary: '-- cairn:batch that is malformed or not right before a single-table UPDATE or DELETE',
  file({ migration, statements }) {
    const reports: Report[] = [];
    for (const section of [migration.up, migration.down]) {
      if (!section) continue;
      for (const problem of batchesOf(migration, section).problems) {
        const index = section === migration.up ? statements.findIndex((s) => s.line > problem.line) : -1;
        reports.push({ message: `line ${problem.line}: ${problem.message}`, help: problem.fix, ...(index >= 0 ? { statement: index } : {}) });
      }
    }
    return reports;
  },
};
