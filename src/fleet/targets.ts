import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { FleetConfig, FleetGroup } from '../config/define.js';
import type { ResolvedConfig } from '../config/load.js';
import { d1LocalUrl, filePathOf, parseDatabaseUrl, shortName, type DatabaseUrl } from '../config/url.js';
import { CairnError } from '../errors.js';
import { expandDatabasePattern, openDriver } from '../drivers/index.js';
import { findWranglerConfig, readWranglerConfig } from '../config/wrangler.js';

/** One database of a fleet. */
export interface FleetTarget {
  /** How it is shown and keyed: the SQLite file relative to the project, else the URL (password redacted). Unique in a fleet. */
  readonly name: string;
  /** The config group it comes from (`targets` for a --targets file). */
  readonly group: string;
  /** The URL as written (or built from a glob or a schema), for resolving the group's config. */
  readonly source: string;
  readonly url: DatabaseUrl;
}

export interface TargetSelection {
  /** A file with one database URL (or SQLite path) a line; `#` comments and blank lines skipped. Replaces the config's groups. */
  readonly targetsFile?: string | undefined;
  /** Only these config groups (default: all). */
  readonly groups?: readonly string[] | undefined;
  /** Where relative --targets paths start. */
  readonly cwd: string;
}

/**
 * The fleet's targets, in a stable order (groups as written, files and
 * schemas sorted by name), each once. Globs and schema patterns are expanded
 * now: a tenant added since the last run is simply in the list.
 */
export async function fleetTargets(config: ResolvedConfig, selection: TargetSelection): Promise<FleetTarget[]> {
  const groups = selectGroups(config, selection);
  const seen = new Set<string>();
  const targets: FleetTarget[] = [];
  for (const [group, value] of groups) {
    for (const entry of await expandGroup(config, group, value)) {
      const { source, label } = typeof entry === 'string' ? { source: entry, label: undefined } : entry;
      const url = parseDatabaseUrl(source, config.root);
      const name = label ?? shortName(url, config.root);
      // The same database listed twice (by a pattern and by id) is one target.
      if (seen.has(name) || seen.has(url.display)) continue;
      seen.add(name).add(url.display);
      targets.push({ name, group, source, url });
    }
  }
  return targets;
}

/**
 * One stand-in target per group entry, not expanded: a glob, a schema
 * pattern or a D1 name pattern stays itself (it parses as a URL of its
 * engine). For what depends on the engine only (`fleet lint`): no file is
 * globbed, no server or API is asked, so no credentials are needed.
 */
export function fleetEntries(config: ResolvedConfig, selection: TargetSelection): FleetTarget[] {
  return selectGroups(config, selection).flatMap(([group, value]) => {
    const sources = typeof value === 'string' ? [value] : 'schemas' in value ? [value.url] : 'd1' in value ? value.d1.slice(0, 1).map((id) => d1LocalUrl(localD1Ids(config.root)(id), value.persistTo)) : [...value];
    return sources.map((source) => ({ name: source, group, source, url: parseDatabaseUrl(source, config.root) }));
  });
}

/** A target as a group expands: its URL, and how to show it when the URL alone does not say (a D1 database listed by name). */
type Expanded = string | { readonly source: string; readonly label: string };

function selectGroups(config: ResolvedConfig, selection: TargetSelection): [string, FleetGroup][] {
  if (selection.targetsFile !== undefined) {
    if (selection.groups && selection.groups.length > 0) throw new CairnError('USAGE', '--targets and --group contradict each other', { hint: 'a --targets file replaces the groups of cairn.config.ts: give one or the other' });
    const path = resolve(selection.cwd, selection.targetsFile);
    if (!existsSync(path)) throw new CairnError('USAGE', `targets file ${selection.targetsFile} does not exist`, { hint: 'one database URL (or SQLite file path) a line; # starts a comment' });
    const lines = readFileSync(path, 'utf8')
      .split(/\r?\n/)
      .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
      .filter((line) => line !== '');
    return [['targets', lines]];
  }
  const fleet = config.fleet ?? {};
  checkFleet(fleet, config.configFile);
  const names = Object.keys(fleet);
  if (names.length === 0) {
    throw new CairnError('CONFIG', `no fleet targets: ${config.configFile ?? 'there is no cairn.config.ts'}${config.configFile ? ' has no `fleet` setting' : ''}`, {
      hint: "add `fleet: { tenants: 'tenants/*.db' }` to cairn.config.ts (docs/fleet.md), or pass --targets <file> with one URL a line",
    });
  }
  const wanted = selection.groups && selection.groups.length > 0 ? selection.groups : names;
  return wanted.map((name) => {
    const group = fleet[name];
    if (group === undefined) throw new CairnError('USAGE', `fleet group "${name}" is not defined`, { hint: `groups in ${config.configFile}: ${names.join(', ')}` });
    return [name, group];
  });
}

function checkFleet(fleet: FleetConfig, configFile: string | null): void {
  if (typeof fleet !== 'object' || fleet === null || Array.isArray(fleet)) {
    throw new CairnError('CONFIG', `${configFile}: fleet must name its groups, e.g. fleet: { tenants: 'tenants/*.db' }`);
  }
  for (const [name, group] of Object.entries(fleet)) {
    const where = `${configFile} (fleet.${name})`;
    if (typeof group === 'string' || (Array.isArray(group) && group.every((item) => typeof item === 'string'))) continue;
    if (typeof group === 'object' && group !== null && !Array.isArray(group)) {
      const keys = Object.keys(group).sort().join(',');
      const { url, schemas } = group as { url?: unknown; schemas?: unknown };
      if (keys === 'schemas,url' && typeof url === 'string' && typeof schemas === 'string' && schemas !== '') continue;
      const { d1, persistTo } = group as { d1?: unknown; persistTo?: unknown };
      if ((keys === 'd1' || keys === 'd1,persistTo') && Array.isArray(d1) && d1.every((id) => typeof id === 'string') && (persistTo === undefined || typeof persistTo === 'string')) continue;
    }
    throw new CairnError('CONFIG', `${where}: not a group of targets`, {
      hint: "write a SQLite glob ('tenants/*.db'), a URL, a list of those, { url: 'postgres://…/app', schemas: 'tenant_%' }, or { d1: ['<database_id>', …], persistTo: '.wrangler/state' }",
    });
  }
}

async function expandGroup(config: ResolvedConfig, group: string, value: FleetGroup): Promise<Expanded[]> {
  if (typeof value === 'string') return expandEntry(config, value);
  if ('schemas' in value) return schemasOf(config, group, value.url, value.schemas);
  if ('d1' in value) {
    const idOf = localD1Ids(config.root);
    return value.d1.map((id) => d1LocalUrl(idOf(id), value.persistTo));
  }
  return (await Promise.all(value.map((entry) => expandEntry(config, entry)))).flat();
}

/** A URL stays itself; a SQLite path with a wildcard is every file it matches, sorted; `d1://<account_id>/<prefix>*` every D1 database so named. */
async function expandEntry(config: ResolvedConfig, entry: string): Promise<Expanded[]> {
  const text = entry.trim();
  const listed = await expandDatabasePattern(text);
  if (listed) return listed;
  const path = filePathOf(text);
  if (path === null) return [text];
  // Loaded here, not at the top: every command imports this module through the facade, and only a fleet globs.
  const { glob, isDynamicPattern } = await import('tinyglobby');
  if (!isDynamicPattern(path)) return [text];
  const files = await glob(path, { cwd: config.root, absolute: true, onlyFiles: true, expandDirectories: false });
  // Relative to the project where they are in it: the same URL (and display, which backups record) as `--url tenants/a.db`.
  return files.sort().map((file) => `sqlite:${isInside(config.root, file) ? relative(config.root, file) : file}`);
}

function isInside(root: string, file: string): boolean {
  const path = relative(root, file);
  return path !== '' && !path.startsWith('..') && !isAbsolute(path);
}

/** Every schema of one PostgreSQL database whose name matches `like`, as a URL with ?schema=. */
async function schemasOf(config: ResolvedConfig, group: string, url: string, like: string): Promise<string[]> {
  const server = parseDatabaseUrl(url, config.root);
  const driver = await openDriver(server, { create: false });
  try {
    if (!driver.schemas) throw new CairnError('CONFIG', `${config.configFile} (fleet.${group}): ${server.display} has no schemas`, { hint: 'schemas: is for PostgreSQL (one schema per tenant); list the databases instead' });
    const names = await driver.schemas(like);
    return names.map((schema) => withSchema(url, schema));
  } finally {
    await driver.close();
  }
}

function withSchema(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('schema', schema);
  return parsed.toString();
}

/**
 * A `{ d1: [...] }` entry: a binding (or database_name) of the project's wrangler config names its local
 * database as wrangler keeps it (preview id, else database id, else the binding); anything else is a database id.
 */
function localD1Ids(root: string): (entry: string) => string {
  const file = findWranglerConfig(root);
  const bindings = file ? (readWranglerConfig(file).top.bindings ?? []) : [];
  return (entry) => {
    const binding = bindings.find((b) => b.binding === entry) ?? bindings.find((b) => b.databaseName === entry);
    return binding ? (binding.previewDatabaseId ?? binding.databaseId ?? binding.binding) : entry;
  };
}
