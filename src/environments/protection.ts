import type { ResolvedConfig } from '../config/load.js';
import { CairnError } from '../errors.js';

/** How a write to a protected environment gets its go-ahead. */
export interface ConfirmOptions {
  /** Go ahead without asking (the CLI's --yes). */
  readonly yes?: boolean | undefined;
  /**
   * Asks a human and resolves true to go ahead. The question names what will
   * run and where, and ends `Type "<environment>" to confirm:`. Without it (and
   * without `yes`) a protected environment refuses: no one is there to ask.
   */
  readonly confirm?: ((question: string) => Promise<boolean>) | undefined;
}

/**
 * Called after planning (under the lock) and before the first write, so the
 * question can say exactly what will run. Returns when the write may go
 * ahead; throws CONFIRMATION_REQUIRED (exit 2) when it may not.
 *
 * `action` starts the question and ends in a preposition: `Apply 2 migrations (0005_add_x, 0006_y) to`.
 */
export async function confirmWrite(config: ResolvedConfig, options: ConfirmOptions, action: string): Promise<void> {
  const environment = config.environmentSettings;
  if (!environment?.protected || options.yes) return;
  const name = environment.name;
  if (!options.confirm) {
    throw new CairnError('CONFIRMATION_REQUIRED', `${name} is protected: pass --yes to apply without a prompt`, {
      hint: `nothing was applied. Cairn asks for confirmation only on a terminal; in scripts and CI, \`--yes\` (library: { yes: true }) says the change was reviewed`,
      details: { environment: name, reason: 'no-terminal' },
    });
  }
  const question = `${action} ${name} (${config.database.display})? Type "${name}" to confirm:`;
  if (!(await options.confirm(question))) {
    throw new CairnError('CONFIRMATION_REQUIRED', 'not confirmed; nothing applied', {
      hint: `to go ahead, run the command again and type "${name}" at the prompt, or pass --yes`,
      details: { environment: name, reason: 'declined' },
    });
  }
}

/** "2 migrations (0005_add_x, 0006_y)". */
export function describeMigrations(migrations: readonly { readonly version: string; readonly name: string }[]): string {
  const names = migrations.map((m) => `${m.version}_${m.name}`);
  const shown = names.length > 6 ? [...names.slice(0, 5), `… ${names.length - 5} more`] : names;
  return `${names.length} migration${names.length === 1 ? '' : 's'} (${shown.join(', ')})`;
}
