import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import type { VerifyReport } from '../replay/verify.js';

/** `verify --record` keeps the last result here (relative to the project root), for `cairn report`. */
export const VERIFY_RECORD = join('.cairn', 'verify.json');

/** The last `cairn verify --record`: when, by whom, and per migration whether its down was proven. JSON-safe. */
export interface RecordedVerify {
  readonly at: string;
  readonly by: string;
  readonly ok: boolean;
  readonly scratch: string;
  readonly summary: VerifyReport['summary'];
  readonly migrations: readonly { readonly version: string; readonly ok: boolean; readonly down: string; readonly generated: boolean; readonly problems: readonly string[] }[];
  readonly schemaMatches: boolean | null;
}

export function recordVerify(root: string, report: VerifyReport, now = new Date()): string {
  const record: RecordedVerify = {
    at: now.toISOString(),
    by: `${userInfo().username}@${hostname()}`,
    ok: report.ok,
    scratch: report.scratch,
    summary: report.summary,
    migrations: report.migrations.map((m) => ({ version: m.version, ok: m.ok, down: m.down, generated: m.generated, problems: m.problems.map((p) => p.message) })),
    schemaMatches: report.schema ? report.schema.ok : null,
  };
  const file = join(root, VERIFY_RECORD);
  mkdirSync(join(root, '.cairn'), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  return VERIFY_RECORD;
}

/** The recorded result, or null when verify never ran with --record (or the file is not one Cairn wrote). */
export function readRecordedVerify(root: string): RecordedVerify | null {
  const file = join(root, VERIFY_RECORD);
  if (!existsSync(file)) return null;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as RecordedVerify;
    return typeof parsed.at === 'string' && Array.isArray(parsed.migrations) ? parsed : null;
  } catch {
    return null;
  }
}
