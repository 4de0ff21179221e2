import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CairnError } from '../core/errors.js';
import type { CairnConfig, EnvironmentConfig, LintConfig } from './define.js';
import { parseDatabaseUrl, redactUrl, type DatabaseUrl } from './url.js';

/** Everything a command needs to know, decided once: flags > --env > env vars > config file > defaults. */
export interface ResolvedConfig {
  /** The project directory: where the config file is, or the working directory. */
  readonly root: string;
  readonly configFile: string | null;
  readonly environment: string | null;
  readonly database: DatabaseUrl;
  /** Where the database URL came from, for "which database is this?" moments. */
  readonly databaseSource: 'flag' | 'environment' | 'DATABASE_URL' | 'config' | 'default';
  readonly migrationsDir: string;
  readonly table: string;
  readonly lockTimeoutMs: number;
  readonly allowOutOfOrder: boolean;
  readonly lint: ResolvedLintConfig;
}

export interface ResolvedLintConfig {
  readonly dialect: 'postgres' | 'sqlite';
  readonly postgresVersion: number;
  /** Null: the SQLite version Cairn runs with. */
  readonly sqliteVersion: string | null;
  readonly d1: boolean;
  readonly rules: Readonly<Record<string, 'error' | 'warning' | 'off'>>;
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
  /** Environment variables to read (DATABASE_URL, CAIRN_ENV); default process.env. */
  readonly envVars?: Readonly<Record<string, string | undefined>> | undefined;
}

export const CONFIG_FILES = ['cairn.config.ts', 'cairn.config.mts', 'cairn.config.js', 'cairn.config.mjs', 'cairn.config.json'];
export const DEFAULT_DATABASE = 'sqlite:cairn.db';
const KNOWN_KEYS = ['database', 'migrations', 'table', 'lockTimeout', 'allowOutOfOrder', 'lint', 'environments'];
const LINT_KEYS = ['dialect', 'postgresVersion', 'sqliteVersion', 'd1', 'rules'];

export async function resolveConfig(overrides: ConfigOverrides = {}): Promise<ResolvedConfig> {
  const cwd = resolve(overrides.cwd ?? process.cwd());
  const vars = overrides.envVars ?? process.env;
  const configFile = findConfigFile(cwd, overrides.config);
  const root = configFile ? dirname(configFile) : cwd;
  const file = configFile ? await loadConfigFile(configFile) : {};
  const environment = overrides.env ?? vars.CAIRN_ENV ?? null;
  const envConfig = environment ? pickEnvironment(file, environment, configFile) : {};
  const merged: EnvironmentConfig = { ...file, ...envConfig };

  const [databaseText, databaseSource] = overrides.url
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
  const database = parseDatabaseUrl(databaseText, root);
  return Object.freeze({
    root,
    configFile,
    environment,
    database,
    databaseSource,
    migrationsDir: overrides.dir ? resolve(cwd, overrides.dir) : resolve(root, merged.migrations ?? 'migrations'),
    table: overrides.table ?? merged.table ?? 'cairn_migrations',
    lockTimeoutMs: Math.round(lockTimeout * 1000),
    allowOutOfOrder: overrides.allowOutOfOrder ?? merged.allowOutOfOrder ?? false,
    lint: resolveLint(merged.lint ?? {}, database, configFile),
  });
}

function resolveLint(lint: LintConfig, database: DatabaseUrl, configFile: string | null): ResolvedLintConfig {
  checkKeys(lint as Record<string, unknown>, `${configFile ?? 'config'} (lint)`, LINT_KEYS);
  if (lint.dialect !== undefined && lint.dialect !== 'postgres' && lint.dialect !== 'sqlite') {
    throw new CairnError('CONFIG', `lint.dialect must be "postgres" or "sqlite", got "${String(lint.dialect)}"`);
  }
  for (const [rule, level] of Object.entries(lint.rules ?? {})) {
    if (!['error', 'warning', 'off'].includes(level)) throw new CairnError('CONFIG', `lint.rules["${rule}"] must be "error", "warning" or "off", got "${String(level)}"`);
  }
  return {
    dialect: lint.dialect ?? (database.scheme === 'postgres' ? 'postgres' : 'sqlite'),
    postgresVersion: lint.postgresVersion ?? 15,
    sqliteVersion: lint.sqliteVersion ?? null,
    d1: lint.d1 ?? false,
    rules: lint.rules ?? {},
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
  checkKeys(chosen as Record<string, unknown>, `${configFile} (environment ${name})`, KNOWN_KEYS.filter((k) => k !== 'environments'));
  return chosen;
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
  // jiti compiles TypeScript (and caches the result), and maps `import … from 'cairn'`
  // to this very copy, so the config works under npx or a global install too.
  const { createJiti } = await import('jiti');
  return createJiti(import.meta.url, { alias: { cairn: selfEntry() } }).import(path, { default: true });
}

function selfEntry(): string {
  const built = fileURLToPath(new URL('../index.js', import.meta.url));
  return existsSync(built) ? built : built.replace(/\.js$/, '.ts');
}
