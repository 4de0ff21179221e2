import type { Command } from 'commander';
import { contextFor } from '../context.js';

export function registerPhase(program: Command): void {
  const phase = program.command('phase').description('expand–contract phases: what lets a contract migration run');
  phase
    .command('confirm <version>')
    .description('record that every running version of the application uses the new shape, so the contract of this expand may run here')
    .addHelpText(
      'after',
      `
For an environment with confirmContract: true (docs/phases.md). <version> is the
expand's version, or the contract's. Recorded in the history table with who
and when.

Examples:
  cairn phase confirm 0012 --env production`,
    )
    .action(async (version: string, _options: unknown, command: Command) => {
      const { cairn, out } = contextFor(command);
      const config = await cairn.config();
      const result = await cairn.confirmPhase(version);
      if (out.json) return out.document(result);
      out.line(`Confirmed on ${config.environment ?? config.database.display}: the contract of ${result.expand} may run (by ${result.by} at ${result.at}).`);
    });
}
