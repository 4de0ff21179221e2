import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, posix, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { ParseError } from 'jsonc-parser';
import { CairnError } from '../errors.js';
import type { CairnConfig, D1Config } from './define.js';
import { d1LocalUrl, d1RemoteUrl, WRANGLER_STATE_DIR } from './url.js';

/**
 * Reads a Worker's wrangler config for its D1 bindings, so `cairn up --d1 DB`
 * needs nothing else. Only what Cairn uses is read (d1_databases, account_id,
 * env sections); the rest of the file is wrangler's business and is ignored.
 */

/** Wrangler's own order when several exist (wrangler-dist: findWranglerConfig). */
export const WRANGLER_FILES = ['wrangler.json', 'wrangler.jsonc', 'wrangler.toml'] as const;
/** Wrangler's defaults for a binding without migrations_dir / migrations_table. */
export const DEFAULT_WRANGLER_TABLE = 'd1_migrations';
export const DEFAULT_WRANGLER_MIGRATIONS = 'migrations';

/** One `[[d1_databases]]` entry. */
export interface D1Binding {
  readonly binding: string;
  readonly databaseName: string | null;
  readonly databaseId: string | null;
  readonly previewDatabaseId: string | null;
  /** Absolute: `migrations_dir` resolved against the wrangler file's directory. */
  readonly migrationsDir: string;
  /**
   * `migrations_pattern` (wrangler 4.98+) made relative to the migrations directory, e.g. `*\/migration.sql`
   * for `migrations/0001_init/migration.sql`; null: wrangler's default, `*.sql` in the directory itself.
   */
  readonly migrationsPattern: string | null;
  readonly migrationsTable: string;
  /** 1-based line of the entry in the file, when it could be found. */
  readonly line: number | null;
}

export interface WranglerScope {
  readonly accountId: string | null;
  /** Null when the section has no `d1_databases` at all. */
  readonly bindings: readonly D1Binding[] | null;
  readonly line: number | null;
}

export interface WranglerConfig {
  readonly file: string;
  readonly top: WranglerScope;
  readonly environments: Readonly<Record<string, WranglerScope>>;
}

/** wrangler.json, wrangler.jsonc or wrangler.toml in `root` (in that order), or the explicit file. */
export function findWranglerConfig(root: string, explicit?: string | undefined): string | null {
  if (explicit !== undefined) {
    const path = resolve(root, explicit);
    if (!existsSync(path)) throw new CairnError('CONFIG', `wrangler config ${explicit} does not exist`, { hint: 'check `d1.wranglerConfig` in cairn.config.ts (it is relative to the project directory)' });
    return path;
  }
  return WRANGLER_FILES.map((name) => resolve(root, name)).find((path) => existsSync(path)) ?? null;
}

export function readWranglerConfig(file: string): WranglerConfig {
  const text = readFileSync(file, 'utf8');
  const raw = file.endsWith('.toml') ? parseTomlFile(text, file) : parseJsoncFile(text, file);
  if (!isObject(raw)) throw new CairnError('CONFIG', `${file}: the top level must be an object`);
  const lines = new LineFinder(text);
  const environments: Record<string, WranglerScope> = {};
  const env = raw.env;
  if (env !== undefined && !isObject(env)) throw new CairnError('CONFIG', `${file}: "env" must be a table of environments`);
  const topAccount = stringField(raw, 'account_id', file, 'account_id');
  for (const [name, section] of Object.entries(env ?? {})) {
    if (!isObject(section)) throw new CairnError('CONFIG', `${file}${at(lines.section(name))}: env.${name} must be a table`);
    environments[name] = scope(section, file, lines, `env.${name}`, topAccount, lines.section(name));
  }
  return { file, top: scope(raw, file, lines, '', null, null), environments };
}

function scope(section: Record<string, unknown>, file: string, lines: LineFinder, path: string, inheritedAccount: string | null, line: number | null): WranglerScope {
  const where = path ? `${path}.` : '';
  const list = section.d1_databases;
  let bindings: D1Binding[] | null = null;
  if (list !== undefined) {
    if (!Array.isArray(list)) throw new CairnError('CONFIG', `${file}: ${where}d1_databases must be a list of bindings`, { hint: 'in TOML write each as [[d1_databases]] (or [[env.<name>.d1_databases]])' });
    bindings = list.map((entry, index) => binding(entry, file, lines, `${where}d1_databases[${index}]`, line));
  }
  // account_id is inheritable in wrangler (unlike d1_databases).
  return { accountId: stringField(section, 'account_id', file, `${where}account_id`) ?? inheritedAccount, bindings, line };
}

function binding(entry: unknown, file: string, lines: LineFinder, path: string, sectionLine: number | null): D1Binding {
  if (!isObject(entry)) throw new CairnError('CONFIG', `${file}: ${path} must be a table with a "binding"`);
  const name = stringField(entry, 'binding', file, `${path}.binding`);
  if (!name) throw new CairnError('CONFIG', `${file}: ${path} has no "binding"`, { hint: 'every d1_databases entry needs binding = "DB" (the name the Worker uses)' });
  const line = lines.binding(name, sectionLine);
  const dir = stringField(entry, 'migrations_dir', file, `${path}.migrations_dir`);
  const pattern = stringField(entry, 'migrations_pattern', file, `${path}.migrations_pattern`);
  return {
    binding: name,
    databaseName: stringField(entry, 'database_name', file, `${path}.database_name`),
    databaseId: stringField(entry, 'database_id', file, `${path}.database_id`),
    previewDatabaseId: stringField(entry, 'preview_database_id', file, `${path}.preview_database_id`),
    migrationsDir: resolve(dirname(file), dir ?? DEFAULT_WRANGLER_MIGRATIONS),
    migrationsPattern: pattern === null ? null : patternInDir(pattern, dir, `${file}${at(line)}: ${path}`),
    migrationsTable: stringField(entry, 'migrations_table', file, `${path}.migrations_table`) ?? DEFAULT_WRANGLER_TABLE,
    line,
  };
}

/**
 * Wrangler's rules (workers-utils d1-migrations: resolveMigrationsConfig): a pattern needs an
 * explicit `migrations_dir` and must start with `<migrations_dir>/`; both are relative to the
 * wrangler file. Returned relative to the directory, as the files are matched there.
 */
export function patternInDir(pattern: string, dir: string | null, where: string): string {
  if (dir === null) {
    throw new CairnError('CONFIG', `${where} sets migrations_pattern "${pattern}" without migrations_dir`, {
      hint: `wrangler requires both: add migrations_dir = "migrations" and a pattern that starts with "migrations/", e.g. "migrations/*/migration.sql"`,
    });
  }
  const [normalDir, normalPattern] = [normalizeRelative(dir), normalizeRelative(pattern)];
  if (normalDir === '.') return normalPattern;
  if (!normalPattern.startsWith(`${normalDir}/`) || normalPattern.length === normalDir.length + 1) {
    throw new CairnError('CONFIG', `${where}: migrations_pattern "${pattern}" does not start with "${normalDir}/" (its migrations_dir)`, {
      hint: `make the pattern start with the directory, e.g. "${normalDir}/*/migration.sql", or change migrations_dir to match the start of the pattern (wrangler refuses this too)`,
    });
  }
  return normalPattern.slice(normalDir.length + 1);
}

/** `./migrations/` → `migrations`, backslashes as slashes: the form wrangler compares. */
function normalizeRelative(path: string): string {
  const normal = posix.normalize(path.replace(/\\/g, '/'));
  return normal.endsWith('/') && normal !== '/' ? normal.slice(0, -1) : normal;
}

/** What `--d1 DB` (or `d1` in cairn.config) asks for. */
export interface D1Choice {
  readonly binding: string;
  /** The `[env.<name>]` section to read; null for the top level. */
  readonly env: string | null;
  readonly remote: boolean;
  /** Absolute; default `.wrangler/state` next to the wrangler file, as wrangler does. */
  readonly persistTo: string | null;
  /** Path relative to the project directory; default: found in it. */
  readonly wranglerConfig?: string | undefined;
}

/** Where the database came from, for `cairn status` and `--json`. */
export interface WranglerSource {
  /** Absolute path of the wrangler file. */
  readonly file: string;
  readonly binding: string;
  readonly environment: string | null;
  readonly databaseName: string | null;
  readonly remote: boolean;
}

export interface ResolvedD1 {
  /** `d1://local/<id>[?persist=<dir>]` or `d1://<account_id>/<database_id>`. */
  readonly url: string;
  readonly source: WranglerSource;
  readonly migrationsDir: string;
  /** The binding's `migrations_pattern`, relative to migrationsDir; null for wrangler's flat `*.sql`. */
  readonly migrationsPattern: string | null;
  /** Wrangler's history table, kept in step by Cairn. */
  readonly table: string;
}

/**
 * The `d1` that decides the database, if one does, in load.ts's order: --d1,
 * then the environment's `database`/`d1`, then DATABASE_URL, then the file's
 * `database`/`d1`. --url (checked by the caller) beats them all. A --d1 flag
 * keeps the rest of a configured `d1` object (env, remote, wranglerConfig).
 */
export function d1InForce(
  flags: { readonly url?: string | undefined; readonly d1?: string | undefined },
  environment: Pick<CairnConfig, 'database' | 'd1'>,
  file: Pick<CairnConfig, 'database' | 'd1'>,
  vars: Readonly<Record<string, string | undefined>>,
  where: string,
): D1Config | null {
  for (const [scope, label] of [[environment, 'environment'], [file, 'top level']] as const) {
    if (scope.database !== undefined && scope.d1 !== undefined) {
      throw new CairnError('CONFIG', `${where}: the ${label} sets both "database" and "d1"`, { hint: 'keep one: `d1` reads the database from a wrangler binding, `database` is a URL' });
    }
  }
  if (flags.url) return null;
  if (flags.d1 !== undefined) return { ...asD1Config(environment.d1 ?? file.d1, where), binding: flags.d1 };
  if (environment.database !== undefined) return null;
  if (environment.d1 !== undefined) return asD1Config(environment.d1, where);
  if (vars.DATABASE_URL || file.database !== undefined || file.d1 === undefined) return null;
  return asD1Config(file.d1, where);
}

/** Checks a `d1` setting's shape; a string is the binding. */
export function asD1Config(value: unknown, where: string): D1Config {
  if (value === undefined) return { binding: '' };
  if (typeof value === 'string' && value.trim() !== '') return { binding: value };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CairnError('CONFIG', `${where}: d1 must be a binding name or { binding, env?, remote?, persistTo?, wranglerConfig? }, got ${JSON.stringify(value)}`, { hint: "d1: 'DB'" });
  }
  const known = ['binding', 'env', 'remote', 'persistTo', 'wranglerConfig'];
  const unknown = Object.keys(value).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw new CairnError('CONFIG', `${where} (d1): unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}`, { hint: `known settings: ${known.join(', ')}` });
  const config = value as Record<string, unknown>;
  for (const key of ['binding', 'env', 'persistTo', 'wranglerConfig']) {
    if (config[key] !== undefined && typeof config[key] !== 'string') throw new CairnError('CONFIG', `${where}: d1.${key} must be a string, got ${JSON.stringify(config[key])}`);
  }
  if (config.remote !== undefined && typeof config.remote !== 'boolean') throw new CairnError('CONFIG', `${where}: d1.remote must be true or false`);
  if (!config.binding) throw new CairnError('CONFIG', `${where}: d1 needs a binding`, { hint: "d1: { binding: 'DB' } (the binding name in wrangler.toml's [[d1_databases]])" });
  return value as D1Config;
}

/**
 * A `d1` setting plus flags → what to resolve. `--env` names wrangler's
 * `[env.<name>]` (`wranglerEnv`) only when cairn.config has no environment of
 * that name; `d1.env` says so explicitly. `--persist-to` is relative to the
 * working directory (as in wrangler), `persistTo` in the config to the project.
 */
export function d1Choice(
  setting: D1Config,
  options: { readonly wranglerEnv: string | null; readonly remote: boolean | undefined; readonly persistTo: string | undefined; readonly cwd: string; readonly root: string },
): D1Choice {
  const persistTo = options.persistTo !== undefined ? resolve(options.cwd, options.persistTo) : setting.persistTo !== undefined ? resolve(options.root, setting.persistTo) : null;
  return { binding: setting.binding, env: setting.env ?? options.wranglerEnv, remote: options.remote ?? setting.remote ?? false, persistTo, wranglerConfig: setting.wranglerConfig };
}

/** --d1 DB [--env qa] [--remote] → the database URL, migrations directory and wrangler table of that binding. */
export function resolveD1(choice: D1Choice, root: string, vars: Readonly<Record<string, string | undefined>>): ResolvedD1 {
  const file = findWranglerConfig(root, choice.wranglerConfig);
  if (!file) {
    throw new CairnError('CONFIG', `--d1 ${choice.binding}: no wrangler config in ${root} (looked for ${WRANGLER_FILES.join(', ')})`, {
      hint: 'run cairn in the Worker\'s directory (where wrangler.toml is), or set `d1: { binding, wranglerConfig: "path/to/wrangler.toml" }` in cairn.config.ts; or use --url d1://local/<database_id>',
    });
  }
  const config = readWranglerConfig(file);
  const chosen = pickBinding(config, choice.binding, choice.env);
  const source: WranglerSource = { file, binding: chosen.binding.binding, environment: choice.env, databaseName: chosen.binding.databaseName, remote: choice.remote };
  const base = { source, migrationsDir: chosen.binding.migrationsDir, migrationsPattern: chosen.binding.migrationsPattern, table: chosen.binding.migrationsTable };
  if (choice.remote) {
    if (choice.persistTo) throw new CairnError('USAGE', '--persist-to is for the local database; it cannot be used with --remote');
    const id = chosen.binding.databaseId;
    if (!id) {
      throw new CairnError('CONFIG', `${file}${at(chosen.binding.line)}: binding ${choice.binding} has no database_id, which the remote database needs`, {
        hint: `create it with \`npx wrangler d1 create ${chosen.binding.databaseName ?? choice.binding}\` and put its id in database_id`,
      });
    }
    if (!chosen.accountId && !vars.CLOUDFLARE_ACCOUNT_ID) {
      throw new CairnError('CONFIG', `--remote needs a Cloudflare account id: ${basename(file)} has no account_id and CLOUDFLARE_ACCOUNT_ID is not set`, {
        hint: `add account_id = "<id>" to ${basename(file)}, or export CLOUDFLARE_ACCOUNT_ID (the token goes in CLOUDFLARE_API_TOKEN)`,
      });
    }
    // A null account: the driver reads CLOUDFLARE_ACCOUNT_ID when it opens.
    return { ...base, url: d1RemoteUrl(chosen.accountId, id) };
  }
  // Wrangler's local database id: preview id, else database id, else the binding name.
  const id = chosen.binding.previewDatabaseId ?? chosen.binding.databaseId ?? chosen.binding.binding;
  const persist = choice.persistTo ?? resolve(dirname(file), WRANGLER_STATE_DIR);
  return { ...base, url: d1LocalUrl(id, persist === resolve(root, WRANGLER_STATE_DIR) ? undefined : displayPath(root, persist)) };
}

/**
 * With a binding, the migrations are wrangler's `migrations_dir`: Cairn and
 * wrangler must read one directory to agree. A `migrations` in cairn.config
 * (`cairn init` writes the default) may only say the same thing.
 */
export function d1MigrationsDir(d1: ResolvedD1, configured: string | undefined, root: string, where: string): string {
  if (configured === undefined || resolve(root, configured) === d1.migrationsDir) return d1.migrationsDir;
  const wranglerDir = displayPath(dirname(d1.source.file), d1.migrationsDir);
  throw new CairnError('CONFIG', `${where} sets migrations: '${configured}', but ${basename(d1.source.file)}'s binding ${d1.source.binding} reads its migrations from ${wranglerDir}`, {
    hint: `Cairn and wrangler must read the same directory: remove \`migrations\` from ${basename(where)}, or set migrations_dir = "${configured}" on the binding in ${basename(d1.source.file)} (--dir overrides both for one run)`,
  });
}

/** The binding (by binding name, or database_name as wrangler also accepts) in the top level or an env section. */
export function pickBinding(config: WranglerConfig, name: string, env: string | null): { binding: D1Binding; accountId: string | null } {
  const { file } = config;
  const scope = env === null ? config.top : config.environments[env];
  if (!scope) {
    const known = Object.keys(config.environments);
    throw new CairnError('CONFIG', `${file}: there is no [env.${env}] section`, {
      hint: known.length > 0 ? `environments in ${basename(file)}: ${known.join(', ')}` : `${basename(file)} defines no environments; drop --env, or add [env.${env}] with its own [[env.${env}.d1_databases]]`,
    });
  }
  if (!scope.bindings || scope.bindings.length === 0) {
    const topHasIt = config.top.bindings?.some((b) => b.binding === name || b.databaseName === name) ?? false;
    throw new CairnError('CONFIG', `${file}${at(scope.line)}: ${env === null ? 'the file' : `[env.${env}]`} has no d1_databases`, {
      hint:
        env !== null
          ? `wrangler does not inherit d1_databases into [env.*] sections${topHasIt ? ` (${name} is only defined at the top level)` : ''}: add [[env.${env}.d1_databases]] with binding = "${name}" and that environment's database_id`
          : `add [[d1_databases]] with binding = "${name}", database_name and database_id (\`npx wrangler d1 create <name>\` prints them)`,
    });
  }
  const found = scope.bindings.find((b) => b.binding === name) ?? scope.bindings.find((b) => b.databaseName === name);
  if (!found) {
    const known = scope.bindings.map((b) => (b.databaseName ? `${b.binding} (${b.databaseName})` : b.binding));
    throw new CairnError('CONFIG', `${file}: no D1 binding "${name}"${env === null ? '' : ` in [env.${env}]`}`, {
      hint: `D1 bindings there: ${known.join(', ')}`,
      details: { bindings: scope.bindings.map((b) => b.binding) },
    });
  }
  return { binding: found, accountId: scope.accountId };
}

/** How `cairn status` names the source: "wrangler.toml binding DB (env qa, remote)". */
export function describeSource(source: WranglerSource, root: string): string {
  const extras = [source.environment ? `env ${source.environment}` : null, source.remote ? 'remote' : 'local'].filter(Boolean);
  return `${displayPath(root, source.file)} binding ${source.binding} (${extras.join(', ')})`;
}

/** Relative to the project when inside it, else absolute. */
function displayPath(root: string, path: string): string {
  const rel = relative(root, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * The TOML and JSONC parsers, loaded when a wrangler config is read (synchronously, as reading is):
 * a project without D1 never loads them, and no command's start waits for them.
 */
const load = createRequire(import.meta.url);
const toml = () => load('smol-toml') as typeof import('smol-toml');
const jsonc = () => load('jsonc-parser') as typeof import('jsonc-parser');

function parseTomlFile(text: string, file: string): unknown {
  const { parse: parseToml, TomlError } = toml();
  try {
    return parseToml(text);
  } catch (error) {
    if (error instanceof TomlError) {
      throw new CairnError('CONFIG', `${file}:${error.line}:${error.column}: ${error.message.split('\n')[0]}`, { hint: 'fix the TOML syntax (wrangler would reject this file too)', cause: error });
    }
    throw error;
  }
}

function parseJsoncFile(text: string, file: string): unknown {
  const { parse: parseJsonc, printParseErrorCode } = jsonc();
  const errors: ParseError[] = [];
  // Wrangler reads wrangler.json and wrangler.jsonc alike: comments and trailing commas allowed.
  const value: unknown = parseJsonc(text, errors, { allowTrailingComma: true });
  const first = errors[0];
  if (first) {
    const line = text.slice(0, first.offset).split('\n').length;
    throw new CairnError('CONFIG', `${file}:${line}: ${printParseErrorCode(first.error)}`, { hint: 'fix the JSON syntax (wrangler would reject this file too)' });
  }
  return value;
}

function stringField(object: Record<string, unknown>, key: string, file: string, path: string): string | null {
  const value = object[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new CairnError('CONFIG', `${file}: ${path} must be a string, got ${JSON.stringify(value)}`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function at(line: number | null): string {
  return line === null ? '' : `:${line}`;
}

/** Best-effort line numbers for messages: parsers give values, not positions. */
class LineFinder {
  private readonly lines: readonly string[];

  constructor(text: string) {
    this.lines = text.split(/\r\n|\n|\r/);
  }

  /** `[env.qa]`, `[env.qa.vars]`, `"qa": {` inside "env". */
  section(name: string): number | null {
    const quoted = escape(name);
    return this.find(new RegExp(`^\\s*\\[\\[?\\s*env\\.("?)${quoted}\\1\\s*[.\\]]`)) ?? this.find(new RegExp(`^\\s*"${quoted}"\\s*:\\s*\\{`));
  }

  /** `binding = "DB"` or `"binding": "DB"`: the first one after the section's own line. */
  binding(name: string, after: number | null): number | null {
    return this.find(new RegExp(`["']?binding["']?\\s*[=:]\\s*["']${escape(name)}["']`), after ?? 0);
  }

  private find(pattern: RegExp, from = 0): number | null {
    const index = this.lines.findIndex((line, i) => i >= from && pattern.test(line));
    return index < 0 ? null : index + 1;
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
