import { redactUrl } from '../config/url.js';
import { CairnError, isCairnError } from '../core/errors.js';

/** Everything the CLI prints goes through here, so no password can slip out. */
export interface Output {
  readonly json: boolean;
  line(text?: string): void;
  write(text: string): void;
  /** Warnings and notices: stderr, so --json stdout stays one document. */
  warn(text: string): void;
  document(value: unknown): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    line: (text = '') => void process.stdout.write(`${redactUrl(text)}\n`),
    write: (text) => void process.stdout.write(redactUrl(text)),
    warn: (text) => void process.stderr.write(`${redactUrl(text)}\n`),
    document: (value) => void process.stdout.write(`${redactUrl(JSON.stringify(value, null, 2))}\n`),
  };
}

/** Prints an error the way a user needs it (message, hint) and returns the exit code. */
export function reportError(error: unknown, json: boolean): number {
  const known = isCairnError(error) ? error : null;
  if (json) {
    const body = known ? known.toJSON() : { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
    process.stdout.write(`${redactUrl(JSON.stringify({ error: body }, null, 2))}\n`);
  } else if (known) {
    process.stderr.write(`${redactUrl(`error[${known.code}]: ${known.message}`)}\n`);
    if (known.hint) process.stderr.write(`${redactUrl(`  hint: ${known.hint}`)}\n`);
  } else {
    const message = error instanceof Error ? (process.env.CAIRN_DEBUG ? (error.stack ?? error.message) : error.message) : String(error);
    process.stderr.write(`${redactUrl(`internal error: ${message}`)}\n  this is a bug in cairn; rerun with CAIRN_DEBUG=1 for the stack and report it\n`);
  }
  return known ? known.exitCode : 70;
}

export function usage(message: string, hint?: string): CairnError {
  return new CairnError('USAGE', message, hint ? { hint } : {});
}
