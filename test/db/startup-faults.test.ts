import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { type ExitedServer, runCli, runServerUntilExit, startServerProcess } from '../helpers/processes.js';
import { freePort } from '../helpers/redis-server.js';

// A database the server cannot use must stop it at start, with one line an operator can act on
// and a non-zero exit, within seconds; never a stack trace, a hang, or a server that starts and
// then fails every request. These run the built server (npm test builds first).

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A folder holding a migrated gatehouse database (as left by a clean stop). */
function migratedDatabase() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-faults-'));
  dirs.push(dir);
  const path = join(dir, 'gatehouse.db');
  const env = { NODE_ENV: 'test', JWT_SECRET: randomBytes(48).toString('base64url'), DATABASE_URL: `sqlite:${path}` };
  const migrate = runCli(['migrate'], env);
  if (migrate.status !== 0) throw new Error(`migrate failed: ${migrate.stderr}`);
  return { dir, path, env };
}

/** Exactly one line of output, the operator-facing error, and no stack trace. */
function expectOneLineFailure(result: ExitedServer, pattern: RegExp) {
  const lines = result.output.trim().split('\n');
  expect(result.timedOut).toBe(false);
  expect(result.code).toBe(1);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^gatehouse failed to start: /);
  expect(lines[0]).toMatch(pattern);
  expect(result.output).not.toMatch(/\n\s+at /);
}

describe('start-up faults', () => {
  it('a read-only database file: one clear line, exit 1, at once', async () => {
    const { dir, path, env } = migratedDatabase();
    chmodSync(dir, 0o777);
    chmodSync(path, 0o444);
    const result = await runServerUntilExit(env, { unprivileged: true });
    expectOneLineFailure(result, /SQLite database .*gatehouse\.db is read-only \(SQLITE_READONLY/);
    expect(result.ms).toBeLessThan(15_000);
  });

  it('a read-only directory: the -wal and -shm files cannot be created, exit 1', async () => {
    const { dir, path, env } = migratedDatabase();
    chmodSync(path, 0o666);
    chmodSync(dir, 0o555);
    expectOneLineFailure(
      await runServerUntilExit(env, { unprivileged: true }),
      /is read-only .*write access to the file and to its directory/,
    );

    const fresh = { ...env, DATABASE_URL: `sqlite:${join(dir, 'new.db')}` };
    expectOneLineFailure(await runServerUntilExit(fresh, { unprivileged: true }), /new\.db cannot be opened \(SQLITE_CANTOPEN.*writable/);
  });

  it('a database locked by another process: exit 1 once the bounded busy wait (5 s) has passed; fine once released', async () => {
    const { path, env } = migratedDatabase();
    // Another process with an exclusive lock (a stuck tool, a second server in exclusive mode).
    const holder = new SQLite(path);
    holder.pragma('locking_mode = EXCLUSIVE');
    holder.exec('BEGIN EXCLUSIVE');
    let result: ExitedServer;
    try {
      result = await runServerUntilExit(env, { timeoutMs: 60_000 });
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expectOneLineFailure(result, /SQLite database .*gatehouse\.db is locked by another process \(SQLITE_BUSY/);
    console.log(`locked database: exit ${result.code} after ${Math.round(result.ms)} ms`);
    expect(result.ms).toBeGreaterThan(4_500);
    expect(result.ms).toBeLessThan(20_000);

    const server = await startServerProcess(env);
    expect((await fetch(`${server.base}/readyz`)).status).toBe(200);
    expect(await server.stop()).toBe(0);
  });

  it('an explicit DATABASE_URL into a missing directory: one line saying so and what to do, exit 1, nothing created', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gatehouse-faults-'));
    dirs.push(root);
    const missing = join(root, 'volume-not-mounted');
    const result = await runServerUntilExit({ NODE_ENV: 'test', DATABASE_URL: `sqlite:${missing}/gatehouse.db` });
    expect(result).toMatchObject({ code: 1, timedOut: false });
    expect(result.output).toBe(
      `Invalid configuration: DATABASE_URL points into ${missing}, which does not exist; create it (mkdir -p ${missing}) or fix the path\n`,
    );
    // Neither the folder, nor an empty database, nor a development secret beside it.
    expect(readdirSync(root)).toEqual([]);
  });

  it('PostgreSQL unreachable at start: one line naming host and port (never the password), exit 1', async () => {
    const port = await freePort();
    const result = await runServerUntilExit({
      NODE_ENV: 'test',
      JWT_SECRET: randomBytes(48).toString('base64url'),
      DATABASE_URL: `postgres://gatehouse:s3cret-pw@127.0.0.1:${port}/gatehouse`,
    });
    expectOneLineFailure(result, new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${port}/gatehouse is not reachable \\(ECONNREFUSED`));
    expect(result.output).not.toContain('s3cret-pw');
    expect(result.ms).toBeLessThan(15_000);
  });
});
