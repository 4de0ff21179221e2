import { resolveCommand, type Driver, type SqlCommand } from '../types.js';

/**
 * `query` and `atomic` for a PostgreSQL connection (the server through `pg`,
 * or PGlite): one statement per call, and `atomic` as BEGIN … COMMIT around the
 * list. `failed` turns the engine's error into a StatementError naming the
 * command's index; a failure at COMMIT (a deferred constraint) names the last
 * command, the one closest to it.
 */
export function postgresStatements(
  run: (command: SqlCommand) => Promise<unknown[]>,
  failed: (error: unknown, index: number) => unknown,
): Pick<Driver, 'query' | 'atomic'> & Required<Pick<Driver, 'transaction'>> {
  const query = async <Row>(command: SqlCommand): Promise<Row[]> => {
    try {
      return (await run(command)) as Row[];
    } catch (error) {
      throw failed(error, 0);
    }
  };
  return {
    query,

    async transaction(work) {
      await query({ sql: 'BEGIN' });
      try {
        const result = await work({ query });
        await query({ sql: 'COMMIT' });
        return result;
      } catch (error) {
        await run({ sql: 'ROLLBACK' }).catch(() => undefined);
        throw error;
      }
    },

    async atomic(commands) {
      await run({ sql: 'BEGIN' });
      let index = 0;
      try {
        for (; index < commands.length; index++) await run(resolveCommand(commands[index]!));
        await run({ sql: 'COMMIT' });
      } catch (error) {
        await run({ sql: 'ROLLBACK' }).catch(() => undefined);
        throw failed(error, Math.min(index, commands.length - 1));
      }
    },
  };
}

/**
 * `atomic` for a scratch database (verify's replay): a step's commands go to
 * the server as one multi-statement string, `BEGIN` and every command, then
 * `COMMIT` once the server has answered for each of them: two round trips a
 * step instead of one per statement. Parameters are written into the text as
 * literals (`literal`; a value it cannot write sends the step one by one).
 *
 * The server runs such a string statement by statement and stops at the
 * first error, but its error does not say which statement failed, and a
 * position in it is a position in the whole string. So on any error, or
 * when the server did not answer once per command (a statement that
 * swallowed the next one, or held several), the transaction is rolled back
 * and the step runs again one statement at a time (`oneByOne`), which names
 * the failing command and its position exactly as `cairn up` does. Nothing
 * commits before every command has run, as one transaction.
 */
export function batchedAtomic(
  send: (sql: string) => Promise<unknown>,
  literal: (value: unknown) => string | null,
  oneByOne: Driver['atomic'],
  failed: (error: unknown, index: number) => unknown,
): Driver['atomic'] {
  return async (commands) => {
    const resolved = commands.map(resolveCommand);
    const texts = resolved.map((command) => inlineParameters(command, literal));
    if (resolved.length === 0 || texts.some((text) => text === null)) return oneByOne(resolved);
    let answered = false;
    try {
      // A newline before each `;`: a statement that ends in a `--` comment does not comment it out.
      const results = await send(['BEGIN', ...(texts as string[])].join('\n;\n'));
      answered = Array.isArray(results) && results.length === texts.length + 1;
    } catch {
      answered = false;
    }
    if (!answered) {
      await send('ROLLBACK').catch(() => undefined);
      return oneByOne(resolved);
    }
    try {
      await send('COMMIT');
    } catch (error) {
      await send('ROLLBACK').catch(() => undefined);
      throw failed(error, resolved.length - 1);
    }
  };
}

/** The command's text with `$n` replaced by its parameter as a literal; null when one cannot be written. */
function inlineParameters(command: SqlCommand, literal: (value: unknown) => string | null): string | null {
  const params = command.params ?? [];
  if (params.length === 0) return command.sql;
  const literals = params.map(literal);
  if (literals.some((text) => text === null)) return null;
  let unknown = false;
  const text = command.sql.replace(/\$(\d+)/g, (_, n: string) => {
    const value = literals[Number(n) - 1];
    if (value === undefined) unknown = true;
    return value ?? '';
  });
  return unknown ? null : text;
}
