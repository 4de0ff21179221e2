import { describe, expect, it } from 'vitest';
import { tempDir, writeMigrations } from '../../test/support/databases.js';
import { brief, findingsFor, lintFiles, targetFor } from '../../test/support/lint.js';
import { readMigrations } from '../source/files.js';
import { lintMigrations } from './linter.js';
import { formatGithub } from './format/github.js';
import { formatSarif } from './format/sarif.js';
import { formatText } from './format/text.js';
import { dropColumn } from './rules/drop-column.js';
import { indexNotConcurrent } from './rules/index-not-concurrent.js';

const previous = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, legacy TEXT);\n';
const rules = [dropColumn, indexNotConcurrent];

describe('linter', () => {
  it('reports a statement that does not parse as a finding with its line, and lints the rest', async () => {
    const findings = await findingsFor('ALTER TABLE users DROP COLUMN legacy;\nCREAT TABLE oops (id int);\nALTER TABLE users DROP COLUMN email;\n', { dialect: 'postgres', previous, rules });
    expect(brief(findings)).toEqual(['drop-column@1', 'syntax-error@2', 'drop-column@3']);
    expect(findings[1]!.message).toMatch(/syntax error at or near "CREAT"/);
  });

  it('points a syntax error at the failing token, not at the statement start', async () => {
    const sql = 'CREATE TABLE posts (\n  id int,\n  title text,,\n  body text\n);\n';
    const [pg] = await findingsFor(sql, { dialect: 'postgres', previous, rules });
    expect(pg).toMatchObject({ rule: 'syntax-error', line: 3, column: 14, source: '  title text,,' });
    const [sqlite] = await findingsFor(sql, { dialect: 'sqlite', previous, rules });
    expect(sqlite).toMatchObject({ rule: 'syntax-error', line: 3, column: 14, source: '  title text,,' });
  });

  describe('-- cairn:allow', () => {
    it('covers the statement right after it, or the whole file from the header', async () => {
      const statementLevel = '-- migrate:up\nALTER TABLE users DROP COLUMN email;\n-- cairn:allow drop-column archived in users_archive\nALTER TABLE users DROP COLUMN legacy;\n';
      expect(brief(await findingsFor(statementLevel, { dialect: 'sqlite', previous, rules }))).toEqual(['drop-column@2']);
      const fileLevel = '-- cairn:allow drop-column both columns archived in users_archive\n-- migrate:up\nALTER TABLE users DROP COLUMN email;\nALTER TABLE users DROP COLUMN legacy;\n';
      expect(await findingsFor(fileLevel, { dialect: 'sqlite', previous, rules })).toEqual([]);
    });

    it('requires a reason and a known rule id, and reports an allow that suppresses nothing', async () => {
      const sql = '-- cairn:allow drop-colum typo\n-- cairn:allow drop-column\nALTER TABLE users DROP COLUMN legacy;\n-- cairn:allow index-not-concurrent nothing here to allow\nALTER TABLE users ADD COLUMN phone TEXT;\n';
      const findings = await findingsFor(sql, { dialect: 'postgres', previous, rules });
      expect(brief(findings)).toEqual(['invalid-allow@1', 'invalid-allow@2', 'drop-column@3', 'unused-allow@4']);
      expect(findings[0]!.message).toBe('"drop-colum" is not a rule id');
      expect(findings[1]!.help).toContain('-- cairn:allow drop-column <reason>');
      expect(findings[3]).toMatchObject({ severity: 'warning' });
    });
  });

  it('keeps quiet about an allow for a rule of the other dialect, so one file serves both engines', async () => {
    const sql = '-- cairn:allow index-not-concurrent a tiny lookup table\nCREATE INDEX users_email ON users (email);\n';
    expect(await findingsFor(sql, { dialect: 'sqlite', previous, rules })).toEqual([]);
    expect(await findingsFor(sql, { dialect: 'postgres', previous, rules })).toEqual([]);
  });

  it('reports only the selected migrations, with the schema of the others replayed', async () => {
    const files = { '0001_a.sql': previous, '0002_b.sql': 'ALTER TABLE users DROP COLUMN legacy;\n', '0003_c.sql': 'ALTER TABLE users DROP COLUMN email;\n' };
    for (const dialect of ['sqlite', 'postgres'] as const) {
      const root = tempDir('cairn-lint-');
      const report = await lintMigrations(readMigrations(writeMigrations(root, files), root), { target: targetFor({ dialect }), rules }, new Set(['0003']));
      expect(report.files.map((f) => [f.version, brief(f.findings)])).toEqual([['0003', ['drop-column@1']]]);
    }
  });

  it('applies configured severities and turns rules off', async () => {
    const sql = 'ALTER TABLE users DROP COLUMN legacy;\n';
    expect((await findingsFor(sql, { dialect: 'sqlite', previous, rules, severities: { 'drop-column': 'warning' } }))[0]!.severity).toBe('warning');
    expect(await findingsFor(sql, { dialect: 'sqlite', previous, rules, severities: { 'drop-column': 'off' } })).toEqual([]);
  });

  it('knows what SQLite knows: the schema replayed from earlier files', async () => {
    const report = await lintFiles({ '0001_a.sql': previous, '0002_b.sql': 'ALTER TABLE users RENAME TO people;\n', '0003_c.sql': 'ALTER TABLE people DROP COLUMN legacy;\n' }, { dialect: 'sqlite', rules });
    expect(report.files.map((f) => brief(f.findings))).toEqual([[], [], ['drop-column@1']]);
  });

  it('classifies each migration and its risk', async () => {
    const report = await lintFiles(
      {
        '0001_create.sql': 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\nCREATE INDEX users_email ON users (email);\nINSERT INTO users VALUES (1, NULL);\n',
        '0002_rename.sql': 'ALTER TABLE users RENAME COLUMN email TO mail;\n',
        '0003_backfill.sql': "UPDATE users SET mail = 'x' WHERE mail IS NULL;\n",
        '0004_drop.sql': 'ALTER TABLE users ADD COLUMN phone TEXT;\nDROP TABLE users;\n',
      },
      { dialect: 'postgres', rules: [] },
    );
    expect(report.files.map((f) => [f.classification.type, f.classification.risk])).toEqual([
      ['additive', 'low'],
      ['transformative', 'medium'],
      ['transformative', 'medium'],
      ['destructive', 'high'],
    ]);
    expect(report.files[3]!.classification.reasons).toEqual(['line 2: drops table users']);
  });

  it('raises the risk of a migration with findings: an additive index build that blocks writes is high risk', async () => {
    const report = await lintFiles({ '0001_a.sql': previous, '0002_index.sql': 'CREATE INDEX users_email ON users (email);\n' }, { dialect: 'postgres', rules });
    expect(report.files[1]!.classification).toMatchObject({ type: 'additive', risk: 'high' });
  });

  describe('output formats', () => {
    const report = () => lintFiles({ '0001_a.sql': previous, '0002_b.sql': '-- migrate:up\nALTER TABLE users\n  DROP COLUMN legacy;\n' }, { dialect: 'postgres', rules });

    it('text: location, rule, the source line with a caret under the column, and the help', async () => {
      const text = formatText(await report());
      expect(text).toContain('migrations/0002_b.sql:3:3 error drop-column dropping column "legacy" of "users"');
      expect(text).toContain('  3 |   DROP COLUMN legacy;\n    |   ^\n  help: expand–contract');
      expect(text).toContain('1 error, 0 warnings in 2 files');
    });

    it('github: one workflow annotation per finding, escaped', async () => {
      expect(formatGithub(await report())).toMatch(/^::error file=migrations\/0002_b.sql,line=3,col=3,title=drop-column::dropping column "legacy" of "users".*%0Aexpand–contract/);
    });

    it('sarif: 2.1.0 with rule metadata and regions', async () => {
      const sarif = JSON.parse(formatSarif(await report(), rules, '0.1.0')) as { version: string; runs: { tool: { driver: { rules: { id: string }[] } }; results: { ruleId: string; level: string; locations: { physicalLocation: { region: { startLine: number } } }[] }[] }[] };
      expect(sarif.version).toBe('2.1.0');
      expect(sarif.runs[0]!.tool.driver.rules.map((r) => r.id)).toEqual(['drop-column']);
      expect(sarif.runs[0]!.results[0]).toMatchObject({ ruleId: 'drop-column', level: 'error', locations: [{ physicalLocation: { region: { startLine: 3 } } }] });
    });
  });
});
