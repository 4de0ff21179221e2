import type { LintReport } from '../linter.js';
import type { Finding } from '../types.js';

/** Compiler-style: location, severity, rule and message; the source line with a caret; the help. */
export function formatText(report: LintReport, options: { readonly summary?: boolean } = {}): string {
  const out: string[] = [];
  for (const file of report.files) for (const finding of file.findings) out.push(formatFinding(finding), '');
  if (options.summary !== false) {
    const width = Math.max(0, ...report.files.map((f) => `${f.version}_${f.name}`.length));
    for (const file of report.files) {
      const counts = count(file.findings);
      out.push(`${`${file.version}_${file.name}`.padEnd(width)}  ${file.classification.type.padEnd(14)} risk ${file.classification.risk.padEnd(6)} ${counts}`.trimEnd());
      if (file.script) out.push(`${' '.repeat(width)}  TypeScript: not linted (its SQL is built when it runs)${file.batched.length > 0 ? `; runs outside one transaction: ctx.batch at line ${file.batched.join(', ')}, each batch its own transaction` : ''}`);
      else if (file.batched.length > 0) out.push(`${' '.repeat(width)}  runs outside one transaction: line ${file.batched.join(', ')} in batches, each batch its own transaction`);
    }
    out.push('', `${plural(report.errors, 'error')}, ${plural(report.warnings, 'warning')} in ${plural(report.files.length, 'file')}`);
  }
  return out.join('\n');
}

export function formatFinding(finding: Finding): string {
  const gutter = String(finding.line).length;
  const caret = `${' '.repeat(Math.max(0, finding.column - 1))}^`;
  const heading = `${finding.file}:${finding.line}:${finding.column} ${finding.severity} ${finding.rule} ${finding.message}`;
  const source = finding.source ? [`  ${String(finding.line)} | ${finding.source}`, `  ${' '.repeat(gutter)} | ${caret}`] : [];
  return [heading, ...source, `  help: ${finding.help}`].join('\n');
}

function count(findings: readonly Finding[]): string {
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  return [errors ? plural(errors, 'error') : '', warnings ? plural(warnings, 'warning') : ''].filter(Boolean).join(', ');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
