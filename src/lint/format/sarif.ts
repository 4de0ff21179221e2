import type { LintReport } from '../linter.js';
import type { Rule } from '../types.js';

/** SARIF 2.1.0, for code-scanning tools (GitHub code scanning, IDEs). */
export function formatSarif(report: LintReport, rules: readonly Rule[], version: string): string {
  const findings = report.files.flatMap((file) => file.findings);
  const used = new Set(findings.map((f) => f.rule));
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'cairn',
            version,
            rules: rules.filter((r) => used.has(r.id)).map((r) => ({ id: r.id, shortDescription: { text: r.summary }, helpUri: `docs/rules/${r.id}.md`, defaultConfiguration: { level: r.severity } })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.rule,
          level: f.severity,
          message: { text: `${f.message}. Help: ${f.help}` },
          locations: [{ physicalLocation: { artifactLocation: { uri: f.file }, region: { startLine: f.line, startColumn: f.column } } }],
        })),
      },
    ],
  };
  return JSON.stringify(sarif, null, 2);
}
