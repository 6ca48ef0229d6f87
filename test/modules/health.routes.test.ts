import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createDatabase } from '../../src/db/create-db.js';
import { createTestApp, expectProblem, signUp, signUpAdmin, TEST_DB, type TestContext } from '../helpers/app.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
});
afterAll(async () => ctx.close());

describe('operations', () => {
  it('GET /healthz → 200 {status:"ok"}', async () => {
    const res = await ctx.app.inject({ url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz → 200 while the database answers', async () => {
    const res = await ctx.app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready' });
  });

  it('GET /readyz → 503 UNAVAILABLE when the database is gone; requests needing it get 503, not 500', async () => {
    const database = createDatabase({ kind: 'sqlite', path: ':memory:' });
    const app = await buildApp(ctx.config, { database, logger: false });
    await database.close();
    try {
      expectProblem(await app.inject({ url: '/readyz' }), 503, 'UNAVAILABLE');
      const login = await app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: 'a@example.com', password: 'whatever password' },
      });
      expectProblem(login, 503, 'UNAVAILABLE');
      expect(login.body).not.toMatch(/driver|destroyed|stack/i);
    } finally {
      await app.close();
    }
  });
});

describe("GET /admin/status (the console's status panel)", () => {
  const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

  it('tells an admin the release, database kind, limiter store, readiness and uptime of the instance', async () => {
    const admin = await signUpAdmin(ctx);
    const before = Date.now();
    const res = await ctx.app.inject({ url: '/admin/status', headers: admin.headers });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toEqual({
      version,
      database: TEST_DB,
      rate_limit_store: 'memory',
      ready: true,
      started_at: expect.any(String),
      uptime_seconds: expect.any(Number),
    });
    const startedAt = Date.parse(body.started_at);
    expect(startedAt).toBeLessThanOrEqual(before);
    expect(body.uptime_seconds).toBe(Math.floor((Date.now() - startedAt) / 1000));
  });

  it('is for admins only: a user gets 403, no token 401, and neither learns the release', async () => {
    const user = await signUp(ctx.app);
    const forbidden = await ctx.app.inject({ url: '/admin/status', headers: user.headers });
    expectProblem(forbidden, 403, 'FORBIDDEN');
    const anonymous = await ctx.app.inject({ url: '/admin/status' });
    expectProblem(anonymous, 401, 'TOKEN_MISSING');
    for (const res of [forbidden, anonymous]) expect(res.body).not.toContain(version);
  });

  it('answers 200 with ready: false while the database is gone, so the operator still sees the instance', async () => {
    const database = createDatabase({ kind: 'sqlite', path: ':memory:' });
    const app = await buildApp(ctx.config, { database, logger: false });
    try {
      const admin = await signUp(app);
      await database.db.updateTable('users').set({ role: 'admin' }).where('id', '=', admin.id).execute();
      // The session check needs the database too: fail only the readiness ping.
      vi.spyOn(database, 'ping').mockRejectedValue(new Error('gone'));
      const res = await app.inject({ url: '/admin/status', headers: admin.headers });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ ready: false, database: 'sqlite' });
    } finally {
      await app.close();
      await database.close();
    }
  });
});
