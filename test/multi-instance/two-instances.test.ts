import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../helpers/postgres.js';
import { runCli, type ServerProcess, startServerProcess } from '../helpers/processes.js';

// Two real server processes on different loopback ports, one PostgreSQL database and one
// Redis: what a load balancer in front of N stateless instances relies on.

const PASSWORD = 'correct horse battery staple';
let a: ServerProcess;
let b: ServerProcess;
let drop: () => Promise<void>;

beforeAll(async () => {
  const database = await createPostgresDatabase();
  drop = database.drop;
  const env = {
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(48).toString('base64url'),
    KEY_ENCRYPTION_SECRET: randomBytes(48).toString('base64url'),
    DATABASE_URL: database.url,
    REDIS_URL: process.env.GATEHOUSE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `gatehouse-multi:${randomBytes(6).toString('hex')}:`,
    LOG_LEVEL: 'warn',
    // The load balancer's address: one issuer for both instances (the default, built from each
    // instance's own port, would differ).
    PUBLIC_URL: 'https://gatehouse.multi.example',
    // No SMTP here: keep the development outbox out of the shared temp folder.
    MAIL_OUTBOX_DIR: join(mkdtempSync(join(tmpdir(), 'gatehouse-multi-')), 'outbox'),
  };
  const created = runCli(['user', 'create', '--email', 'root@example.com', '--admin'], env, `${PASSWORD}\n`);
  expect(created.status, created.stderr).toBe(0);
  [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await drop?.();
});

async function call(server: ServerProcess, method: string, path: string, options: { token?: string; body?: unknown; ip?: string } = {}) {
  const res = await fetch(`${server.base}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined && { 'content-type': 'application/json' }),
      ...(options.token && { authorization: `Bearer ${options.token}` }),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

async function signUp(server: ServerProcess, email = `u-${randomBytes(4).toString('hex')}@example.com`) {
  expect((await call(server, 'POST', '/auth/register', { body: { email, password: PASSWORD } })).status).toBe(201);
  const login = await call(server, 'POST', '/auth/login', { body: { email, password: PASSWORD } });
  expect(login.status).toBe(200);
  return {
    email,
    id: login.body.user.id as string,
    access: login.body.access_token as string,
    refresh: login.body.refresh_token as string,
  };
}

describe('two instances, one PostgreSQL, one Redis', () => {
  it('the instances are separate processes on separate ports', () => {
    expect(a.base).not.toBe(b.base);
    expect(a.child.pid).not.toBe(b.child.pid);
  });

  it('a token issued by A works on B', async () => {
    const user = await signUp(a);
    const me = await call(b, 'GET', '/auth/me', { token: user.access });
    expect(me.status).toBe(200);
    expect(me.body.email).toBe(user.email);
  });

  it('logout on A is rejected on B on the very next request', async () => {
    const user = await signUp(a);
    expect((await call(b, 'GET', '/auth/me', { token: user.access })).status).toBe(200);
    expect((await call(a, 'POST', '/auth/logout', { token: user.access })).status).toBe(204);
    const after = await call(b, 'GET', '/auth/me', { token: user.access });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('TOKEN_INVALID');
  });

  it('ending one session on B (DELETE /auth/sessions/{id}) is rejected on A on the very next request', async () => {
    const user = await signUp(a);
    const second = await call(a, 'POST', '/auth/login', { body: { email: user.email, password: PASSWORD } });
    const otherToken = second.body.access_token as string;
    expect((await call(a, 'GET', '/auth/me', { token: otherToken })).status).toBe(200);
    const listed = await call(b, 'GET', '/auth/sessions', { token: user.access });
    const other = (listed.body.items as { id: string; current: boolean }[]).find((s) => !s.current);
    expect(other).toBeDefined();
    expect((await call(b, 'DELETE', `/auth/sessions/${other?.id}`, { token: user.access })).status).toBe(204);
    expect((await call(a, 'GET', '/auth/me', { token: otherToken })).status).toBe(401);
    expect((await call(a, 'POST', '/auth/refresh', { body: { refresh_token: second.body.refresh_token } })).status).toBe(401);
    expect((await call(a, 'GET', '/auth/me', { token: user.access })).status).toBe(200);
  });

  it('an admin ending every session of a user on A is rejected on B at once', async () => {
    const root = await call(a, 'POST', '/auth/login', { body: { email: 'root@example.com', password: PASSWORD } });
    const user = await signUp(b);
    expect((await call(a, 'DELETE', `/users/${user.id}/sessions`, { token: root.body.access_token })).status).toBe(204);
    expect((await call(b, 'GET', '/auth/me', { token: user.access })).status).toBe(401);
  });

  it('a role change via A applies on B', async () => {
    const root = await call(a, 'POST', '/auth/login', { body: { email: 'root@example.com', password: PASSWORD } });
    const user = await signUp(b);
    expect((await call(b, 'GET', '/users', { token: user.access })).status).toBe(403);
    expect((await call(a, 'PATCH', `/users/${user.id}`, { token: root.body.access_token, body: { role: 'admin' } })).status).toBe(200);
    expect((await call(b, 'GET', '/users', { token: user.access })).status).toBe(200);
  });

  it('login failures spread across A and B add up to one throttle', async () => {
    const user = await signUp(a);
    for (let i = 0; i < 5; i++) {
      const res = await call(i % 2 === 0 ? a : b, 'POST', '/auth/login', { body: { email: user.email, password: 'wrong password!!' } });
      expect(res.status).toBe(401);
    }
    for (const server of [a, b]) {
      const res = await call(server, 'POST', '/auth/login', { body: { email: user.email, password: PASSWORD } });
      expect(res.status).toBe(429);
      expect(res.body.code).toBe('RATE_LIMITED');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });

  it('refresh-token reuse across instances is detected and kills the session', async () => {
    const user = await signUp(a);
    const rotated = await call(a, 'POST', '/auth/refresh', { body: { refresh_token: user.refresh } });
    expect(rotated.status).toBe(200);
    const replay = await call(b, 'POST', '/auth/refresh', { body: { refresh_token: user.refresh } });
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('TOKEN_INVALID');
    expect((await call(a, 'GET', '/auth/me', { token: rotated.body.access_token })).status).toBe(401);
    expect((await call(b, 'POST', '/auth/refresh', { body: { refresh_token: rotated.body.refresh_token } })).status).toBe(401);
  });

  it('concurrent refreshes of one token on A and B: exactly one wins', async () => {
    const user = await signUp(b);
    const results = await Promise.all([a, b, a, b].map((s) => call(s, 'POST', '/auth/refresh', { body: { refresh_token: user.refresh } })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
  });
});
