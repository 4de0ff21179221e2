import { describe, expect, it } from 'vitest';
import { brief, findingsFor } from '../../../test/support/lint.js';
import { batchDirective } from './batch-directive.js';

const previous = 'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, email_lower TEXT);\nCREATE TABLE orgs (id INTEGER PRIMARY KEY);\n';

describe.each(['postgres', 'sqlite'] as const)('batch-directive [%s]', (dialect) => {
  const options = { dialect, previous, rules: [batchDirective] };

  it('accepts a batch before a single-table UPDATE or DELETE', async () => {
    const sql = '-- cairn:batch size=500 pause=10ms\nUPDATE users SET email_lower = lower(email) WHERE email_lower IS NULL;\n-- cairn:batch\nDELETE FROM users WHERE email IS NULL;\n';
    expect(await findingsFor(sql, options)).toEqual([]);
  });

  it('flags a batch before a statement it cannot run in batches', async () => {
    const sql = '-- cairn:batch size=500\nINSERT INTO orgs (id) VALUES (1);\n';
    const findings = await findingsFor(sql, options);
    expect(brief(findings)).toEqual(['batch-directive@2']);
    expect(findings[0]!.message).toContain('is not an UPDATE or DELETE');
  });

  it('flags an UPDATE that reads another table, and malformed options', async () => {
    const sql = '-- cairn:batch size=0\nUPDATE users SET email = NULL WHERE id > 0;\n-- cairn:batch\nUPDATE users SET email = NULL FROM orgs WHERE orgs.id = users.id;\n';
    const findings = await findingsFor(sql, options);
    expect(findings.map((f) => f.message)).toEqual([expect.stringContaining('batch size must be a positive whole number'), expect.stringContaining('reads other tables (FROM …)')]);
  });
});
