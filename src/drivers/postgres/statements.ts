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
): Pick<Driver, 'query' | 'atomic'> {
  return {
    async query<Row>(command: SqlCommand): Promise<Row[]> {
      try {
        return (await run(command)) as Row[];
      } catch (error) {
        throw failed(error, 0);
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
