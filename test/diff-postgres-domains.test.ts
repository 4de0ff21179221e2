import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUnavailable, REQUIRE_PG, runCli, tempDir, writeMigrations } from './support/databases.js';
import { createPgDatabase, pgSchemaOf, pgSchemaOfSql, type PgTestDatabase, dropKeptDiffDatabases } from './support/postgres-diff.js';

/**
 * cairn diff on PostgreSQL with domains, on a real server, end to end: a new
 * domain and a dropped one, a CHECK added NOT VALID and validated in a later
 * file, defaults and NOT NULL set and dropped; the files lint and verify
 * clean, apply with `cairn up` with every row kept, and go back down. A
 * change of base type is refused with what to write by hand.
 */
const INIT = `-- Migration: create accounts
-- Type: additive
-- Rollback: drops them

-- migrate:up
CREATE DOMAIN email_address AS text;
CREATE DOMAIN amount AS numeric(12,2) DEFAULT 0 NOT NULL;
CREATE DOMAIN nickname AS text CONSTRAINT nickname_short CHECK (length(VALUE) <= 40);
CREATE DOMAIN legacy_code AS integer;
CREATE TABLE accounts (id bigint PRIMARY KEY, email email_address, balance amount, nick nickname, code legacy_code);

-- migrate:down
DROP TABLE accounts;
DROP DOMAIN legacy_code;
DROP DOMAIN nickname;
DROP DOMAIN amount;
DROP DOMAIN email_address;
`;

/** email_address gets a CHECK and NOT NULL; amount loses its default and NOT NULL; nickname gets a default; legacy_code goes (with its column); country_code is new, for a new table. */
const DESIRED = `CREATE DOMAIN email_address AS text NOT NULL CONSTRAINT email_has_at CHECK (VALUE LIKE '%@%');
CREATE DOMAIN amount AS numeric(12,2);
CREATE DOMAIN nickname AS text DEFAULT 'anonymous' CONSTRAINT nickname_short CHECK (length(VALUE) <= 40);
CREATE DOMAIN country_code AS char(2) CONSTRAINT country_upper CHECK (VALUE = upper(VALUE));
CREATE TABLE accounts (id bigint PRIMARY KEY, email email_address, balance amount, nick nickname);
CREATE TABLE offices (id integer PRIMARY KEY, country country_code);
`;

const ROWS = "INSERT INTO accounts (id, email, balance, nick, code) VALUES (1, 'ada@example.com', 10.5, 'ada', 7), (2, 'bob@example.com', 0, NULL, NULL)";
const CONTENT = 'SELECT string_agg(concat_ws(\':\', id, email, balance, nick), \',\' ORDER BY id) AS accounts FROM accounts';

let skip: string | null = null;
/** The temporary projects: what cairn diff kept on the server for them is dropped after the file. */
const roots: string[] = [];
afterAll(async () => {
  if (!skip) await dropKeptDiffDatabases(roots);
});

describe('cairn diff on PostgreSQL: domains (CLI, real server)', { timeout: 120_000 }, () => {
  beforeAll(async () => {
    skip = await postgresUnavailable();
    if (skip && REQUIRE_PG) throw new Error(`PostgreSQL is required (CAIRN_REQUIRE_PG=1) but unreachable: ${skip}`);
  });

  const cli = (root: string, db: PgTestDatabase, ...args: string[]) => runCli([...args, '--url', db.url], { cwd: root });
  const project = async (desired: string) => {
    const db = await createPgDatabase();
    const root = tempDir();
    roots.push(root);
    writeMigrations(root, { '0001_create_accounts.sql': INIT });
    writeFileSync(join(root, 'schema.sql'), desired);
    expect(cli(root, db, 'up').status).toBe(0);
    await db.query(ROWS);
    return { db, root };
  };
  const files = (root: string) => readdirSync(join(root, 'migrations')).sort();
  const read = (root: string, file: string) => readFileSync(join(root, 'migrations', file), 'utf8');

  it('creates, alters and drops domains in the safe forms; the files lint and verify clean, apply with every row kept, and go back down', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const { db, root } = await project(DESIRED);
    try {
      const before = await db.query<Record<string, string>>(CONTENT);
      const old = await pgSchemaOf(db.url);
      const result = cli(root, db, 'diff', 'change_domains', '--to', 'schema.sql', '--allow-drop', '--reason', 'legacy codes are unused');
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(files(root)).toEqual(['0001_create_accounts.sql', '0002_change_domains.sql', '0003_change_domains_validate.sql']);
      for (const change of ['create-domain country_code', 'drop-domain legacy_code', 'add-domain-check email_address.email_has_at', 'set-domain-not-null email_address', 'drop-domain-default amount', 'drop-domain-not-null amount', 'set-domain-default nickname']) {
        expect(result.stdout).toContain(change);
      }

      const main = read(root, '0002_change_domains.sql');
      expect(main).toContain('CREATE DOMAIN country_code AS character(2) CONSTRAINT "country_upper" CHECK (((VALUE)::text = upper((VALUE)::text)));');
      expect(main).toContain(`ALTER DOMAIN email_address ADD CONSTRAINT "email_has_at" CHECK ((VALUE ~~ '%@%'::text)) NOT VALID;`);
      expect(main).toContain('ALTER DOMAIN amount DROP DEFAULT;');
      expect(main).toContain('ALTER DOMAIN amount DROP NOT NULL;');
      expect(main).toContain("ALTER DOMAIN nickname SET DEFAULT 'anonymous'::text;");
      expect(main).toContain('DROP DOMAIN legacy_code;');
      // The domain goes after the column that uses it; the down brings it back first.
      expect(main.indexOf('DROP COLUMN code')).toBeLessThan(main.indexOf('DROP DOMAIN legacy_code'));
      expect(main.split('-- migrate:down')[0]).not.toMatch(/VALIDATE|SET NOT NULL/);
      const validate = read(root, '0003_change_domains_validate.sql');
      expect(validate).toContain('ALTER DOMAIN email_address VALIDATE CONSTRAINT "email_has_at";');
      expect(validate).toContain('ALTER DOMAIN email_address SET NOT NULL;');

      const lint = JSON.parse(cli(root, db, 'lint', '--json').stdout) as { files: { file: string; findings: { severity: string; rule: string }[] }[] };
      expect(lint.files.flatMap((f) => f.findings.filter((x) => x.severity === 'error').map((x) => `${f.file} ${x.rule}`))).toEqual([]);
      const verified = cli(root, db, 'verify');
      expect(verified.stdout + verified.stderr).toContain('All 3 migrations verified');
      expect(verified.status).toBe(0);

      const up = cli(root, db, 'up');
      expect(up.stderr).toContain('backed up accounts (2 rows)'); // the dropped column's data, before the destructive file
      expect(up.status).toBe(0);
      expect(await pgSchemaOf(db.url)).toEqual(await pgSchemaOfSql(DESIRED));
      expect(await db.query(CONTENT)).toEqual(before);
      await expect(db.query("INSERT INTO accounts (id, email) VALUES (3, 'no-at-sign')")).rejects.toThrow(/email_has_at/);
      await expect(db.query("INSERT INTO offices (id, country) VALUES (1, 'fr')")).rejects.toThrow(/country_upper/);
      expect(cli(root, db, 'diff', 'again', '--to', 'schema.sql', '--from-db').stdout).toContain('No changes');

      const down = cli(root, db, 'down', '--to', '0001');
      expect(down.stderr).toBe('');
      expect(down.status).toBe(0);
      expect(await pgSchemaOf(db.url)).toEqual(old);
    } finally {
      await db.drop();
    }
  });

  it('a CHECK added to a domain that rows already break: the validate file fails and the NOT VALID check stays', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const desired = INIT.split('-- migrate:up\n')[1]!.split('\n\n')[0]!.replace('CREATE DOMAIN email_address AS text;', "CREATE DOMAIN email_address AS text CONSTRAINT email_has_at CHECK (VALUE LIKE '%@%');");
    const { db, root } = await project(desired);
    try {
      await db.query("INSERT INTO accounts (id, email) VALUES (3, 'not-an-address')");
      expect(cli(root, db, 'diff', 'check_emails', '--to', 'schema.sql').status).toBe(0);
      expect(files(root)).toEqual(['0001_create_accounts.sql', '0002_check_emails.sql', '0003_check_emails_validate.sql']);
      const up = cli(root, db, 'up');
      expect(up.status).not.toBe(0);
      expect(up.stdout + up.stderr).toMatch(/0003_check_emails_validate[\s\S]*email_has_at/);
      // New values are checked already; fixing the row lets the validation through.
      await expect(db.query("INSERT INTO accounts (id, email) VALUES (4, 'still-not')")).rejects.toThrow(/email_has_at/);
      await db.query("UPDATE accounts SET email = 'fixed@example.com' WHERE id = 3");
      expect(cli(root, db, 'up').status).toBe(0);
      expect(await pgSchemaOf(db.url)).toEqual(await pgSchemaOfSql(desired));
    } finally {
      await db.drop();
    }
  });

  it('a new column of a domain with a CHECK rewrites its table (PostgreSQL checks every row): refused unless --allow-rewrite', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const desired = INIT.split('-- migrate:up\n')[1]!.split('\n\n')[0]!.replace('code legacy_code)', 'code legacy_code, nick2 nickname)');
    const { db, root } = await project(desired);
    try {
      const refused = cli(root, db, 'diff', 'add_nick2', '--to', 'schema.sql');
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain('the change rewrites accounts');
      expect(files(root)).toEqual(['0001_create_accounts.sql']);
      expect(cli(root, db, 'diff', 'add_nick2', '--to', 'schema.sql', '--allow-rewrite').status).toBe(0);
      expect(cli(root, db, 'up').status).toBe(0);
      expect(await pgSchemaOf(db.url)).toEqual(await pgSchemaOfSql(desired));
    } finally {
      await db.drop();
    }
  });

  it('a change of base type is an error naming the domain, the columns that use it and what to write by hand; nothing is written', async (context) => {
    if (skip) return context.skip(`PostgreSQL unavailable: ${skip}`);
    const desired = INIT.split('-- migrate:up\n')[1]!.split('\n\n')[0]!.replace('CREATE DOMAIN legacy_code AS integer;', 'CREATE DOMAIN legacy_code AS bigint;');
    const { db, root } = await project(desired);
    try {
      const refused = cli(root, db, 'diff', 'widen_code', '--to', 'schema.sql');
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain('domain legacy_code: its base type changes (integer → bigint)');
      expect(refused.stderr).toContain('CREATE DOMAIN legacy_code_new AS bigint');
      expect(refused.stderr).toContain('accounts.code');
      expect(refused.stderr).toContain('ALTER DOMAIN legacy_code_new RENAME TO legacy_code');
      expect(files(root)).toEqual(['0001_create_accounts.sql']);
    } finally {
      await db.drop();
    }
  });
});
