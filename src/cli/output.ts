import { redactUrl } from '../config/url.js';
import { CairnError, isCairnError } from '../errors.js';

/** Everything the CLI prints goes through here, so no password can slip out. */
export interface Output {
  readonly json: boolean;
  line(text?: string): void;
  write(text: string): void;
  /** Warnings and notices: stderr, so --json stdout stays one document. */
  warn(text: string): void;
  document(value: unknown): void;
}

/**
 * True while stdout holds a line left open by `write` ("  ↑ 0002_x … ", waiting for "ok").
 * `line` finishes it; anything else printed first (a warning, an error, a document) ends it
 * with a newline, so it never lands in the middle of that line.
 */
let openLine = false;

/** Ends the open line, if there is one (see openLine). */
export function endOpenLine(): void {
  if (openLine) process.stdout.write('\n');
  openLine = false;
}

/** Erases the open line on a terminal (a progress line rewritten in place), else ends it. */
export function clearOpenLine(): void {
  if (openLine && process.stdout.isTTY === true) process.stdout.write('\r\x1b[K');
  else endOpenLine();
  openLine = false;
}

export function lineIsOpen(): boolean {
  return openLine;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    line: (text = '') => {
      openLine = false;
      process.stdout.write(`${redactUrl(text)}\n`);
    },
    write: (text) => {
      // What is left on the line after the last \n or \r, escape codes aside ("\r\x1b[K" clears it).
      const cut = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r'));
      const tail = text.slice(cut + 1).replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
      openLine = cut >= 0 ? tail.length > 0 : openLine || tail.length > 0;
      process.stdout.write(redactUrl(text));
    },
    warn: (text) => {
      endOpenLine();
      process.stderr.write(`${redactUrl(text)}\n`);
    },
    document: (value) => {
      endOpenLine();
      process.stdout.write(`${redactUrl(JSON.stringify(value, null, 2))}\n`);
    },
  };
}

/** Prints an error the way a user needs it (message, hint) and returns the exit code. */
export function reportError(error: unknown, json: boolean): number {
  const known = isCairnError(error) ? error : null;
  endOpenLine();
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
