import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CairnError } from '../errors.js';
import type { CairnConfig, EnvironmentConfig, FleetConfig, LintConfig } from './define.js';
import { parseDatabaseUrl, redactUrl, type DatabaseUrl } from './url.js';
import { d1Choice, d1InForce, d1MigrationsDir, DEFAULT_WRANGLER_TABLE, resolveD1, type WranglerSource } from './wrangler.js';

/**
 * Everything a command needs to know, decided once: flags > --env > env vars > config file > defaults.
 *
 * The database, first match wins: --url; --d1 <binding>; the environment's
 * `database` or `d1`; DATABASE_URL; the file's `database` or `d1`;
 * sqlite:cairn.db. A named environment stops after its own setting: one
 * without a database is a CONFIG error, never the next in line. A `d1` (or --d1) is a binding in wrangler.toml /
 * wrangler.json(c) (config/wrangler.ts), read from `[env.<name>]` when --env
 * names an environment cairn.config does not define (or `d1.env` says so); it
 * also supplies the migrations directory (--dir overrides it; a `migrations`
 * setting must name the same directory, so Cairn and wrangler agree), the
 * D1 lint defaults, and wrangler's history table, which Cairn keeps in step.
 */
export interface ResolvedConfig {
  /** The project directory: where the config file is, or the working directory. */
  readonly root: string;
  readonly configFile: string | null;
  readonly environment: string | null;
  /** Names of the environments the config file defines, in its order (`cairn report` shows them side by side). */
  readonly environments: readonly string[];
  readonly database: DatabaseUrl;
  /** Where the database URL came from, for "which database is this?" moments. */
  readonly databaseSource: 'flag' | 'environment' | 'DATABASE_URL' | 'config' | 'default' | 'wrangler';
  /** The wrangler binding the database came from (databaseSource `wrangler`). */
  readonly wrangler: WranglerSource | null;
  /** Wrangler's history table: adopted from when it exists, kept in step, and created when the database is a wrangler binding. */
  readonly wranglerTable: { readonly name: string; readonly create: boolean };
  readonly migrationsDir: string;
  /** Which files in migrationsDir are migrations, as a glob relative to it (a wrangler binding's `migrations_pattern`); null: the usual layouts. */
  readonly migrationsPattern: string | null;
  /** How migration files are decoded (`encoding`, default utf-8). */
  readonly encoding: string;
  readonly table: string;
  readonly lockTimeoutMs: number;
  /** `statementLockTimeout`: what a transactional migration's statements may wait for a table lock; null: off. */
  readonly statementLock: StatementLockConfig | null;
  readonly allowOutOfOrder: boolean;
  readonly lint: ResolvedLintConfig;
  /** Absolute path of the schema dump (`schema`, default schema.sql next to the config). */
  readonly schemaFile: string;
  /** Rewrite the schema dump after a successful up or down. */
  readonly dumpAfterUp: boolean;
  /** `backup`: 'rows' copies the rows at risk on remote D1 too, where 'auto' relies on its Time Travel bookmark. */
  readonly backup: 'auto' | 'rows';
  /** `cairn codegen`: the absolute path it writes, and whether a successful up or down rewrites it. */
  readonly codegen: { readonly out: string; readonly afterUp: boolean };
  /** What the chosen environment says about itself; null without --env / CAIRN_ENV. */
  readonly environmentSettings: EnvironmentSettings | null;
  /** `fleet` as written (checked by fleet/targets.ts when a fleet command runs); null when there is none. */
  readonly fleet: FleetConfig | null;
}

export interface StatementLockConfig {
  readonly timeoutMs: number;
  /** Times a migration that gave way is rolled back and run again. */
  readonly retries: number;
  /** Pause before the first retry; doubled before each next one. */
  readonly backoffMs: number;
}

/** The environment-only settings (docs/environments.md). */
export interface EnvironmentSettings {
  readonly name: string;
  readonly protected: boolean;
  /** The environment whose history gates `up` here; checked to exist and not to loop. */
  readonly follows: string | null;
  readonly healthCheck: HealthCheck | null;
  /** How long a contract migration waits after its expand was applied here, in ms; null: no wait. */
  readonly contractAfterMs: number | null;
  /** A contract migration waits for `cairn phase confirm`. */
  readonly confirmContract: boolean;
}

export interface ResolvedLintConfig {
  readonly dialect: 'postgres' | 'sqlite';
  readonly postgresVersion: number;
  /** Null: the SQLite version Cairn runs with. */
  readonly sqliteVersion: string | null;
  readonly d1: boolean;
  readonly rules: Readonly<Record<string, 'error' | 'warning' | 'off'>>;
  /** Which files the header rules check (docs/rules/header-template.md). */
  readonly header: 'opt-in' | 'required';
  /** Cairn sets lock_timeout in each transactional migration (statementLockTimeout is on): require-lock-timeout stays quiet there. */
  readonly cairnLockTimeout?: boolean;
  /** Where lint results are kept between runs (lint/cache.ts); null: off (--no-cache, CAIRN_NO_CACHE). */
  readonly cache?: { readonly dir: string; readonly project: string } | null;
}

/** Flags (or createCairn options) that override the config file. */
export interface ConfigOverrides {
  readonly cwd?: string | undefined;
  /** Path to a config file; by default cairn.config.{ts,mts,js,mjs,json} in cwd. */
  readonly config?: string | undefined;
  readonly url?: string | undefined;
  readonly env?: string | undefined;
  readonly dir?: string | undefined;
  readonly table?: string | undefined;
  /** Seconds. */
  readonly lockTimeout?: number | undefined;
  readonly allowOutOfOrder?: boolean | undefined;
  /** A D1 binding in the wrangler config (--d1 DB), and where to reach it (--remote, --persist-to). */
  readonly d1?: string | undefined;
  readonly remote?: boolean | undefined;
  readonly persistTo?: string | undefined;
  /** False: neither read nor write the lint cache (--no-cache). */
  readonly lintCache?: boolean | undefined;
  /** Environment variables to read (DATABASE_URL, CAIRN_ENV); default process.env. */
  readonly envVars?: Readonly<Record<string, string | undefined>> | undefined;
}

export const CONFIG_FILES = ['cairn.config.ts', 'cairn.config.mts', 'cairn.config.js', 'cairn.config.mjs', 'cairn.config.json'];
export const DEFAULT_DATABASE = 'sqlite:cairn.db';
const KNOWN_KEYS = ['database', 'd1', 'migrations', 'encoding', 'table', 'lockTimeout', 'statementLockTimeout', 'statementLockRetries', 'statementLockBackoff', 'allowOutOfOrder', 'lint', 'environments', 'schema', 'dumpAfterUp', 'backup', 'fleet', 'codegen'];
const ENVIRONMENT_KEYS = ['protected', 'follows', 'healthCheck', 'contractAfter', 'confirmContract'];
const LINT_KEYS = ['dialect', 'postgresVersion', 'sqliteVersion', 'd1', 'rules', 'header'];

export async function resolveConfig(overrides: ConfigOverrides = {}): Promise<ResolvedConfig> {
  const cwd = resolve(overrides.cwd ?? process.cwd());
  const vars = overrides.envVars ?? process.env;
  const configFile = findConfigFile(cwd, overrides.config);
  const root = configFile ? dirname(configFile) : cwd;
  const file = configFile ? await loadConfigFile(configFile) : {};
  const environment = overrides.env ?? vars.CAIRN_ENV ?? null;
  // With a D1 binding, --env may name wrangler's [env.<name>] rather than one of ours.
  const cairnEnvironment = environment && (file.environments?.[environment] || (overrides.d1 === undefined && file.d1 === undefined)) ? environment : null;
  const envConfig = cairnEnvironment ? pickEnvironment(file, cairnEnvironment, configFile) : {};
  const merged: EnvironmentConfig = { ...file, ...envConfig };

  // A named environment must say where its database is: the fallbacks below (DATABASE_URL, the top level, sqlite:cairn.db) would pick another one.
  if (cairnEnvironment && !overrides.url && overrides.d1 === undefined && !envConfig.database && envConfig.d1 === undefined) {
    resolveEnvironment(file, cairnEnvironment, configFile); // its own mistakes (follows …) first
    const set = Object.prototype.hasOwnProperty.call(envConfig, 'database');
    throw new CairnError('CONFIG', `environment "${cairnEnvironment}" has no database: its \`database\` setting is ${set ? 'empty (is the environment variable it reads set?)' : 'missing'}`, {
      hint: `set \`database\` (or \`d1\`) of environments.${cairnEnvironment} in ${configFile ?? 'cairn.config.ts'} (export the variable it reads), or pass --url; a named environment never falls back to DATABASE_URL or sqlite:cairn.db`,
      details: { environment: cairnEnvironment, setting: 'database' },
    });
  }
  const d1Setting = d1InForce(overrides, envConfig, file, vars, configFile ?? 'config');
  const d1 = d1Setting ? resolveD1(d1Choice(d1Setting, { wranglerEnv: cairnEnvironment === null && environment ? environment : null, remote: overrides.remote, persistTo: overrides.persistTo, cwd, root }), root, vars) : null;
  if (!d1 && (overrides.remote || overrides.persistTo !== undefined)) {
    throw new CairnError('USAGE', `${overrides.remote ? '--remote' : '--persist-to'} applies to a D1 binding`, { hint: 'add --d1 <binding> (from wrangler.toml), or set `d1` in cairn.config.ts' });
  }
  // d1 is null whenever something above it in the order (--url, the environment's `database`, …) decides.
  const [databaseText, databaseSource] = d1
    ? [d1.url, 'wrangler' as const]
    : overrides.url
      ? [overrides.url, 'flag' as const]
      : envConfig.database
        ? [envConfig.database, 'environment' as const]
        : vars.DATABASE_URL
          ? [vars.DATABASE_URL, 'DATABASE_URL' as const]
          : file.database
            ? [file.database, 'config' as const]
            : [DEFAULT_DATABASE, 'default' as const];

  const lockTimeout = overrides.lockTimeout ?? merged.lockTimeout ?? 60;
  if (!Number.isFinite(lockTimeout) || lockTimeout < 0) {
    throw new CairnError('CONFIG', `lock timeout must be a number of seconds >= 0, got ${String(lockTimeout)}`);
  }
  if (merged.schema !== undefined && (typeof merged.schema !== 'string' || merged.schema === '')) {
    throw new CairnError('CONFIG', `schema must be the path of the schema dump, e.g. 'schema.sql', got ${JSON.stringify(merged.schema)}`);
  }
  if (merged.dumpAfterUp !== undefined && typeof merged.dumpAfterUp !== 'boolean') {
    throw new CairnError('CONFIG', `dumpAfterUp must be true or false, got ${JSON.stringify(merged.dumpAfterUp)}`);
  }
  if (merged.backup !== undefined && merged.backup !== 'auto' && merged.backup !== 'rows') {
    throw new CairnError('CONFIG', `backup must be 'auto' or 'rows', got ${JSON.stringify(merged.backup)}`, { hint: "'rows' copies the rows a destructive migration can destroy on remote D1 too; 'auto' (the default) relies on D1's Time Travel bookmark there" });
  }
  const codegen = merged.codegen ?? {};
  if (typeof codegen !== 'object' || (codegen.out !== undefined && (typeof codegen.out !== 'string' || codegen.out === '')) || (codegen.afterUp !== undefined && typeof codegen.afterUp !== 'boolean')) {
    throw new CairnError('CONFIG', `codegen must be { out?: 'src/db/schema.ts', afterUp?: true }, got ${JSON.stringify(merged.codegen)}`);
  }
  const database = parseDatabaseUrl(databaseText, root);
  const migrationsDir = overrides.dir ? resolve(cwd, overrides.dir) : d1 ? d1MigrationsDir(d1, merged.migrations, root, configFile ?? 'config') : resolve(root, merged.migrations ?? 'migrations');
  return Object.freeze({
    root,
    configFile,
    environment,
    environments: Object.keys(file.environments ?? {}),
    database,
    databaseSource,
    wrangler: d1?.source ?? null,
    wranglerTable: { name: d1?.table ?? DEFAULT_WRANGLER_TABLE, create: d1 !== null },
    migrationsDir,
    migrationsPattern: !overrides.dir && d1 ? d1.migrationsPattern : null,
    encoding: resolveEncoding(merged.encoding),
    table: overrides.table ?? merged.table ?? 'cairn_migrations',
    lockTimeoutMs: Math.round(lockTimeout * 1000),
    statementLock: resolveStatementLock(merged),
    allowOutOfOrder: overrides.allowOutOfOrder ?? merged.allowOutOfOrder ?? false,
    lint: { ...resolveLint(d1 ? { dialect: 'sqlite', d1: true, ...merged.lint } : (merged.lint ?? {}), database, configFile), cairnLockTimeout: resolveStatementLock(merged) !== null, cache: lintCache(overrides, vars, cwd, root, migrationsDir) },
    schemaFile: resolve(root, merged.schema ?? 'schema.sql'),
    dumpAfterUp: merged.dumpAfterUp === true,
    backup: merged.backup ?? 'auto',
    codegen: { out: resolve(root, codegen.out ?? 'src/db/schema.ts'), afterUp: codegen.afterUp === true },
    environmentSettings: cairnEnvironment ? resolveEnvironment(file, cairnEnvironment, configFile) : null,
    fleet: merged.fleet ?? null,
  });
}

/**
 * The lint cache's directory: CAIRN_CACHE_DIR, else node_modules/.cache/cairn in the project
 * (where bundlers keep theirs), else the user's cache directory. Off with --no-cache or
 * CAIRN_NO_CACHE (any value but empty, 0 or false).
 */
function lintCache(overrides: ConfigOverrides, vars: Readonly<Record<string, string | undefined>>, cwd: string, root: string, project: string): ResolvedLintConfig['cache'] {
  const off = vars.CAIRN_NO_CACHE;
  if (overrides.lintCache === false || (off !== undefined && !['', '0', 'false'].includes(off.toLowerCase()))) return null;
  const dir = vars.CAIRN_CACHE_DIR
    ? resolve(cwd, vars.CAIRN_CACHE_DIR)
    : existsSync(resolve(root, 'node_modules'))
      ? resolve(root, 'node_modules', '.cache', 'cairn')
      : resolve(vars.XDG_CACHE_HOME || resolve(homedir(), '.cache'), 'cairn');
  return { dir, project };
}

/** The WHATWG name of the migration files' encoding (`latin1` is windows-1252 there, as browsers read it). */
function resolveEncoding(encoding: unknown): string {
  try {
    return new TextDecoder(encoding === undefined ? 'utf-8' : String(encoding)).encoding;
  } catch {
    throw new CairnError('CONFIG', `encoding "${String(encoding)}" is not an encoding Cairn can read`, {
      hint: "leave it out for UTF-8, or name the files' encoding, e.g. 'latin1', 'windows-1252' or 'shift_jis'",
    });
  }
}

function resolveLint(lint: LintConfig, database: DatabaseUrl, configFile: string | null): ResolvedLintConfig {
  checkKeys(lint as Record<string, unknown>, `${configFile ?? 'config'} (lint)`, LINT_KEYS);
  if (lint.dialect !== undefined && lint.dialect !== 'postgres' && lint.dialect !== 'sqlite') {
    throw new CairnError('CONFIG', `lint.dialect must be "postgres" or "sqlite", got "${String(lint.dialect)}"`);
  }
  for (const [rule, level] of Object.entries(lint.rules ?? {})) {
    if (!['error', 'warning', 'off'].includes(level)) throw new CairnError('CONFIG', `lint.rules["${rule}"] must be "error", "warning" or "off", got "${String(level)}"`);
  }
  if (lint.header !== undefined && lint.header !== 'opt-in' && lint.header !== 'required') {
    throw new CairnError('CONFIG', `lint.header must be "opt-in" or "required", got "${String(lint.header)}"`);
  }
  return {
    dialect: lint.dialect ?? (database.scheme === 'postgres' || database.scheme === 'pglite' ? 'postgres' : 'sqlite'),
    postgresVersion: lint.postgresVersion ?? 15,
    sqliteVersion: lint.sqliteVersion ?? null,
    d1: lint.d1 ?? database.scheme === 'd1',
    rules: lint.rules ?? {},
    header: lint.header ?? 'opt-in',
  };
}

function findConfigFile(cwd: string, explicit: string | undefined): string | null {
  if (explicit) {
    const path = resolve(cwd, explicit);
    if (!existsSync(path)) throw new CairnError('CONFIG', `config file ${explicit} does not exist`, { hint: 'check the --config path, or run `cairn init` to create one' });
    return path;
  }
  return CONFIG_FILES.map((name) => resolve(cwd, name)).find((path) => existsSync(path)) ?? null;
}

async function loadConfigFile(path: string): Promise<CairnConfig> {
  let loaded: unknown;
  try {
    loaded = await importConfig(path);
  } catch (error) {
    throw new CairnError('CONFIG', `${path} could not be loaded: ${redactUrl((error as Error).message)}`, {
      hint: 'fix the error above; the file must `export default defineConfig({ ... })`',
      cause: error,
    });
  }
  if (typeof loaded !== 'object' || loaded === null || Array.isArray(loaded)) {
    throw new CairnError('CONFIG', `${path} must export an object as default`, { hint: "export default defineConfig({ database: 'sqlite:cairn.db' })" });
  }
  checkKeys(loaded as Record<string, unknown>, path, KNOWN_KEYS);
  return loaded as CairnConfig;
}

function pickEnvironment(config: CairnConfig, name: string, configFile: string | null): EnvironmentConfig {
  const environments = config.environments ?? {};
  const chosen = environments[name];
  if (!chosen) {
    const known = Object.keys(environments);
    throw new CairnError('CONFIG', `environment "${name}" is not defined${configFile ? ` in ${configFile}` : ' (there is no config file)'}`, {
      hint: known.length > 0 ? `defined environments: ${known.join(', ')}` : 'add it under `environments` in cairn.config.ts',
    });
  }
  checkKeys(chosen as Record<string, unknown>, `${configFile} (environment ${name})`, [...KNOWN_KEYS.filter((k) => k !== 'environments'), ...ENVIRONMENT_KEYS]);
  return chosen;
}

function resolveEnvironment(config: CairnConfig, name: string, configFile: string | null): EnvironmentSettings {
  const environments = config.environments ?? {};
  const chosen = environments[name]!;
  const where = `${configFile} (environment ${name})`;
  if (chosen.protected !== undefined && typeof chosen.protected !== 'boolean') throw new CairnError('CONFIG', `${where}: protected must be true or false`);
  if (chosen.follows === name) throw new CairnError('CONFIG', `${where}: an environment cannot follow itself`, { hint: 'production follows qa: name the environment migrations must reach first' });
  // Walk the chain: every link must exist, and it must end rather than loop.
  const chain = [name];
  for (let current = chosen.follows; current !== undefined; current = environments[current]?.follows) {
    if (typeof current !== 'string' || !environments[current]) {
      throw new CairnError('CONFIG', `${configFile} (environment ${chain.at(-1)}): follows "${String(current)}", which is not a defined environment`, {
        hint: `defined environments: ${Object.keys(environments).join(', ')}`,
      });
    }
    if (chain.includes(current)) {
      throw new CairnError('CONFIG', `${where}: "follows" goes round in a circle: ${[...chain, current].join(' → ')}`, { hint: 'the first environment in the chain (usually qa or staging) follows nothing' });
    }
    chain.push(current);
  }
  if (chosen.confirmContract !== undefined && typeof chosen.confirmContract !== 'boolean') throw new CairnError('CONFIG', `${where}: confirmContract must be true or false`);
  const contractAfterMs = chosen.contractAfter === undefined ? null : parseDuration(chosen.contractAfter);
  if (contractAfterMs === undefined) throw new CairnError('CONFIG', `${where}: contractAfter must be a duration such as '24h', '30m' or '2d', got ${JSON.stringify(chosen.contractAfter)}`);
  return { name, protected: chosen.protected ?? false, follows: chosen.follows ?? null, healthCheck: resolveHealthCheck(chosen.healthCheck, where), contractAfterMs, confirmContract: chosen.confirmContract ?? false };
}

/** statementLockTimeout / Retries / Backoff (docs/rules/require-lock-timeout.md); null when turned off. */
function resolveStatementLock(config: EnvironmentConfig): StatementLockConfig | null {
  const setting = config.statementLockTimeout ?? '5s';
  const timeoutMs = setting === false || setting === '0' ? 0 : parseDuration(setting);
  if (timeoutMs === undefined) {
    throw new CairnError('CONFIG', `statementLockTimeout must be a duration such as '5s' or '500ms', or false to turn it off, got ${JSON.stringify(setting)}`);
  }
  const retries = config.statementLockRetries ?? 3;
  if (!Number.isInteger(retries) || retries < 0) throw new CairnError('CONFIG', `statementLockRetries must be a whole number >= 0, got ${JSON.stringify(retries)}`);
  const backoffMs = parseDuration(config.statementLockBackoff ?? '1s');
  if (backoffMs === undefined) throw new CairnError('CONFIG', `statementLockBackoff must be a duration such as '1s' or '500ms', got ${JSON.stringify(config.statementLockBackoff)}`);
  return timeoutMs === 0 ? null : { timeoutMs, retries, backoffMs };
}

/** '24h', '30m', '90s', '2d' → milliseconds; undefined when it is not one. */
function parseDuration(text: unknown): number | undefined {
  const match = typeof text === 'string' ? /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text.trim()) : null;
  if (!match) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(match[1]) * unit);
}

function resolveHealthCheck(check: EnvironmentConfig['healthCheck'], where: string): HealthCheck | null {
  if (check === undefined) return null;
  if (typeof check === 'object' && check !== null) checkKeys(check as unknown as Record<string, unknown>, `${where} (healthCheck)`, ['url', 'timeout', 'expectStatus']);
  const { url, timeout = 10, expectStatus } = typeof check === 'string' ? { url: check } : check;
  if (typeof url !== 'string' || !/^https?:\/\/[^/]/i.test(url) || !URL.canParse(url)) {
    throw new CairnError('CONFIG', `${where}: healthCheck needs an http(s) URL, got ${redactUrl(String(url))}`, { hint: "healthCheck: 'https://app.example.com/health' or { url, timeout: 10, expectStatus: 200 }" });
  }
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) throw new CairnError('CONFIG', `${where}: healthCheck.timeout must be a number of seconds > 0, got ${String(timeout)}`);
  if (expectStatus !== undefined && (!Number.isInteger(expectStatus) || expectStatus < 100 || expectStatus > 599)) {
    throw new CairnError('CONFIG', `${where}: healthCheck.expectStatus must be an HTTP status (100–599), got ${String(expectStatus)}`);
  }
  return { url, timeoutMs: Math.round(timeout * 1000), expectStatus: expectStatus ?? null };
}

function checkKeys(object: Record<string, unknown>, where: string, known: readonly string[]): void {
  const unknown = Object.keys(object).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    throw new CairnError('CONFIG', `${where}: unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}`, {
      hint: `known settings: ${known.join(', ')}`,
    });
  }
}

async function importConfig(path: string): Promise<unknown> {
  if (path.endsWith('.json')) return JSON.parse(readFileSync(path, 'utf8'));
  // jiti compiles TypeScript (and caches the result), and maps `import … from 'cairn-migrate'`
  // (and the older `'cairn'`) to this very copy, so the config works under npx or a global install too.
  const { createJiti } = await import('jiti');
  const self = selfEntry();
  return createJiti(import.meta.url, { alias: { 'cairn-migrate': self, cairn: self } }).import(path, { default: true });
}

function selfEntry(): string {
  const built = fileURLToPath(new URL('../index.js', import.meta.url));
  return existsSync(built) ? built : built.replace(/\.js$/, '.ts');
}

/** An environment's health check, resolved from its config. */
export interface HealthCheck {
  /** As configured; may carry credentials, so print `redactUrl(url)` only. */
  readonly url: string;
  readonly timeoutMs: number;
  /** Null: any 2xx is healthy. */
  readonly expectStatus: number | null;
}
