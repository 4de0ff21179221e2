import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/databases.js';
import { CairnError } from '../errors.js';
import { resolveConfig } from './load.js';
import { findWranglerConfig, readWranglerConfig, resolveD1 } from './wrangler.js';

const TOML = `name = "shop"
main = "src/index.ts"
account_id = "acc-top"

[[d1_databases]]
binding = "DB"
database_name = "shop-dev"
database_id = "id-dev"
migrations_dir = "db/migrations"

[[d1_databases]]
binding = "ANALYTICS"
database_name = "analytics"
database_id = "id-analytics"
migrations_table = "analytics_migrations"

[env.qa]
name = "shop-qa"

[[env.qa.d1_databases]]
binding = "DB"
database_name = "shop-qa"
database_id = "id-qa"
preview_database_id = "id-qa-preview"

[env.production]
account_id = "acc-prod"

[[env.production.d1_databases]]
binding = "DB"
database_name = "shop-prod"
database_id = "id-prod"

[env.staging]
vars = { A = "1" }
`;

const JSONC = `{
  // wrangler.jsonc, as \`npm create cloudflare\` writes it
  "name": "shop",
  "d1_databases": [
    {
      "binding": "DB", /* the Worker's env.DB */
      "database_name": "shop-dev",
      "database_id": "id-dev",
    },
  ],
  "env": { "qa": { "d1_databases": [{ "binding": "DB", "database_id": "id-qa" }] } },
}
`;

function project(files: Record<string, string>): string {
  const root = tempDir();
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return root;
}

function errorOf(work: () => unknown): CairnError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(CairnError);
    return error as CairnError;
  }
  throw new Error('expected a CairnError');
}

async function rejection(work: Promise<unknown>): Promise<CairnError> {
  const error = await work.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(CairnError);
  return error as CairnError;
}

describe('reading wrangler config', () => {
  it('reads d1_databases from wrangler.toml, top level and per [env.*], with wrangler defaults', () => {
    const root = project({ 'wrangler.toml': TOML });
    const config = readWranglerConfig(join(root, 'wrangler.toml'));
    expect(config.top.accountId).toBe('acc-top');
    expect(config.top.bindings).toEqual([
      { binding: 'DB', databaseName: 'shop-dev', databaseId: 'id-dev', previewDatabaseId: null, migrationsDir: join(root, 'db/migrations'), migrationsPattern: null, migrationsTable: 'd1_migrations', line: 6 },
      { binding: 'ANALYTICS', databaseName: 'analytics', databaseId: 'id-analytics', previewDatabaseId: null, migrationsDir: join(root, 'migrations'), migrationsPattern: null, migrationsTable: 'analytics_migrations', line: 12 },
    ]);
    expect(config.environments.qa!.bindings![0]).toMatchObject({ databaseId: 'id-qa', previewDatabaseId: 'id-qa-preview', line: 21 });
    // account_id is inherited by environments; d1_databases is not.
    expect(config.environments.qa!.accountId).toBe('acc-top');
    expect(config.environments.production!.accountId).toBe('acc-prod');
    expect(config.environments.staging!.bindings).toBeNull();
  });

  it('reads wrangler.jsonc with comments and trailing commas, and wrangler.json the same way', () => {
    const root = project({ 'wrangler.jsonc': JSONC });
    const config = readWranglerConfig(join(root, 'wrangler.jsonc'));
    expect(config.top.bindings![0]).toMatchObject({ binding: 'DB', databaseId: 'id-dev', line: 6 });
    expect(config.environments.qa!.bindings![0]!.databaseId).toBe('id-qa');
    const json = project({ 'wrangler.json': JSON.stringify({ d1_databases: [{ binding: 'DB', database_id: 'x' }] }) });
    expect(readWranglerConfig(join(json, 'wrangler.json')).top.bindings![0]!.databaseId).toBe('x');
  });

  it("finds the file in wrangler's order: wrangler.json, then wrangler.jsonc, then wrangler.toml", () => {
    const root = project({ 'wrangler.toml': TOML, 'wrangler.jsonc': JSONC });
    expect(findWranglerConfig(root)).toBe(join(root, 'wrangler.jsonc'));
    writeFileSync(join(root, 'wrangler.json'), '{}');
    expect(findWranglerConfig(root)).toBe(join(root, 'wrangler.json'));
    expect(findWranglerConfig(project({}))).toBeNull();
  });

  it('names the file and line of a syntax error', () => {
    const toml = project({ 'wrangler.toml': 'name = "x"\n[[d1_databases]\nbinding = "DB"\n' });
    expect(errorOf(() => readWranglerConfig(join(toml, 'wrangler.toml'))).message).toMatch(/wrangler\.toml:2:\d+: /);
    const jsonc = project({ 'wrangler.jsonc': '{\n  "name": "x"\n  "d1_databases": []\n}\n' });
    const error = errorOf(() => readWranglerConfig(join(jsonc, 'wrangler.jsonc')));
    expect(error.code).toBe('CONFIG');
    expect(error.message).toMatch(/wrangler\.jsonc:3: CommaExpected/);
  });
});

describe('resolving --d1 to a database', () => {
  const vars = {};

  it('maps a binding to its local database, migrations_dir and wrangler table', () => {
    const root = project({ 'wrangler.toml': TOML });
    const resolved = resolveD1({ binding: 'DB', env: null, remote: false, persistTo: null }, root, vars);
    expect(resolved).toEqual({
      url: 'd1://local/id-dev',
      migrationsDir: join(root, 'db/migrations'),
      migrationsPattern: null,
      table: 'd1_migrations',
      source: { file: join(root, 'wrangler.toml'), binding: 'DB', environment: null, databaseName: 'shop-dev', remote: false },
    });
    // wrangler also accepts the database_name
    expect(resolveD1({ binding: 'analytics', env: null, remote: false, persistTo: null }, root, vars).table).toBe('analytics_migrations');
  });

  it("uses wrangler's local id (preview_database_id first) and --persist-to", () => {
    const root = project({ 'wrangler.toml': TOML });
    expect(resolveD1({ binding: 'DB', env: 'qa', remote: false, persistTo: null }, root, vars).url).toBe('d1://local/id-qa-preview');
    expect(resolveD1({ binding: 'DB', env: null, remote: false, persistTo: join(root, 'state') }, root, vars).url).toBe('d1://local/id-dev?persist=state');
  });

  it('points --remote at the account and database id', () => {
    const root = project({ 'wrangler.toml': TOML });
    expect(resolveD1({ binding: 'DB', env: 'production', remote: true, persistTo: null }, root, vars).url).toBe('d1://acc-prod/id-prod');
    const noAccount = project({ 'wrangler.toml': '[[d1_databases]]\nbinding = "DB"\ndatabase_id = "abc"\n' });
    expect(resolveD1({ binding: 'DB', env: null, remote: true, persistTo: null }, noAccount, { CLOUDFLARE_ACCOUNT_ID: 'acc-env' }).url).toBe('d1://remote/abc');
    const error = errorOf(() => resolveD1({ binding: 'DB', env: null, remote: true, persistTo: null }, noAccount, {}));
    expect(error.message).toContain('no account_id and CLOUDFLARE_ACCOUNT_ID is not set');
    const noId = project({ 'wrangler.toml': 'account_id = "a"\n\n[[d1_databases]]\nbinding = "DB"\n' });
    const missingId = errorOf(() => resolveD1({ binding: 'DB', env: null, remote: true, persistTo: null }, noId, {}));
    expect(missingId.message).toMatch(/wrangler\.toml:4: binding DB has no database_id/);
    expect(missingId.hint).toContain('npx wrangler d1 create');
  });

  it('lists the known bindings when the one asked for does not exist', () => {
    const root = project({ 'wrangler.toml': TOML });
    const error = errorOf(() => resolveD1({ binding: 'USERS', env: null, remote: false, persistTo: null }, root, vars));
    expect(error.message).toBe(`${join(root, 'wrangler.toml')}: no D1 binding "USERS"`);
    expect(error.hint).toBe('D1 bindings there: DB (shop-dev), ANALYTICS (analytics)');
  });

  it('says that wrangler does not inherit d1_databases into an [env.*] section', () => {
    const root = project({ 'wrangler.toml': TOML });
    const error = errorOf(() => resolveD1({ binding: 'DB', env: 'staging', remote: false, persistTo: null }, root, vars));
    expect(error.message).toBe(`${join(root, 'wrangler.toml')}:34: [env.staging] has no d1_databases`);
    expect(error.hint).toContain('wrangler does not inherit d1_databases into [env.*] sections (DB is only defined at the top level): add [[env.staging.d1_databases]]');
    const unknown = errorOf(() => resolveD1({ binding: 'DB', env: 'prod', remote: false, persistTo: null }, root, vars));
    expect(unknown.message).toContain('there is no [env.prod] section');
    expect(unknown.hint).toBe('environments in wrangler.toml: qa, production, staging');
  });

  it('says where to run when there is no wrangler config', () => {
    const error = errorOf(() => resolveD1({ binding: 'DB', env: null, remote: false, persistTo: null }, project({}), vars));
    expect(error.message).toMatch(/--d1 DB: no wrangler config in .* \(looked for wrangler\.json, wrangler\.jsonc, wrangler\.toml\)/);
  });
});

describe('cairn config with a D1 binding', () => {
  it('--d1 DB sets the database, migrations directory, D1 lint defaults and the wrangler table', async () => {
    const root = project({ 'wrangler.toml': TOML });
    const config = await resolveConfig({ cwd: root, d1: 'DB', envVars: {} });
    expect(config.databaseSource).toBe('wrangler');
    expect(config.database).toMatchObject({ scheme: 'd1', d1: { kind: 'local', databaseId: 'id-dev', persistDir: join(root, '.wrangler/state') } });
    expect(config.migrationsDir).toBe(join(root, 'db/migrations'));
    expect(config.lint).toMatchObject({ dialect: 'sqlite', d1: true });
    expect(config.wranglerTable).toEqual({ name: 'd1_migrations', create: true });
    expect(config.wrangler).toMatchObject({ binding: 'DB', environment: null, remote: false });
    expect(config.table).toBe('cairn_migrations');
  });

  it("--env qa reads wrangler's [env.qa] when cairn.config has no environment qa", async () => {
    const root = project({ 'wrangler.toml': TOML });
    const config = await resolveConfig({ cwd: root, d1: 'DB', env: 'qa', envVars: {} });
    expect(config.database).toMatchObject({ d1: { databaseId: 'id-qa-preview' } });
    expect(config.wrangler).toMatchObject({ environment: 'qa' });
    expect(config.environmentSettings).toBeNull();
    // Without a binding, an unknown --env is still an error.
    expect((await rejection(resolveConfig({ cwd: root, env: 'qa', envVars: {} }))).message).toContain('environment "qa" is not defined');
  });

  it('reads `d1` from cairn.config, per environment too; --url still wins', async () => {
    const root = project({
      'wrangler.toml': TOML,
      'cairn.config.json': JSON.stringify({ d1: 'DB', migrations: 'sql', environments: { prod: { d1: { binding: 'DB', env: 'production', remote: true } } } }),
    });
    // Cairn and wrangler must read one directory: a `migrations` that disagrees with migrations_dir is refused.
    const disagree = await rejection(resolveConfig({ cwd: root, envVars: {} }));
    expect(disagree.message).toBe(`${join(root, 'cairn.config.json')} sets migrations: 'sql', but wrangler.toml's binding DB reads its migrations from db/migrations`);
    writeFileSync(join(root, 'cairn.config.json'), JSON.stringify({ d1: 'DB', environments: { prod: { d1: { binding: 'DB', env: 'production', remote: true } } } }));
    const local = await resolveConfig({ cwd: root, envVars: {} });
    expect(local.database).toMatchObject({ d1: { databaseId: 'id-dev' } });
    expect(local.migrationsDir).toBe(join(root, 'db/migrations'));
    expect((await resolveConfig({ cwd: root, dir: 'other', envVars: {} })).migrationsDir).toBe(join(root, 'other'));
    const prod = await resolveConfig({ cwd: root, env: 'prod', envVars: {} });
    expect(prod.database).toMatchObject({ d1: { kind: 'remote', accountId: 'acc-prod', databaseId: 'id-prod' } });
    expect(prod.migrationsDir).toBe(join(root, 'migrations')); // [env.production]'s binding has no migrations_dir
    const url = await resolveConfig({ cwd: root, url: 'sqlite:app.db', envVars: {} });
    expect(url).toMatchObject({ databaseSource: 'flag', wrangler: null, wranglerTable: { name: 'd1_migrations', create: false } });
    // DATABASE_URL beats the file's d1, as it beats the file's database
    expect((await resolveConfig({ cwd: root, envVars: { DATABASE_URL: 'sqlite:x.db' } })).databaseSource).toBe('DATABASE_URL');
  });

  it('refuses --remote without a binding, and a scope with both database and d1', async () => {
    const root = project({ 'wrangler.toml': TOML });
    expect((await rejection(resolveConfig({ cwd: root, remote: true, envVars: {} }))).message).toBe('--remote applies to a D1 binding');
    const both = project({ 'wrangler.toml': TOML, 'cairn.config.json': JSON.stringify({ d1: 'DB', database: 'sqlite:x.db' }) });
    expect((await rejection(resolveConfig({ cwd: both, envVars: {} }))).message).toContain('sets both "database" and "d1"');
    const bad = project({ 'wrangler.toml': TOML, 'cairn.config.json': JSON.stringify({ d1: { binding: 'DB', remote: 'yes' } }) });
    expect((await rejection(resolveConfig({ cwd: bad, envVars: {} }))).message).toContain('d1.remote must be true or false');
  });
});
