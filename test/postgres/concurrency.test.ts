import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestApp,
  expectProblem,
  STRONG_PASSWORD,
  sessionOf,
  signUp,
  signUpAdmin,
  type TestContext,
  uniqueEmail,
} from '../helpers/app.js';

// Races that only a multi-connection database can lose: fired in parallel over a pg pool.

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp({ DATABASE_POOL_SIZE: '10' });
});
afterAll(async () => ctx.close());

describe('PostgreSQL concurrency', () => {
  it('is really running on PostgreSQL', () => {
    expect(ctx.config.database.kind).toBe('postgres');
  });

  it('concurrent refreshes with one token: exactly one succeeds, then the session is revoked as reuse', async () => {
    for (let round = 0; round < 5; round++) {
      const user = await signUp(ctx.app);
      const results = await Promise.all(
        Array.from({ length: 4 }, () =>
          ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } }),
        ),
      );
      expect(results.filter((r) => r.statusCode === 200)).toHaveLength(1);
      for (const r of results.filter((x) => x.statusCode !== 200)) expectProblem(r, 401, 'TOKEN_INVALID');
      const winner = results.find((r) => r.statusCode === 200)?.json();
      const session = await sessionOf(ctx, winner.access_token);
      expect(session.revoked_reason).toBe('refresh_token_reuse');
      expectProblem(
        await ctx.app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${winner.access_token}` } }),
        401,
        'TOKEN_INVALID',
      );
    }
  });

  it('concurrent registrations of one email: exactly one 201, the rest 409 EMAIL_TAKEN', async () => {
    const email = uniqueEmail('race');
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        ctx.app.inject({ method: 'POST', url: '/auth/register', payload: { email, password: STRONG_PASSWORD } }),
      ),
    );
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(1);
    for (const r of results.filter((x) => x.statusCode !== 201)) expectProblem(r, 409, 'EMAIL_TAKEN');
    const rows = await ctx.db.selectFrom('users').select('id').where('email', '=', email).execute();
    expect(rows).toHaveLength(1);
  });

  it('LAST_ADMIN holds under concurrent demotions: one succeeds, one is refused, an admin remains', async () => {
    for (let round = 0; round < 5; round++) {
      // Only these two admins are active: demote every other admin first.
      await ctx.db.updateTable('users').set({ role: 'user' }).where('role', '=', 'admin').execute();
      const a = await signUpAdmin(ctx);
      const b = await signUpAdmin(ctx);
      const [ra, rb] = await Promise.all([
        ctx.app.inject({ method: 'PATCH', url: `/users/${a.id}`, headers: a.headers, payload: { role: 'user' } }),
        ctx.app.inject({ method: 'PATCH', url: `/users/${b.id}`, headers: b.headers, payload: { role: 'user' } }),
      ]);
      expect([ra.statusCode, rb.statusCode].sort()).toEqual([200, 409]);
      expectProblem(ra.statusCode === 409 ? ra : rb, 409, 'LAST_ADMIN');
      const admins = await ctx.db.selectFrom('users').select('id').where('role', '=', 'admin').where('disabled', '=', 0).execute();
      expect(admins).toHaveLength(1);
    }
  });

  it('LAST_ADMIN holds when one admin deletes themselves while the other disables themselves', async () => {
    await ctx.db.updateTable('users').set({ role: 'user' }).where('role', '=', 'admin').execute();
    const a = await signUpAdmin(ctx);
    const b = await signUpAdmin(ctx);
    const [ra, rb] = await Promise.all([
      ctx.app.inject({ method: 'DELETE', url: `/users/${a.id}`, headers: a.headers }),
      ctx.app.inject({ method: 'PATCH', url: `/users/${b.id}`, headers: b.headers, payload: { disabled: true } }),
    ]);
    expect([ra.statusCode, rb.statusCode].filter((s) => s === 409)).toHaveLength(1);
    const admins = await ctx.db.selectFrom('users').select('id').where('role', '=', 'admin').where('disabled', '=', 0).execute();
    expect(admins).toHaveLength(1);
  });
});
