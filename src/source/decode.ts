import { CairnError } from '../errors.js';
import type { SourceProblem } from './migration.js';

/**
 * Migration files are UTF-8 unless the config says otherwise (`encoding:
 * 'latin1'` for a legacy history). Bytes that are not valid in the encoding
 * are a problem naming the file, line and byte offset: a replacement character
 * applied to the database in place of `é` would be data lost without a word.
 */
export type DecodeResult = { readonly text: string; readonly problem: null } | { readonly text: null; readonly problem: SourceProblem };

/** A decoder for `encoding` (a WHATWG label: utf-8, latin1, windows-1252, shift_jis, …); CONFIG error for an unknown one. */
export function decoderFor(encoding: string = 'utf-8'): TextDecoder {
  try {
    // ignoreBOM keeps a byte-order mark in the text, as reading with 'utf8' always did: checksums stay what they were.
    return new TextDecoder(encoding, { fatal: true, ignoreBOM: true });
  } catch {
    throw new CairnError('CONFIG', `encoding "${encoding}" is not an encoding Cairn can read`, {
      hint: "leave it out for UTF-8, or name a WHATWG encoding label such as 'latin1', 'windows-1252' or 'shift_jis'",
      details: { encoding },
    });
  }
}

export function decodeMigration(bytes: Uint8Array, file: string, decoder: TextDecoder = decoderFor()): DecodeResult {
  try {
    return { text: decoder.decode(bytes), problem: null };
  } catch {
    const utf8 = decoder.encoding === 'utf-8';
    const offset = utf8 ? firstInvalidUtf8(bytes) : -1;
    const fix = utf8
      ? "re-save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`), or set `encoding: 'latin1'` (the file's real encoding) in cairn.config.ts"
      : `re-save the file as ${decoder.encoding}, or set \`encoding\` in cairn.config.ts to the file's real encoding`;
    if (offset < 0) return { text: null, problem: { file, message: `is not valid ${decoder.encoding}`, fix } };
    const line = lineAt(bytes, offset);
    const shown = [...bytes.subarray(offset, offset + 4)].map((b) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`).join(' ');
    return { text: null, problem: { file, line, message: `invalid UTF-8 at byte offset ${offset} (${shown})`, fix } };
  }
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629: no overlongs, surrogates or > U+10FFFF), or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    const length = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (length === 0) return i;
    // The second byte's range is narrower after E0, ED, F0 and F4.
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k];
      if (next === undefined || next < (k === 1 ? low : 0x80) || next > (k === 1 ? high : 0xbf)) return i;
    }
    i += length;
  }
  return -1;
}

function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}
