import { rules } from '../lint/registry.js';
import { compareVersions } from '../source/version.js';
import type { ProjectReport, ReportedEnvironment, ReportedMigration, ReportedRun } from './report.js';
import { escapeXml as escape } from './svg.js';

/**
 * The report as one HTML file: inline CSS, the SVG diagram and the data in
 * the markup; no request leaves the page, and everything can be read with
 * JavaScript off. A few lines of script add filtering (by text, gaps only,
 * findings only); without them every row is shown.
 */
export function renderHtml(report: ProjectReport): string {
  const versions = allVersions(report);
  const gaps = versions.filter((v) => isGap(v, report.environments)).length;
  const findings = report.migrations.reduce((sum, m) => sum + m.findings.length, 0);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${escape(`Cairn report: ${report.project}`)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>Cairn report: ${escape(report.project)}</h1>
<p class="meta">Generated ${escape(report.generatedAt.replace('T', ' ').slice(0, 19))} UTC · ${versions.length} migration${versions.length === 1 ? '' : 's'} · ${report.environments.length} environment${report.environments.length === 1 ? '' : 's'}</p>
<ul class="summary">
<li class="${gaps ? 'warn' : 'ok'}" id="summary-gaps">${gaps} migration${gaps === 1 ? '' : 's'} not everywhere</li>
<li class="${report.lint.errors ? 'bad' : report.lint.warnings ? 'warn' : 'ok'}" id="summary-lint">lint: ${report.lint.errors} error${report.lint.errors === 1 ? '' : 's'}, ${report.lint.warnings} warning${report.lint.warnings === 1 ? '' : 's'}</li>
<li class="${report.verify ? (report.verify.ok ? 'ok' : 'bad') : 'none'}" id="summary-verify">${verifySummary(report)}</li>
<li class="none" id="summary-backups">${report.backups.length} backup${report.backups.length === 1 ? '' : 's'}</li>
</ul>
<nav><a href="#history">History</a> · <a href="#findings">Findings (${findings})</a> · <a href="#changes">Changes in flight</a> · <a href="#backups">Backups</a> · <a href="#schema">Schema</a></nav>
</header>
<main>
${historySection(report, versions)}
${findingsSection(report)}
${changesSection(report)}
${backupsSection(report)}
${schemaSection(report)}
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function verifySummary(report: ProjectReport): string {
  const v = report.verify;
  if (!v) return 'verify: not recorded (<code>cairn verify --record</code>)';
  return `verify ${v.ok ? 'passed' : 'FAILED'} ${escape(v.at.replace('T', ' ').slice(0, 16))} by ${escape(v.by)}: ${v.summary.ok}/${v.summary.total} ok`;
}

/** Versions of the files and of every environment's history (a missing file still has a row), in order. */
function allVersions(report: ProjectReport): string[] {
  const set = new Set(report.migrations.map((m) => m.version));
  for (const env of report.environments) for (const version of Object.keys(env.history)) set.add(version);
  return [...set].sort(compareVersions);
}

/** A migration whose state differs between the reachable environments, or that failed or changed somewhere. */
function isGap(version: string, environments: readonly ReportedEnvironment[]): boolean {
  const reachable = environments.filter((e) => e.error === null);
  const states = reachable.map((e) => e.history[version]?.state ?? 'pending');
  return new Set(states).size > 1 || states.some((s) => s !== 'applied' && s !== 'pending');
}

function historySection(report: ProjectReport, versions: readonly string[]): string {
  const byVersion = new Map(report.migrations.map((m) => [m.version, m]));
  const verified = new Map((report.verify?.migrations ?? []).map((m) => [m.version, m]));
  const envHeads = report.environments.map((env) => {
    const notes = [env.target ? `<span class="target">${escape(env.target)}</span>` : '', env.protected ? '<span class="tag">protected</span>' : '', env.follows ? `<span class="tag">follows ${escape(env.follows)}</span>` : ''];
    const state = env.error === null ? '' : `<span class="unreachable" title="${escape(env.error)}">unreachable: ${escape(env.error)}</span>`;
    return `<th class="env${env.error ? ' env-unreachable' : ''}" data-env="${escape(env.name)}" scope="col"><span class="env-name">${escape(env.name)}</span>${notes.join(' ')}${state}</th>`;
  });
  const rows = versions.map((version) => {
    const m = byVersion.get(version);
    const gap = isGap(version, report.environments);
    const cells = report.environments.map((env) => runCell(env, version, env.history[version], m !== undefined));
    const v = verified.get(version);
    const verifyCell = v ? `<td class="verify ${v.ok ? 'ok' : 'bad'}" title="${escape(v.problems.join('; '))}">${v.ok ? '✓' : '✗'} ${escape(v.down)}${v.generated ? ' (generated)' : ''}</td>` : '<td class="verify none">—</td>';
    const name = m ? m.name : `${report.environments.map((e) => e.history[version]?.name).find(Boolean) ?? ''} (file missing)`;
    return `<tr class="migration${gap ? ' gap' : ''}${m && m.findings.length ? ' has-findings' : ''}" data-version="${escape(version)}">
<th scope="row"><span class="version">${escape(version)}</span> ${escape(name)}${m && !m.transaction ? ' <span class="tag">no transaction</span>' : ''}</th>
<td class="kind">${m ? `<span class="type type-${escape(m.type)}">${escape(m.type)}</span> <span class="risk risk-${escape(m.risk)}">${escape(m.risk)} risk</span>` : '—'}</td>
<td class="down">${m ? (m.hasDown ? 'yes' : '<span class="no-down">no</span>') : '—'}</td>
<td class="findings-count">${m && m.findings.length ? `<a href="#findings-${escape(version)}">${m.findings.length}</a>` : ''}</td>
${verifyCell}
${cells.join('\n')}
</tr>`;
  });
  return `<section id="history">
<h2>History: what ran where</h2>
<p class="help">One column per environment. A row is marked when the environments disagree (applied on one, pending on another) or a migration failed or changed after it was applied.</p>
<form class="filters" onsubmit="return false">
<label>Filter <input type="search" id="filter-text" placeholder="version, name, rule…"></label>
<label><input type="checkbox" id="filter-gaps"> only migrations not everywhere</label>
<label><input type="checkbox" id="filter-findings"> only migrations with findings</label>
<output id="filter-count"></output>
</form>
<div class="scroll"><table class="history">
<thead><tr><th scope="col">Migration</th><th scope="col">Change</th><th scope="col">Down</th><th scope="col">Findings</th><th scope="col">Verify</th>${envHeads.join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table></div>
${versions.length === 0 ? '<p class="empty">No migrations yet: <code>cairn new create_users</code> writes the first.</p>' : ''}
</section>`;
}

function runCell(env: ReportedEnvironment, version: string, run: ReportedRun | undefined, hasFile: boolean): string {
  if (env.error !== null) return `<td class="run state-unknown" data-env="${escape(env.name)}">?</td>`;
  if (!run && !hasFile) return `<td class="run state-none" data-env="${escape(env.name)}">—</td>`; // neither file nor history here
  if (!run) return `<td class="run state-pending" data-env="${escape(env.name)}">pending</td>`;
  const when = run.appliedAt ? run.appliedAt.replace('T', ' ').slice(0, 16) : '';
  const title = [run.appliedBy ? `by ${run.appliedBy}` : '', run.durationMs !== null ? `${run.durationMs} ms` : '', run.error ?? ''].filter(Boolean).join(' · ');
  const label = run.outOfOrder ? 'pending (out of order)' : run.state;
  const details = run.state === 'pending' ? '' : `<span class="when">${escape(when)}</span><span class="who">${escape([run.appliedBy, run.durationMs !== null ? `${run.durationMs} ms` : null].filter(Boolean).join(' · '))}</span>${run.error ? `<span class="error">${escape(run.error)}</span>` : ''}`;
  return `<td class="run state-${escape(run.state)}" data-env="${escape(env.name)}" title="${escape(`${version} on ${env.name}: ${label}${title ? ` (${title})` : ''}`)}"><span class="state">${escape(label)}</span>${details}</td>`;
}

function findingsSection(report: ProjectReport): string {
  const summaries = new Map(rules.map((r) => [r.id, r.summary]));
  const withFindings = report.migrations.filter((m) => m.findings.length > 0 || m.allowed.length > 0);
  const blocks = withFindings.map((m: ReportedMigration) => {
    const items = m.findings.map((f) => {
      const doc = summaries.has(f.rule) ? `<a class="rule" href="docs/rules/${escape(f.rule)}.md" title="${escape(summaries.get(f.rule) ?? '')}">${escape(f.rule)}</a>` : `<span class="rule">${escape(f.rule)}</span>`;
      return `<li class="finding severity-${escape(f.severity)}"><span class="severity">${escape(f.severity)}</span> ${doc} <span class="where">${escape(f.file)}:${f.line}:${f.column}</span><p>${escape(f.message)}</p>${f.source ? `<pre>${escape(f.source)}</pre>` : ''}${f.help ? `<p class="fix">${escape(f.help)}</p>` : ''}</li>`;
    });
    const allowed = m.allowed.map((a) => `<li class="finding allowed"><span class="severity">allowed</span> <a class="rule" href="docs/rules/${escape(a.rule)}.md">${escape(a.rule)}</a>: ${escape(a.reason)}</li>`);
    return `<article id="findings-${escape(m.version)}" data-version="${escape(m.version)}"><h3>${escape(m.version)} ${escape(m.name)} <span class="type type-${escape(m.type)}">${escape(m.type)}</span> <span class="risk risk-${escape(m.risk)}">${escape(m.risk)} risk</span></h3><ul>${[...items, ...allowed].join('')}</ul></article>`;
  });
  return `<section id="findings">
<h2>Lint findings</h2>
${blocks.length ? blocks.join('\n') : '<p class="empty">No findings: every migration lints clean.</p>'}
</section>`;
}

function changesSection(report: ProjectReport): string {
  const lines = report.environments.flatMap((env) => env.changes.map((c) => `<li><b>${escape(env.name)}</b>: ${escape(c.summary)}</li>`));
  return `<section id="changes">
<h2>Expand–contract changes in flight</h2>
${lines.length ? `<ul>${lines.join('')}</ul>` : '<p class="empty">None: no change of <code>cairn plan</code> is waiting for its contract.</p>'}
</section>`;
}

function backupsSection(report: ProjectReport): string {
  const rows = report.backups.map(
    (b) => `<tr><td>${escape(b.version)} ${escape(b.name)}</td><td>${escape(b.createdAt.replace('T', ' ').slice(0, 16))}</td><td>${escape(b.database)}</td><td>${b.tables.map((t) => escape(t.table)).join(', ')}</td><td>${b.bytes} bytes</td><td><code>${escape(b.path)}</code></td></tr>`,
  );
  return `<section id="backups">
<h2>Backups</h2>
${rows.length ? `<table><thead><tr><th>Before</th><th>Taken</th><th>Database</th><th>Tables</th><th>Size</th><th>Where</th></tr></thead><tbody>${rows.join('')}</tbody></table>` : '<p class="empty">No backups taken: Cairn backs up the rows a destructive migration would destroy, before it runs.</p>'}
</section>`;
}

function schemaSection(report: ProjectReport): string {
  const s = report.schema;
  if ('error' in s) return `<section id="schema"><h2>Schema</h2><p class="empty">The diagram could not be drawn: ${escape(s.error)}</p></section>`;
  return `<section id="schema">
<h2>Schema as of ${escape(s.asOf ?? 'no migration')}</h2>
<p class="help">${s.tables} table${s.tables === 1 ? '' : 's'}, ${s.views} view${s.views === 1 ? '' : 's'}, ${s.foreignKeys} foreign key${s.foreignKeys === 1 ? '' : 's'}. Red lines delete (or null) the child rows with their parent (ON DELETE CASCADE / SET NULL); dashed boxes are views.</p>
<div class="diagram">${s.svg.replace(/^<\?xml[^>]*>\s*/, '')}</div>
</section>`;
}

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1a202c; background: #f7fafc; }
header { background: #2d3748; color: #fff; padding: 16px 24px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header a { color: #bee3f8; }
.meta { margin: 0 0 8px; color: #cbd5e0; }
.summary { list-style: none; display: flex; flex-wrap: wrap; gap: 8px; padding: 0; margin: 8px 0; }
.summary li { padding: 3px 10px; border-radius: 12px; background: #4a5568; }
.summary li.ok { background: #276749; } .summary li.warn { background: #975a16; } .summary li.bad { background: #9b2c2c; }
main { padding: 8px 24px 40px; }
section { margin: 24px 0; }
h2 { font-size: 18px; border-bottom: 1px solid #cbd5e0; padding-bottom: 4px; }
.help, .empty { color: #4a5568; }
.scroll { overflow: auto; max-height: 80vh; border: 1px solid #cbd5e0; background: #fff; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid #e2e8f0; padding: 4px 8px; text-align: left; vertical-align: top; }
thead th { position: sticky; top: 0; background: #edf2f7; z-index: 1; }
table.history tbody th { font-weight: normal; white-space: nowrap; }
.version { font-family: ui-monospace, monospace; font-weight: bold; }
.env-name { display: block; font-size: 15px; }
.target { display: block; font: 11px ui-monospace, monospace; color: #4a5568; }
.tag { display: inline-block; font-size: 11px; background: #e2e8f0; border-radius: 8px; padding: 0 6px; }
.unreachable { display: block; color: #9b2c2c; font-weight: normal; font-size: 12px; max-width: 280px; }
td.run { min-width: 140px; font-size: 12px; }
td.run .state { font-weight: bold; display: block; }
td.run .when, td.run .who { display: block; color: #4a5568; }
td.run .error { display: block; color: #9b2c2c; }
.state-applied { background: #f0fff4; }
.state-pending { background: #fefcbf; color: #744210; font-weight: bold; }
.state-failed, .state-changed, .state-missing { background: #fed7d7; color: #742a2a; }
.state-running { background: #bee3f8; }
.state-unknown, .state-none { background: #edf2f7; color: #718096; text-align: center; }
tr.gap > th { box-shadow: inset 4px 0 0 #d69e2e; }
.type, .risk { font-size: 11px; border-radius: 8px; padding: 0 6px; white-space: nowrap; }
.type-additive { background: #c6f6d5; } .type-transformative { background: #feebc8; } .type-destructive { background: #fed7d7; }
.risk-low { background: #e2e8f0; } .risk-medium { background: #fbd38d; } .risk-high { background: #feb2b2; font-weight: bold; }
.no-down { color: #9b2c2c; }
td.verify.ok { color: #276749; } td.verify.bad { color: #9b2c2c; font-weight: bold; }
.filters { display: flex; flex-wrap: wrap; gap: 16px; align-items: center; margin: 8px 0; }
.filters input[type=search] { padding: 3px 6px; min-width: 220px; }
article { background: #fff; border: 1px solid #e2e8f0; padding: 4px 12px; margin: 8px 0; }
article h3 { font-size: 15px; margin: 6px 0; }
article ul { list-style: none; padding: 0; }
.finding { margin: 6px 0; }
.finding p { margin: 2px 0; }
.finding pre { background: #edf2f7; padding: 4px 8px; overflow: auto; margin: 2px 0; }
.finding .fix { color: #276749; }
.severity { font-size: 11px; text-transform: uppercase; font-weight: bold; border-radius: 4px; padding: 0 4px; }
.severity-error .severity { background: #fed7d7; color: #9b2c2c; } .severity-warning .severity { background: #feebc8; color: #975a16; }
.allowed .severity { background: #e2e8f0; }
.rule { font-family: ui-monospace, monospace; }
.where { color: #718096; font-family: ui-monospace, monospace; font-size: 12px; }
.diagram { overflow: auto; max-height: 90vh; border: 1px solid #cbd5e0; background: #fff; }
tr.hidden, article.hidden { display: none; }
`;

/** Filtering only: the page reads the same without it. */
const SCRIPT = `
(function () {
  var text = document.getElementById('filter-text');
  var gaps = document.getElementById('filter-gaps');
  var findings = document.getElementById('filter-findings');
  var count = document.getElementById('filter-count');
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr.migration'));
  function apply() {
    var q = text.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var version = row.getAttribute('data-version');
      var article = document.getElementById('findings-' + version);
      var haystack = (row.textContent + ' ' + (article ? article.textContent : '')).toLowerCase();
      var visible = (!q || haystack.indexOf(q) >= 0) && (!gaps.checked || row.classList.contains('gap')) && (!findings.checked || row.classList.contains('has-findings'));
      row.classList.toggle('hidden', !visible);
      if (visible) shown++;
    });
    count.textContent = shown + ' of ' + rows.length + ' shown';
  }
  [text, gaps, findings].forEach(function (el) { el.addEventListener('input', apply); el.addEventListener('change', apply); });
  apply();
})();
`;
