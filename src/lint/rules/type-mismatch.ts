import { classify, type ChangeType } from '../classify.js';
import type { Rule } from '../types.js';

/**
 * Reviewers, deploy tooling and on-call read `-- Type:` to decide how careful
 * to be. A migration that says "additive" but drops or rewrites data gets the
 * light review an additive one deserves, and its rollback plan is usually
 * written for the wrong kind of change. Declaring it riskier than it is does
 * no harm and is not reported. A warning: the mismatch is in a comment, the
 * SQL itself is judged by the other rules, so it must not block `up` alone.
 */
export const typeMismatch: Rule = {
  id: 'type-mismatch',
  dialects: ['postgres', 'sqlite'],
  severity: 'warning',
  summary: 'the header declares a less risky -- Type: than the statements are',
  file({ migration, statements }) {
    const declared = migration.header.type?.trim().toLowerCase() as ChangeType | undefined;
    // A missing or unknown Type is header-template's.
    if (!declared || !ORDER.includes(declared)) return [];
    const actual = classify(statements);
    if (ORDER.indexOf(actual.type) <= ORDER.indexOf(declared)) return [];
    const reasons = actual.reasons.slice(0, 3).join('; ') + (actual.reasons.length > 3 ? `; and ${actual.reasons.length - 3} more` : '');
    return [
      {
        message: `the header says "-- Type: ${declared}" but this migration is ${actual.type}: ${reasons}`,
        help: `correct the header to "-- Type: ${actual.type}" and check that "-- Rollback:" fits (${actual.type === 'destructive' ? 'a down cannot bring dropped or deleted data back: say where the backup is' : 'the down must undo the change to existing data, not just the schema'}); or split the ${actual.type} part into a migration of its own`,
      },
    ];
  },
};

const ORDER: readonly ChangeType[] = ['additive', 'transformative', 'destructive'];
