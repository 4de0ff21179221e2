import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processIdentity } from '../src/drivers/lock-holder.js';
import { runCli, tempDir, writeMigrations } from './support/databases.js';

/**
 * The SQLite lock row left by a process on this host is judged by that process:
 * gone, or its pid now running another program (pids are reused), means the lock is
 * taken over at once; a live holder is waited for. Real processes, a real file.
 */

const USERS = '-- migrate:up\nCREATE TABLE users (id INTEGER PRIMARY KEY);\n-- migrate:down\nDROP TABLE users;\n';

/** A database whose lock row names `owner` and `pid` on this host, not expiring for 10 minutes. */
function lockedProject(owner: string, pid: number): string {
  const root = tempDir('cairn-sqlite-lock-');
  writeMigrations(root, { '0001_create_users.sql': USERS });
  expect(runCli(['status'], { cwd: root }).status).toBe(0);
  const db = new Database(join(root, 'cairn.db'));
  db.exec('CREATE TABLE IF NOT EXISTS cairn_migrations_lock (id INTEGER PRIMARY KEY CHECK (id = 1), owner TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, acquired_at TEXT NOT NULL, expires_at INTEGER NOT NULL)');
  db.prepare('INSERT INTO cairn_migrations_lock VALUES (1, ?, ?, ?, ?, ?)').run(owner, pid, hostname(), new Date().toISOString(), Date.now() + 600_000);
  db.close();
  return root;
}

describe.runIf(processIdentity() !== null)('SQLite lock held by a process on this host', () => {
  it('takes the lock over at once when the pid now belongs to a process started later than the holder', async () => {
    // A live process (a sleeping child) whose pid the row names, with the start time of an earlier process.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      const identity = processIdentity(child.pid!)!;
      const earlier = identity.replace(/\/(\d+)$/, (_, ticks: string) => `/${Number(ticks) - 1}`);
      const root = lockedProject(`deployer@ci #${child.pid}-abc id=${earlier}`, child.pid!);
      const result = runCli(['up', '--lock-timeout', '5'], { cwd: root });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toContain(
        `notice: took over a stale migration lock held by deployer@ci (pid ${child.pid} on ${hostname()}`,
      );
      expect(result.stderr).toContain(`process ${child.pid} on this machine is no longer running (that pid now belongs to a process started later)`);
      expect(result.stdout).toMatch(/^Applied 1 migration in \d+ ms\.$/m);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('waits for a live holder whose identity matches, and names it when the wait runs out', () => {
    const root = lockedProject(`deployer@ci #${process.pid}-abc id=${processIdentity()}`, process.pid);
    const result = runCli(['up', '--lock-timeout', '1', '--json'], { cwd: root });
    expect(result.status).toBe(4);
    const error = JSON.parse(result.stdout).error;
    expect(error.code).toBe('LOCK_TIMEOUT');
    expect(error.message).toContain(`deployer@ci (pid ${process.pid} on ${hostname()}`);
    const db = new Database(join(root, 'cairn.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM sqlite_master WHERE name = ?').get('users')).toEqual({ n: 0 });
    db.close();
  });
});
