import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createDatabase } from '../../src/db/create-db.js';
import { createTestApp, expectProblem, type TestContext } from '../helpers/app.js';

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
