import { stateBefore, type Scan } from '../scan.js';
import type { LintStatement, Rule } from '../types.js';

/**
 * `PRAGMA foreign_keys = off` is the first step of SQLite's table rebuild,
 * but SQLite ignores it inside a transaction, and Cairn runs each migration
 * in one unless it is marked `-- cairn:no-transaction`. D1 ignores it
 * everywhere: it always enforces foreign keys. The migration then runs with
 * foreign keys on while its author believes they are off, so the DROP TABLE
 * of the rebuild fails, or cascades and deletes the children's rows.
 */
export const foreignKeysPragma: Rule = {
  id: 'foreign-keys-pragma',
  dialects: ['sqlite'],
  severity: 'error',
  summary: 'PRAGMA foreign_keys = … where it does nothing: inside a transaction, or on D1',
  statement(statement, context) {
    const { fact } = statement;
    if (fact.kind !== 'pragma' || fact.name !== 'foreign_keys' || fact.value === null) return [];
    const setting = `PRAGMA foreign_keys = ${fact.value}`;
    const defer = 'use PRAGMA defer_foreign_keys = on instead: it works inside the transaction (and on D1) and checks the keys at commit. It only defers checks: ON DELETE CASCADE / SET NULL still fire when a parent table is dropped (see cascade-on-drop)';
    if (context.target.d1) {
      return [{ message: `${setting} does nothing on D1: D1 always enforces foreign keys and ignores this pragma`, help: defer }];
    }
    const explicit = stateBefore(context.statements, statement.index, openedBefore);
    if (!context.inTransaction && !explicit) return [];
    const where = context.inTransaction ? 'inside the transaction Cairn runs this migration in' : `after the BEGIN on line ${explicit!.line}`;
    return [
      {
        message: `${setting} does nothing ${where}: SQLite ignores it until the transaction ends, so foreign keys stay as they were`,
        help: `${defer}. To really switch them off on SQLite, give the rebuild a migration of its own marked -- cairn:no-transaction and set the pragma outside the transaction: PRAGMA foreign_keys = off; BEGIN; …; PRAGMA foreign_key_check; COMMIT; PRAGMA foreign_keys = on;`,
      },
    ];
  },
};

/** The BEGIN (or outermost SAVEPOINT) of an explicit transaction still open at this point of the file, if any. */
const openedBefore: Scan<LintStatement | null> = {
  initial: null,
  step(open, s) {
    if (s.fact.kind !== 'transaction') return open;
    const { action } = s.fact;
    if (action === 'begin' || (action === 'savepoint' && !open)) return s;
    if (action === 'commit' || action === 'rollback') return null;
    if (action === 'release' && open?.fact.kind === 'transaction' && open.fact.action === 'savepoint') return null;
    return open;
  },
};
