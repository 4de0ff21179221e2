import type { Command } from 'commander';
import type { VerifiedMigration, VerifyProblemKind, VerifyReport } from '../../replay/verify.js';
import { formatDifference } from '../../drivers/snapshot.js';
import { recordVerify } from '../../report/verify-record.js';
import { contextFor } from '../context.js';
import { interruptSignal } from '../interrupt.js';
import { clearOpenLine } from '../output.js';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('replay every migration in a scratch database: up, down, up; prove each down undoes its up')
    .option('--scratch-url <url>', 'where to replay: a PostgreSQL server to create the scratch database on, or pglite: for embedded PostgreSQL (default: like the configured database)')
    .option('--schema <file>', 'schema dump the final schema must match (default: schema.sql, or `schema` in cairn.config.ts, when it exists)')
    .option('--no-schema', 'do not compare with the schema dump')
    .option('--from <version>', 'verify from this version on; the earlier ones are brought in unverified')
    .option('--baseline <file>', 'with --from: start from this schema dump (`cairn dump`) instead of applying every earlier migration')
    .option('--no-generated', 'check written downs only: files without a down are listed as not needed or missing')
    .option('--bail', 'stop at the first down that fails instead of going on from the state after its up')
    .option('--record', 'keep the result in .cairn/verify.json, for `cairn report`')
    .addHelpText(
      'after',
      `
Cairn creates the scratch database and drops it afterwards: a temporary SQLite
file, or a temporary database on the PostgreSQL server (it needs CREATE
DATABASE), or PGlite (PostgreSQL in WASM, in memory). The configured database
itself is never touched. PostgreSQL migrations (lint.dialect "postgres") with
no PostgreSQL server configured are replayed in PGlite, so verify needs no
setup; --scratch-url pglite: picks PGlite explicitly.

For each migration: up applies on top of the ones before; with a down, the
schema after up and down must equal the schema before up, and up must apply
again with the same result. Files marked -- cairn:idempotent are applied twice.
A file without a down whose up can be inverted (CREATE → DROP, ADD COLUMN →
DROP COLUMN, RENAME back) is checked with its generated down, the one
\`cairn down --generated\` would run. Migrations with no down at all are
listed: not needed (purely additive) or missing.

When the schema dump exists (schema.sql, written by \`cairn dump\`), the schema
after the last migration must match it: it is loaded into a second scratch
database and the two are compared. A mismatch lists the differences.

--from V skips verifying what came before V: those migrations are applied up
only (no down check), or, with --baseline <dump>, the dump is loaded (its
first line names the version it reflects) and only the migrations between it
and V are applied.

A down that fails is rolled back whole; verify goes on from the state after
that migration's up and checks the rest, so one run reports every failure,
with a summary (checked, ok, failed, problems by kind, not reached). --bail
stops at the first failing down. An up that fails still stops the replay: the
migrations after it build on it.

Assertions (-- cairn:assert…) are read before a migration's first up but do
not guard it: the scratch database has none of the data they are about, so a
false one is shown as skipped and the migration is replayed anyway. An
assertion whose query the database rejects (a typo, a table not there yet)
fails verification, as it would fail \`cairn up\`.

Exit code 1 when a migration fails verification or the schema dump does not match.

Examples:
  cairn verify
  cairn verify --json
  cairn verify --bail
  cairn verify --from 0042 --baseline schema.sql
  cairn verify --schema db/schema.sql
  cairn verify --url postgres://app@db/app --scratch-url postgres://ci@localhost/postgres
  cairn verify --scratch-url pglite:
  cairn verify --record          # cairn report shows the result`,
    )
    .action(async (options: { scratchUrl?: string; schema?: string | false; from?: string; baseline?: string; generated: boolean; bail?: boolean; record?: boolean }, command: Command) => {
      const { cairn, out } = contextFor(command);
      const report = await cairn.verify({ scratchUrl: options.scratchUrl, schema: options.schema, from: options.from, baseline: options.baseline, generated: options.generated, bail: options.bail === true, signal: interruptSignal(out) });
      process.exitCode = report.ok ? 0 : 1;
      clearOpenLine();
      if (options.record) recordVerify((await cairn.config()).root, report);
      if (out.json) return out.document(report);
      if (report.notice) out.line(report.notice);
      out.line(`Verified in ${report.scratch}, now dropped`);
      if (report.from) out.line(fromNote(report.from));
      const width = Math.max(0, ...report.migrations.map((m) => `${m.version}_${m.name}`.length));
      for (const migration of report.migrations) {
        out.line(`  ${mark(migration)} ${`${migration.version}_${migration.name}`.padEnd(width)}  ${migration.steps.join(', ')}${downNote(migration)}`);
        for (const assertion of migration.assertions ?? []) {
          if (assertion.result === 'skipped') out.line(`      assertion "${assertion.name}" (line ${assertion.line}) skipped: false in the scratch database, which has no production data (\`cairn up --dry-run\` reads it against the real one)`);
        }
        for (const problem of migration.problems) {
          out.line(`      ${problem.message}${problem.differences.length > 0 ? ':' : ''}`);
          for (const difference of problem.differences) out.line(`        ${formatDifference(difference)}`);
        }
      }
      if (report.notReached.length > 0) out.line(`  not replayed after that failure: ${report.notReached.join(', ')}`);
      if (report.schema) schemaLines(report.schema, out.line);
      const failed = report.migrations.filter((m) => !m.ok).length;
      const missing = report.migrations.filter((m) => m.down === 'missing').length;
      const notNeeded = report.migrations.filter((m) => m.down === 'not-needed').length;
      const withoutDown = missing + notNeeded > 0 ? ` (${missing + notNeeded} without down: ${notNeeded} not needed, ${missing} missing)` : '';
      if (failed === 0 && report.schema && !report.schema.ok) return out.line(`\nAll ${report.migrations.length} migrations verified${withoutDown}, but ${report.schema.file} does not match.`);
      out.line(failed > 0 ? `\n${failed} of ${report.migrations.length + report.notReached.length} migrations failed verification${withoutDown}.` : `\nAll ${report.migrations.length} migrations verified${withoutDown}.`);
      if (failed > 0) out.line(summaryLine(report.summary));
    });
}

const KIND_NAMES: Record<VerifyProblemKind, string> = {
  'up-fails': 'up fails',
  'up-again-fails': 'second up fails',
  'down-fails': 'down fails',
  'down-differs': 'down does not restore the schema',
  'redo-fails': 'up after down fails',
  'redo-differs': 'up after down differs',
};

function summaryLine(summary: VerifyReport['summary']): string {
  const kinds = Object.entries(summary.problems).map(([kind, count]) => `${KIND_NAMES[kind as VerifyProblemKind]}: ${count}`);
  return `Checked ${summary.checked} of ${summary.total}: ${summary.ok} ok, ${summary.failed} failed (${kinds.join(', ')}), ${summary.notReached} not reached.`;
}

function fromNote(from: NonNullable<VerifyReport['from']>): string {
  const earlier = from.baselined + from.applied;
  if (earlier === 0) return `  from ${from.version}: nothing before it${from.baseline ? ` (started from ${from.baseline})` : ''}`;
  const how = [from.baseline ? `${from.baseline} loaded, ${from.baselined} recorded as baselined` : '', from.applied > 0 ? `${from.applied} applied up only` : ''].filter(Boolean).join(', then ');
  return `  from ${from.version}: the ${earlier} migration${earlier === 1 ? '' : 's'} before it brought in unverified (${how})`;
}

function schemaLines(schema: NonNullable<VerifyReport['schema']>, line: (text: string) => void): void {
  if (schema.ok) return line(`  ✓ ${schema.file} matches the schema after the last migration`);
  line(`  ✗ ${schema.message ?? `${schema.file} does not match`}${schema.differences.length > 0 ? ' (- only from the migrations, + only in the file):' : ''}`);
  for (const difference of schema.differences) line(`        ${formatDifference(difference)}`);
  line(`      run \`cairn dump\` against a database migrated to the newest version, or fix the migrations`);
}

function mark(migration: VerifiedMigration): string {
  if (!migration.ok) return '✗';
  return migration.down === 'missing' ? '!' : '✓';
}

function downNote(migration: VerifiedMigration): string {
  if (migration.generated) return ' (generated down)';
  if (migration.down === 'not-needed') return ' (no down; not needed: purely additive)';
  if (migration.down === 'missing') return ' (no down; missing: it is not purely additive)';
  return '';
}
