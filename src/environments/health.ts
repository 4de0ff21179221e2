import type { HealthCheck, ResolvedConfig } from '../config/load.js';
import { redactUrl } from '../config/url.js';
import { CairnError } from '../errors.js';
import type { CairnEvent, HealthReport } from '../core/events.js';

export type { HealthCheck, HealthReport };
import type { RunResult } from '../core/up.js';

/**
 * One GET after a deploy's migrations: does the service still answer? It never
 * throws; a failure is a report, and the caller decides what it means.
 */
export async function checkHealth(check: HealthCheck): Promise<HealthReport> {
  // A query string can carry a token (`?key=…`): shown as `?…`, like a password.
  const url = redactUrl(check.url).replace(/\?.*$/, '?…');
  const { target, headers } = withoutCredentials(check.url);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const response = await fetch(target, { headers, signal: AbortSignal.timeout(check.timeoutMs) });
    await response.body?.cancel().catch(() => undefined);
    const durationMs = elapsed();
    const ok = check.expectStatus === null ? response.status >= 200 && response.status < 300 : response.status === check.expectStatus;
    const problem = ok ? null : `expected ${check.expectStatus ?? 'a 2xx status'}, got ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    return { url, ok, status: response.status, statusText: response.statusText, durationMs, problem };
  } catch (error) {
    return { url, ok: false, status: null, statusText: '', durationMs: elapsed(), problem: redactUrl(whyNoAnswer(error, check.timeoutMs)) };
  }
}

/**
 * After `up`: when the environment names a health check and this run applied
 * something, request it. Unhealthy is HEALTH_CHECK (exit 5) naming what was
 * applied and the `down` that would undo it; nothing is undone here.
 * `before` is the newest version applied before the run (`0` for none).
 */
export async function healthAfterUp(config: ResolvedConfig, result: RunResult, before: string, onEvent: (event: CairnEvent) => void): Promise<HealthReport | null> {
  const environment = config.environmentSettings;
  if (!environment?.healthCheck || result.dryRun || !result.success || result.applied.length === 0) return null;
  const report = await checkHealth(environment.healthCheck);
  onEvent({ type: 'health', report });
  if (!report.ok) throw healthFailure(report, { environment: environment.name, applied: result.applied.map((m) => ({ version: m.version, name: m.name })), before });
  return report;
}

/** `health check https://…/health: 200 OK in 43 ms`, or what went wrong. */
export function describeHealth(report: HealthReport): string {
  if (report.status === null) return `health check ${report.url}: ${report.problem} after ${report.durationMs} ms`;
  const answer = `${report.status}${report.statusText ? ` ${report.statusText}` : ''} in ${report.durationMs} ms`;
  return `health check ${report.url}: ${answer}${report.ok ? '' : ` (${report.problem})`}`;
}

export interface HealthFailureContext {
  readonly environment: string;
  /** What this run applied, oldest first. */
  readonly applied: readonly { readonly version: string; readonly name: string }[];
  /** The newest version applied before this run, `0` when there was none: where `down --to` goes back to. */
  readonly before: string;
}

/** Exit code 5: the migrations are in, the service is not answering as it should. Nothing is undone. */
export function healthFailure(report: HealthReport, context: HealthFailureContext): CairnError {
  const names = context.applied.map((m) => `${m.version}_${m.name}`);
  const down = `cairn down --env ${context.environment} --to ${context.before}`;
  return new CairnError(
    'HEALTH_CHECK',
    `the health check failed after applying ${names.length} migration${names.length === 1 ? '' : 's'} to ${context.environment} (${names.join(', ')}): ${describeHealth(report)}\nNothing was undone: the migrations stay applied.`,
    {
      hint: `if the migrations broke the service, roll them back with \`${down}\`; otherwise look at the service (\`cairn status --env ${context.environment}\` shows what is applied)`,
      details: { environment: context.environment, applied: context.applied, health: report, downCommand: down },
    },
  );
}

function whyNoAnswer(error: unknown, timeoutMs: number): string {
  const name = (error as Error | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs / 1000} s`;
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused';
  if (cause?.code === 'ENOTFOUND') return 'host not found';
  return cause?.message ?? (error as Error | undefined)?.message ?? String(error);
}

/** fetch refuses URLs with user:password@; send them as a Basic Authorization header instead. */
function withoutCredentials(text: string): { target: string; headers: Record<string, string> } {
  const url = new URL(text);
  if (!url.username && !url.password) return { target: text, headers: {} };
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = '';
  url.password = '';
  return { target: url.toString(), headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } };
}
