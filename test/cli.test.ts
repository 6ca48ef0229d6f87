import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import SQLite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCli, startServerProcess } from './helpers/processes.js';

// These run the built binary (npm test builds first), as an operator would.
const PASSWORD = 'correct horse battery staple';

function environment(extra: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
  return {
    NODE_ENV: 'test',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    DATABASE_URL: `sqlite:${join(dir, 'cli.db')}`,
    ...extra,
  };
}

const run = runCli;

describe('gatehouse CLI', () => {
  it('user create --admin, set-role and migrate work against the configured database', async () => {
    const env = environment();
    const created = run(['user', 'create', '--email', ' Root@Example.com ', '--password', PASSWORD, '--admin', '--name', 'Root'], env);
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    expect(created.stdout).toMatch(/^created admin root@example\.com \(/);
    // The operator vouches for the address: CLI-created users start verified (and nothing is mailed).
    const sqlite = new SQLite(env.DATABASE_URL.slice('sqlite:'.length), { readonly: true });
    expect(sqlite.prepare('select email_verified from users where email = ?').get('root@example.com')).toEqual({ email_verified: 1 });
    sqlite.close();

    const demoteLast = run(['user', 'set-role', '--email', 'root@example.com', '--role', 'user'], env);
    expect(demoteLast.status).toBe(1);
    expect(demoteLast.stderr).toMatch(/LAST_ADMIN/);

    const stdin = run(['user', 'create', '--email', 'second@example.com'], env, `${PASSWORD}\n`);
    expect(stdin.status).toBe(0);
    expect(run(['user', 'set-role', '--email', 'second@example.com', '--role', 'admin'], env).stdout).toBe(
      'second@example.com is now admin\n',
    );

    const migrate = run(['migrate'], env);
    expect(migrate.status).toBe(0);
    expect(migrate.stdout).toBe('database is up to date\n');
  });

  it('refuses a weak password, a taken email and bad usage with non-zero exits', () => {
    const env = environment();
    const weak = run(['user', 'create', '--email', 'a@example.com', '--password', 'password1234'], env);
    expect(weak.status).toBe(1);
    expect(weak.stderr).toMatch(/VALIDATION_FAILED[\s\S]*too common/);
    expect(run(['user', 'create', '--email', 'a@example.com', '--password', PASSWORD], env).status).toBe(0);
    expect(run(['user', 'create', '--email', 'a@example.com', '--password', PASSWORD], env).stderr).toMatch(/EMAIL_TAKEN/);
    expect(run(['frobnicate'], env).status).toBe(2);
    expect(run(['user', 'set-role', '--email', 'a@example.com', '--role', 'root'], env).status).toBe(1);
  });

  it('a production start with a weak JWT_SECRET stops with every problem listed, exit 1', () => {
    const res = run(['serve'], { ...environment(), NODE_ENV: 'production', JWT_SECRET: 'super-secret-string', PORT: 'x' });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/Invalid configuration:/);
    expect(res.stderr).toMatch(/PORT must be an integer/);
    expect(res.stderr).toMatch(/JWT_SECRET must be at least 32 bytes/);
    expect(res.stderr).not.toContain('super-secret-string\n');
  });
});

describe('server process', () => {
  it('serves, logs JSON with request ids and no secrets, and shuts down gracefully on SIGTERM', async () => {
    const env = environment();
    const started = performance.now();
    const server = await startServerProcess({ ...env, LOG_LEVEL: 'info' });
    const coldStartMs = performance.now() - started;
    expect(coldStartMs).toBeLessThan(5000);
    console.log(`cold start to first /healthz: ${Math.round(coldStartMs)} ms`);

    const register = (i: number) =>
      fetch(`${server.base}/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `shutdown-${i}@example.com`, password: PASSWORD }),
      });
    const login = (await (await register(999)).json()) as { user: { email: string } };
    expect(login.user.email).toBe('shutdown-999@example.com');
    const tokens = (await (
      await fetch(`${server.base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'shutdown-999@example.com', password: PASSWORD }),
      })
    ).json()) as { access_token: string; refresh_token: string };
    expect((await fetch(`${server.base}/auth/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status).toBe(200);

    // In-flight requests (each an Argon2 hash) must complete after SIGTERM.
    const inFlight = Array.from({ length: 8 }, (_, i) => register(i));
    // Wait until the server has received all eight (logged "incoming request"), then stop it.
    const received = () =>
      server
        .logs()
        .split('\n')
        .filter((l) => l.includes('"incoming request"') && l.includes('/auth/register')).length;
    for (let i = 0; i < 200 && received() < 9; i++) await new Promise((r) => setTimeout(r, 5));
    expect(received()).toBe(9);
    server.child.kill('SIGTERM');
    const statuses = await Promise.all(inFlight.map((p) => p.then((r) => r.status)));
    expect(statuses).toEqual(Array(8).fill(201));
    expect(await server.exited).toBe(0);
    await expect(fetch(`${server.base}/healthz`)).rejects.toThrow();

    const logs = server.logs();
    const lines = logs
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.some((l) => typeof l.reqId === 'string')).toBe(true);
    expect(lines.some((l) => l.msg === 'shutting down: finishing in-flight requests')).toBe(true);
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain(tokens.access_token);
    expect(logs).not.toContain(tokens.refresh_token);
    expect(logs).not.toContain(env.JWT_SECRET);

    // Without SMTP_URL the server says at start that mail goes to the outbox; shutdown flushed
    // the nine verification mails there, and none of their tokens reached the log.
    expect(lines.find((l) => l.level === 40 && String(l.msg).startsWith('SMTP_URL not set'))).toMatchObject({
      outbox: join(dirname(env.DATABASE_URL.slice('sqlite:'.length)), 'outbox'),
    });
    expect(lines.find((l) => l.msg === 'gatehouse ready')).toMatchObject({ mail: 'outbox' });
    const outbox = join(dirname(env.DATABASE_URL.slice('sqlite:'.length)), 'outbox');
    const mails = readdirSync(outbox).map((f) => JSON.parse(readFileSync(join(outbox, f), 'utf8')) as { text: string });
    expect(mails).toHaveLength(9);
    for (const mail of mails) {
      const token = /verify-email\?token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(logs).not.toContain(token);
    }
    expect(lines.filter((l) => l.msg === 'mail sent')).toHaveLength(9);
  });
});

describe('gatehouse serve --workers', () => {
  it('runs N worker processes on one port, each serving, and drains them all on SIGTERM', async () => {
    const env = { ...environment(), LOG_LEVEL: 'info' };
    const server = await startServerProcess(env, [join(import.meta.dirname, '..', 'dist', 'cli.js'), 'serve', '--workers', '2']);
    const workersOf = (pid: number) =>
      spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .filter(Boolean);
    for (let i = 0; i < 100 && workersOf(server.child.pid as number).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(workersOf(server.child.pid as number)).toHaveLength(2);
    // Both workers accept connections on the shared port: registrations (SQLite, one WAL file) all land.
    const statuses = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        fetch(`${server.base}/auth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: `worker-${i}@example.com`, password: PASSWORD }),
        }).then((r) => r.status),
      ),
    );
    expect(statuses).toEqual(Array(6).fill(201));
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(server.logs().match(/shutting down: finishing in-flight requests/g)).toHaveLength(2);
  });
});
