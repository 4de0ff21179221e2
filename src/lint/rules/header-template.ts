import { classify } from '../classify.js';
import type { FileContext, Report, Rule } from '../types.js';

/**
 * The header is what a reviewer (and whoever is paged at 3 a.m.) reads first:
 * what the migration does, how risky it is, and how to undo it. Without it
 * each of them has to reverse-engineer the SQL.
 */
export const headerTemplate: Rule = {
  id: 'header-template',
  dialects: ['postgres', 'sqlite'],
  severity: 'warning',
  summary: 'migration header without -- Migration:, -- Type: or -- Rollback:, or with an unknown Type',
  file(context) {
    // Files adopted from dbmate or wrangler never had the convention: nothing to say unless the project requires it.
    if (!context.headerConvention) return [];
    const { header } = context.migration;
    const help = `start the file with the header: ${template(context)}`;
    const reports: Report[] = [];
    const missing = (key: string, label: string, what: string) => {
      if (!header[key]?.trim()) reports.push({ message: `the header has no "-- ${label}:" (${what})`, help });
    };
    missing('migration', 'Migration', 'what this migration does');
    missing('type', 'Type', `${TYPES.join(' | ')}`);
    const type = header.type?.trim();
    if (type && !(TYPES as readonly string[]).includes(type.toLowerCase())) {
      reports.push({ message: `"-- Type: ${type}" is not one of ${TYPES.join(', ')}`, help: `write one of them: additive (only adds), transformative (changes what exists: renames, type changes, data rewrites) or destructive (can lose data: drops, deletes); e.g. ${template(context)}` });
    }
    missing('rollback', 'Rollback', 'how to undo it, or why it cannot be undone');
    return reports;
  },
};

const TYPES = ['additive', 'destructive', 'transformative'] as const;

/** The header this migration should have, filled in from its name and statements. */
function template({ migration, statements }: FileContext): string {
  const what = migration.name.replace(/[_-]+/g, ' ').trim() || 'add phone to users';
  return `-- Migration: ${what} / -- Type: ${classify(statements).type} / -- Rollback: <how to undo it, e.g. drops the column>`;
}
