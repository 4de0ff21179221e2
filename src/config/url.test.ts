import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl, redactUrl } from './url.js';

describe('database URLs', () => {
  it('reads SQLite URLs and bare paths relative to the project', () => {
    expect(parseDatabaseUrl('sqlite:data/app.db', '/proj')).toMatchObject({ scheme: 'sqlite', path: '/proj/data/app.db', display: 'sqlite:data/app.db' });
    expect(parseDatabaseUrl('sqlite:///var/app.db', '/proj')).toMatchObject({ scheme: 'sqlite', path: '/var/app.db' });
    expect(parseDatabaseUrl('app.sqlite', '/proj')).toMatchObject({ scheme: 'sqlite', path: '/proj/app.sqlite' });
    expect(parseDatabaseUrl(':memory:', '/proj')).toMatchObject({ scheme: 'sqlite', path: ':memory:' });
  });

  it('reads PostgreSQL URLs and never shows their password', () => {
    const url = parseDatabaseUrl('postgres://app:s3cr%40t@db.internal:5432/app', '/proj');
    expect(url).toMatchObject({ scheme: 'postgres', display: 'postgres://app:***@db.internal:5432/app' });
    expect(url.scheme === 'postgres' && url.secrets).toEqual(['s3cr%40t', 's3cr@t']);
    expect(parseDatabaseUrl('postgresql://app@db/app', '/proj')).toMatchObject({ scheme: 'postgres', display: 'postgresql://app@db/app' });
  });

  it('takes ?schema= out of a PostgreSQL URL: the driver runs with that search_path, pg never sees the option', () => {
    const url = parseDatabaseUrl('postgres://app:pw@db/app?sslmode=disable&schema=tenant_7', '/proj');
    expect(url).toMatchObject({ scheme: 'postgres', schema: 'tenant_7', url: 'postgres://app:pw@db/app?sslmode=disable', display: 'postgres://app:***@db/app?sslmode=disable&schema=tenant_7' });
    expect(parseDatabaseUrl('postgres://app@db/app', '/proj')).not.toHaveProperty('schema');
    expect(() => parseDatabaseUrl('postgres://app@db/app?schema=', '/proj')).toThrow(/empty \?schema=/);
  });

  it('rejects unknown schemes and empty input with a hint', () => {
    expect(() => parseDatabaseUrl('mysql://root@localhost/db', '/proj')).toThrow(/unsupported database URL scheme "mysql:"/);
    expect(() => parseDatabaseUrl('  ', '/proj')).toThrow(/empty/);
  });

  it('redacts passwords anywhere in a text', () => {
    expect(redactUrl('cannot reach postgres://u:pw@h/db and mysql://r:x@h')).toBe('cannot reach postgres://u:***@h/db and mysql://r:***@h');
    expect(redactUrl('host=h password=hunter2 user=u')).toBe('host=h password=*** user=u');
    expect(redactUrl('sqlite:app.db')).toBe('sqlite:app.db');
  });
});
