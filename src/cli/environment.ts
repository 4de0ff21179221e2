import type { ResolvedConfig } from '../config/load.js';
import { redactUrl } from '../config/url.js';
import type { ConfirmOptions } from '../environments/protection.js';
import type { Output } from './output.js';

/**
 * What the write commands (up, down, baseline, repair) share about environments:
 * the banner that says where this is going, the prompt for protected ones,
 * and the two fields every --json document carries.
 */

/** `Environment: production (protected) · postgres://app@db.example.com/app`, on stderr before anything is written. */
export function printEnvironmentBanner(config: ResolvedConfig, out: Output): void {
  const environment = config.environmentSettings;
  if (out.json || !environment) return;
  const traits = [environment.protected ? 'protected' : '', environment.follows ? `follows ${environment.follows}` : ''].filter(Boolean);
  out.warn(`Environment: ${environment.name}${traits.length > 0 ? ` (${traits.join(', ')})` : ''} · ${config.database.display}`);
}

/** `--yes` skips the question; a terminal gets asked; anything else gets no `confirm`, so a protected environment refuses. */
export function confirmOptions(config: ResolvedConfig, yes: boolean | undefined): ConfirmOptions {
  const name = config.environmentSettings?.name;
  const attended = process.stdin.isTTY === true && process.stderr.isTTY === true;
  return { yes: yes ?? false, confirm: name && attended ? (question) => askOnTerminal(question, name) : undefined };
}

/** A prompt that asks to type the word the question names (`… Type "app" to confirm:`); none without a terminal. */
export function askToType(): ConfirmOptions['confirm'] {
  const attended = process.stdin.isTTY === true && process.stderr.isTTY === true;
  return attended ? (question) => askOnTerminal(question, /Type "([^"]*)" to confirm:$/.exec(question)?.[1] ?? '') : undefined;
}

/** Fields for the --json document of a write command. */
export function environmentFields(config: ResolvedConfig): { environment: string | null; database: string } {
  return { environment: config.environment, database: config.database.display };
}

/** Typing the environment's name, not just "y", makes the human read which one it is. */
async function askOnTerminal(question: string, expected: string): Promise<boolean> {
  const { createInterface } = await import('node:readline'); // only a protected environment asks: not loaded by every `up`
  return new Promise((resolve) => {
    const prompt = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    let confirmed: boolean | null = null;
    prompt.on('SIGINT', () => prompt.close());
    prompt.on('close', () => {
      if (confirmed === null) process.stderr.write('\n'); // Ctrl-C or Ctrl-D: end the prompt's line
      resolve(confirmed ?? false);
    });
    prompt.question(`${redactUrl(question)} `, (answer) => {
      confirmed = answer.trim() === expected;
      prompt.close();
    });
  });
}
