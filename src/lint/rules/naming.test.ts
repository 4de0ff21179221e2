import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { naming } from './naming.js';

const previous = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n';
const createTeams = 'CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n';

describe.each(['postgres', 'sqlite'] as const)('naming [%s]', (dialect) => {
  const lint = (fileName: string, sql = createTeams) => findingsFor(sql, { dialect, previous, rules: [naming], fileName });

  it('flags a name without a verb and suggests one from the first statement', async () => {
    const findings = await lint('0057_teams.sql');
    expect(brief(findings)).toEqual(['naming@1']);
    expect(findings[0]).toMatchObject({ severity: 'warning', message: expect.stringContaining('"teams" has a single word'), help: expect.stringContaining('0057_create_teams.sql') });
  });

  it('accepts NNNN_verb_object names, also with timestamp versions', async () => {
    expect(await lint('0057_create_teams.sql')).toEqual([]);
    expect(await lint('20240115_001_Create_teams.sql')).toEqual([]);
    expect(await lint('0058_add_phone_to_users.sql', 'ALTER TABLE users ADD COLUMN phone TEXT;\n')).toEqual([]);
  });

  it('flags several words that do not start with a verb', async () => {
    const findings = await lint('0058_user_phone.sql', 'ALTER TABLE users ADD COLUMN phone TEXT;\n');
    expect(findings[0]).toMatchObject({ message: expect.stringContaining('does not start with a verb ("user")'), help: expect.stringContaining('0058_add_user_phone.sql') });
  });

  it('flags a verb alone, and words joined without "_"', async () => {
    const alone = await lint('0059_drop.sql', 'DROP TABLE users;\n');
    expect(alone[0]!.help).toContain('0059_drop_users.sql');
    const dashed = await lint('0060_add-phone-to-users.sql', 'ALTER TABLE users ADD COLUMN phone TEXT;\n');
    expect(dashed[0]!.help).toContain('0060_add_phone_to_users.sql');
    const camel = await lint('0061_addPhoneToUsers.sql', 'ALTER TABLE users ADD COLUMN phone TEXT;\n');
    expect(camel[0]!.help).toContain('0061_add_phone_to_users.sql');
  });

  it('suggests init_schema for a bare first-migration name', async () => {
    const findings = await findingsFor(createTeams, { dialect, rules: [naming], fileName: '0001_init.sql' });
    expect(findings[0]!.help).toContain('0001_init_schema.sql');
  });
});
