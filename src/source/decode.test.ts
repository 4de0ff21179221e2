import { describe, expect, it } from 'vitest';
import { CairnError } from '../errors.js';
import { decodeMigration, decoderFor, firstInvalidUtf8 } from './decode.js';

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))));

describe('decoding migration files', () => {
  it('reads UTF-8, keeping a byte-order mark as it was', () => {
    expect(decodeMigration(bytes("INSERT INTO t VALUES ('café', '日本', '🎉');"), 'm.sql')).toEqual({ text: "INSERT INTO t VALUES ('café', '日本', '🎉');", problem: null });
    expect(decodeMigration(bytes([0xef, 0xbb, 0xbf], 'SELECT 1;'), 'm.sql').text).toBe('\uFEFFSELECT 1;');
  });

  it('names file, line and byte offset of a Latin-1 byte, never replacing it', () => {
    const result = decodeMigration(bytes('CREATE TABLE t (x TEXT);\nINSERT INTO t VALUES (\'caf', [0xe9], "');\n"), 'migrations/0001_x.sql');
    expect(result.text).toBeNull();
    expect(result.problem).toMatchObject({ file: 'migrations/0001_x.sql', line: 2, message: 'invalid UTF-8 at byte offset 51 (0xE9 0x27 0x29 0x3B)' });
    expect(result.problem?.fix).toContain("encoding: 'latin1'");
  });

  it('finds overlongs, surrogates, stray continuations and truncated sequences', () => {
    expect(firstInvalidUtf8(bytes('ok é 日 🎉'))).toBe(-1);
    expect(firstInvalidUtf8(bytes('ab', [0xc0, 0xaf]))).toBe(2); // overlong '/'
    expect(firstInvalidUtf8(bytes('ab', [0xed, 0xa0, 0x80]))).toBe(2); // a UTF-16 surrogate
    expect(firstInvalidUtf8(bytes('a', [0x80]))).toBe(1);
    expect(firstInvalidUtf8(bytes('abc', [0xf0, 0x9f, 0x8e]))).toBe(3); // cut short at the end
    expect(firstInvalidUtf8(bytes([0xf4, 0x90, 0x80, 0x80]))).toBe(0); // above U+10FFFF
  });

  it('decodes a legacy file with the configured encoding, and refuses an unknown one', () => {
    expect(decodeMigration(bytes("SELECT 'caf", [0xe9], "';"), 'm.sql', decoderFor('latin1')).text).toBe("SELECT 'café';");
    expect(() => decoderFor('klingon')).toThrow(CairnError);
  });
});
