import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createTestApp,
  expectProblem,
  type SignedIn,
  STRONG_PASSWORD,
  signUp,
  signUpAdmin,
  type TestContext,
  uniqueEmail,
} from '../../helpers/app.js';
import { decodeToken } from '../../helpers/tokens.js';

// RFC 9470 step-up: a stale sign-in cannot change the account's email or delete it; a fresh one can.

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
});
afterAll(async () => ctx.close());
afterEach(() => vi.useRealTimers());

const claims = (token: string) => decodeToken(token).payload as { sid: string; auth_time: number; amr: string[] };
const headersOf = (token: string) => ({ authorization: `Bearer ${token}` });
const patchEmail = (user: SignedIn, token = user.accessToken) =>
  ctx.app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: headersOf(token), payload: { email: uniqueEmail('moved') } });
const deleteSelf = (user: SignedIn, token = user.accessToken) =>
  ctx.app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: headersOf(token) });
const reauthenticate = (token: string, password: string) =>
  ctx.app.inject({
    method: 'POST',
    url: '/auth/reauthenticate',
    headers: headersOf(token),
    payload: { password },
    remoteAddress: '10.95.0.1',
  });

/** Moves the clock past REAUTH_MAX_AGE (10 minutes) but not past the access token's life (15). */
function elevenMinutesLater() {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.now() + 11 * 60_000);
}

function expectStepUpChallenge(res: Awaited<ReturnType<typeof patchEmail>>) {
  expectProblem(res, 401, 'REAUTHENTICATION_REQUIRED');
  const challenge = String(res.headers['www-authenticate']);
  expect(challenge).toMatch(/^Bearer realm="gatehouse", error="insufficient_user_authentication"/);
  expect(challenge).toContain('max_age=600');
}

describe('access tokens carry auth_time and amr', () => {
  it('a sign-in sets them; a refresh keeps them', async () => {
    const user = await signUp(ctx.app);
    const first = claims(user.accessToken);
    expect(first.amr).toEqual(['pwd']);
    await new Promise((r) => setTimeout(r, 1100));
    const refreshed = await ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } });
    expect(claims(refreshed.json().access_token)).toMatchObject({ auth_time: first.auth_time, amr: ['pwd'], sid: first.sid });
  });
});

describe('sensitive routes', () => {
  it('a fresh sign-in may change its own email and delete its own account', async () => {
    const user = await signUp(ctx.app);
    expect((await patchEmail(user)).statusCode).toBe(200);
    expect((await deleteSelf(user)).statusCode).toBe(204);
  });

  it('a stale one gets 401 REAUTHENTICATION_REQUIRED with the RFC 9470 challenge, and nothing changes', async () => {
    const user = await signUp(ctx.app);
    elevenMinutesLater();
    expectStepUpChallenge(await patchEmail(user));
    expectStepUpChallenge(await deleteSelf(user));
    const row = await ctx.db.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.email).toBe(user.email);
    // Changes that are not sensitive still go through with the same token.
    const renamed = await ctx.app.inject({
      method: 'PATCH',
      url: `/users/${user.id}`,
      headers: user.headers,
      payload: { name: 'Still me' },
    });
    expect(renamed.statusCode).toBe(200);
  });

  it('a refreshed token is as stale as the sign-in behind it', async () => {
    const user = await signUp(ctx.app);
    elevenMinutesLater();
    const refreshed = await ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } });
    expect(refreshed.statusCode).toBe(200);
    expectStepUpChallenge(await patchEmail(user, refreshed.json().access_token));
  });

  it('an admin changing someone else is an admin action, not a step-up one', async () => {
    const admin = await signUpAdmin(ctx);
    const user = await signUp(ctx.app);
    elevenMinutesLater();
    const res = await ctx.app.inject({
      method: 'PATCH',
      url: `/users/${user.id}`,
      headers: admin.headers,
      payload: { email: uniqueEmail('by-admin') },
    });
    expect(res.statusCode).toBe(200);
  });
});

describe('POST /auth/reauthenticate', () => {
  it('the same session gets a fresh auth_time and new tokens; the old refresh token is dead; the change then goes through', async () => {
    const user = await signUp(ctx.app);
    elevenMinutesLater();
    expectStepUpChallenge(await patchEmail(user));
    const res = await reauthenticate(user.accessToken, STRONG_PASSWORD);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'refresh_expires_in', 'refresh_token', 'token_type', 'user']);
    const fresh = claims(body.access_token);
    expect(fresh.sid).toBe(claims(user.accessToken).sid);
    expect(Math.abs(fresh.auth_time - Date.now() / 1000)).toBeLessThan(5);
    expect((await patchEmail(user, body.access_token)).statusCode).toBe(200);
    // The old refresh token is dead, without ending the session (it was superseded, not stolen).
    expectProblem(
      await ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } }),
      401,
      'TOKEN_INVALID',
    );
    const renewed = await ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: body.refresh_token } });
    expect(renewed.statusCode).toBe(200);
    expect(claims(renewed.json().access_token).auth_time).toBe(fresh.auth_time);
  });

  it('a wrong password is 401 INVALID_CREDENTIALS and changes nothing; repeated, 429 like sign-in', async () => {
    const user = await signUp(ctx.app);
    const before = await ctx.db.selectFrom('sessions').selectAll().where('id', '=', claims(user.accessToken).sid).executeTakeFirstOrThrow();
    expectProblem(await reauthenticate(user.accessToken, 'not the password at all'), 401, 'INVALID_CREDENTIALS');
    expect(await ctx.db.selectFrom('sessions').selectAll().where('id', '=', before.id).executeTakeFirstOrThrow()).toEqual(before);
    for (let i = 0; i < 4; i++) await reauthenticate(user.accessToken, 'not the password at all');
    const limited = await reauthenticate(user.accessToken, STRONG_PASSWORD);
    expectProblem(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('needs a live session: after logout the token is refused', async () => {
    const user = await signUp(ctx.app);
    await ctx.app.inject({ method: 'POST', url: '/auth/logout', headers: user.headers });
    expectProblem(await reauthenticate(user.accessToken, STRONG_PASSWORD), 401, 'TOKEN_INVALID');
  });
});
