import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestApp,
  expectProblem,
  logIn,
  type SignedIn,
  STRONG_PASSWORD,
  signUp,
  signUpAdmin,
  type TestContext,
} from '../../helpers/app.js';
import { decodeToken } from '../../helpers/tokens.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
});
afterAll(async () => ctx.close());

const sidOf = (user: SignedIn) => decodeToken(user.accessToken).payload.sid as string;
const get = (url: string, as: SignedIn) => ctx.app.inject({ url, headers: as.headers });
const del = (url: string, as: SignedIn) => ctx.app.inject({ method: 'DELETE', url, headers: as.headers });
const me = (as: SignedIn) => ctx.app.inject({ url: '/auth/me', headers: as.headers });
const refresh = (token: string, headers: Record<string, string> = {}) =>
  ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: token }, headers, remoteAddress: '10.80.0.9' });

/** Signs the same user in again from another client (address and browser). */
async function signInFrom(user: SignedIn, ip: string, userAgent: string): Promise<SignedIn> {
  const res = await ctx.app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email: user.email, password: STRONG_PASSWORD },
    remoteAddress: ip,
    headers: { 'user-agent': userAgent },
  });
  expect(res.statusCode).toBe(200);
  const body = res.json();
  return {
    ...user,
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    headers: { authorization: `Bearer ${body.access_token}` },
  };
}

describe('GET /auth/sessions', () => {
  it('lists the live sessions newest first, with where they were used and which one is current', async () => {
    const user = await signUp(ctx.app);
    const phone = await signInFrom(user, '10.80.0.1', 'Phone Browser/1.0');
    const laptop = await signInFrom(user, '10.80.0.2', 'Laptop Browser/2.0');
    const res = await get('/auth/sessions', laptop);
    expect(res.statusCode).toBe(200);
    const { items, next_cursor } = res.json();
    expect(next_cursor).toBeNull();
    expect(items.map((s: { id: string }) => s.id)).toEqual([sidOf(laptop), sidOf(phone), sidOf(user)]);
    expect(items[0]).toMatchObject({ current: true, ip: '10.80.0.2', user_agent: 'Laptop Browser/2.0' });
    expect(items[1]).toMatchObject({ current: false, ip: '10.80.0.1', user_agent: 'Phone Browser/1.0' });
    expect(Object.keys(items[0]).sort()).toEqual(['created_at', 'current', 'expires_at', 'id', 'ip', 'last_used_at', 'user_agent']);
  });

  it('pages with limit and cursor', async () => {
    const user = await signUp(ctx.app);
    await signInFrom(user, '10.80.1.1', 'A');
    await signInFrom(user, '10.80.1.2', 'B');
    const first = (await get('/auth/sessions?limit=2', user)).json();
    expect(first.items).toHaveLength(2);
    const second = (await get(`/auth/sessions?limit=2&cursor=${first.next_cursor}`, user)).json();
    expect(second.items).toHaveLength(1);
    expect(second.next_cursor).toBeNull();
    expect(second.items[0].id).toBe(sidOf(user));
  });

  it('a refresh updates last_used_at, ip and user_agent; reads do not write the session', async () => {
    const user = await signUp(ctx.app);
    const before = await ctx.db.selectFrom('sessions').selectAll().where('id', '=', sidOf(user)).executeTakeFirstOrThrow();
    for (let i = 0; i < 3; i++) expect((await me(user)).statusCode).toBe(200);
    const afterReads = await ctx.db.selectFrom('sessions').selectAll().where('id', '=', sidOf(user)).executeTakeFirstOrThrow();
    expect(afterReads).toEqual(before);
    await new Promise((r) => setTimeout(r, 5));
    expect((await refresh(user.refreshToken, { 'user-agent': 'Renewed/3.0' })).statusCode).toBe(200);
    const after = await ctx.db.selectFrom('sessions').selectAll().where('id', '=', sidOf(user)).executeTakeFirstOrThrow();
    expect(after.last_used_at > before.last_used_at).toBe(true);
    expect(after).toMatchObject({ ip: '10.80.0.9', user_agent: 'Renewed/3.0', auth_time: before.auth_time, created_at: before.created_at });
  });

  it('leaves out ended sessions', async () => {
    const user = await signUp(ctx.app);
    const other = await logIn(ctx.app, user.email, STRONG_PASSWORD);
    await ctx.app.inject({ method: 'POST', url: '/auth/logout', headers: other.headers });
    expect((await get('/auth/sessions', user)).json().items.map((s: { id: string }) => s.id)).toEqual([sidOf(user)]);
  });
});

describe('DELETE /auth/sessions/{id}', () => {
  it('ends one of your sessions at once: its access and refresh tokens stop working; the others go on', async () => {
    const user = await signUp(ctx.app);
    const other = await logIn(ctx.app, user.email, STRONG_PASSWORD);
    const res = await del(`/auth/sessions/${sidOf(other)}`, user);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expectProblem(await me(other), 401, 'TOKEN_INVALID');
    expectProblem(await refresh(other.refreshToken), 401, 'TOKEN_INVALID');
    expect((await me(user)).statusCode).toBe(200);
    const row = await ctx.db.selectFrom('sessions').selectAll().where('id', '=', sidOf(other)).executeTakeFirstOrThrow();
    expect(row.revoked_reason).toBe('ended_by_user');
  });

  it("someone else's session, an unknown one and an ended one are all 404 NOT_FOUND, and nothing changes", async () => {
    const alice = await signUp(ctx.app);
    const bob = await signUp(ctx.app);
    expectProblem(await del(`/auth/sessions/${sidOf(bob)}`, alice), 404, 'NOT_FOUND');
    expect((await me(bob)).statusCode).toBe(200);
    expectProblem(await del('/auth/sessions/0190a5c4-7a1e-7000-8000-000000000000', alice), 404, 'NOT_FOUND');
    const other = await logIn(ctx.app, alice.email, STRONG_PASSWORD);
    expect((await del(`/auth/sessions/${sidOf(other)}`, alice)).statusCode).toBe(204);
    expectProblem(await del(`/auth/sessions/${sidOf(other)}`, alice), 404, 'NOT_FOUND');
  });

  it('ending your current session logs you out', async () => {
    const user = await signUp(ctx.app);
    expect((await del(`/auth/sessions/${sidOf(user)}`, user)).statusCode).toBe(204);
    expectProblem(await me(user), 401, 'TOKEN_INVALID');
  });
});

describe('POST /auth/logout-others', () => {
  it('ends every session but the current one', async () => {
    const user = await signUp(ctx.app);
    const a = await logIn(ctx.app, user.email, STRONG_PASSWORD);
    const b = await logIn(ctx.app, user.email, STRONG_PASSWORD);
    const res = await ctx.app.inject({ method: 'POST', url: '/auth/logout-others', headers: user.headers });
    expect(res.statusCode).toBe(204);
    expect((await me(user)).statusCode).toBe(200);
    for (const ended of [a, b]) {
      expectProblem(await me(ended), 401, 'TOKEN_INVALID');
      expectProblem(await refresh(ended.refreshToken), 401, 'TOKEN_INVALID');
    }
    expect((await get('/auth/sessions', user)).json().items).toHaveLength(1);
  });
});

describe('admin: /users/{id}/sessions', () => {
  let admin: SignedIn;
  beforeAll(async () => {
    admin = await signUpAdmin(ctx);
  });

  it("lists a user's live sessions, none marked current", async () => {
    const user = await signUp(ctx.app);
    await logIn(ctx.app, user.email, STRONG_PASSWORD);
    const res = await get(`/users/${user.id}/sessions`, admin);
    expect(res.statusCode).toBe(200);
    const items = res.json().items as { current: boolean }[];
    expect(items).toHaveLength(2);
    expect(items.every((s) => s.current === false)).toBe(true);
  });

  it('ends every session of the user at once', async () => {
    const user = await signUp(ctx.app);
    const other = await logIn(ctx.app, user.email, STRONG_PASSWORD);
    expect((await del(`/users/${user.id}/sessions`, admin)).statusCode).toBe(204);
    for (const ended of [user, other]) {
      expectProblem(await me(ended), 401, 'TOKEN_INVALID');
      expectProblem(await refresh(ended.refreshToken), 401, 'TOKEN_INVALID');
    }
    expect((await me(admin)).statusCode).toBe(200);
  });

  it('a non-admin gets 403 on both, for their own id too; an unknown user is 404', async () => {
    const user = await signUp(ctx.app);
    const other = await signUp(ctx.app);
    expectProblem(await get(`/users/${other.id}/sessions`, user), 403, 'FORBIDDEN');
    expectProblem(await get(`/users/${user.id}/sessions`, user), 403, 'FORBIDDEN');
    expectProblem(await del(`/users/${other.id}/sessions`, user), 403, 'FORBIDDEN');
    expect((await me(other)).statusCode).toBe(200);
    expectProblem(await get('/users/0190a5c4-7a1e-7000-8000-000000000000/sessions', admin), 404, 'NOT_FOUND');
    expectProblem(await del('/users/0190a5c4-7a1e-7000-8000-000000000000/sessions', admin), 404, 'NOT_FOUND');
  });
});
