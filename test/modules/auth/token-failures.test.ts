import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, expectProblem, type SignedIn, signUp, type TestContext } from '../../helpers/app.js';
import { decodeToken, forgeToken } from '../../helpers/tokens.js';

// Every way a protected request can fail gets its own test: the `token_required` of the
// tutorials answers 500 or lets some of these through.

let ctx: TestContext;
let user: SignedIn;
let secret: string;
let kid: string;

beforeAll(async () => {
  ctx = await createTestApp();
  secret = ctx.config.jwt.secret;
  user = await signUp(ctx.app);
  kid = decodeToken(user.accessToken).header.kid as string;
});
afterAll(async () => ctx.close());
afterEach(() => {
  vi.useRealTimers();
});

const me = (authorization?: string) => ctx.app.inject({ url: '/auth/me', headers: authorization === undefined ? {} : { authorization } });

/** Claims exactly as Gatehouse issues them, for the forged-token cases to vary. */
function validClaims(overrides: Record<string, unknown> = {}) {
  const { payload } = decodeToken(user.accessToken);
  const now = Math.floor(Date.now() / 1000);
  return { ...payload, iat: now, exp: now + 600, ...overrides };
}
const header = (overrides: Record<string, unknown> = {}) => ({ alg: 'HS256', typ: 'at+jwt', kid, ...overrides });

async function expectInvalid(authorization: string, code = 'TOKEN_INVALID') {
  const res = await me(authorization);
  expectProblem(res, 401, code);
  expect(res.headers['www-authenticate']).toBe('Bearer realm="gatehouse", error="invalid_token"');
  return res;
}

describe('a protected route', () => {
  it('accepts the token it issued (control case for the forgeries below)', async () => {
    expect((await me(user.headers.authorization)).statusCode).toBe(200);
    // A forged token with exactly our claims and key is accepted, so the failures below
    // are caused by the one thing each test changes.
    expect((await me(`Bearer ${forgeToken(header(), validClaims(), secret)}`)).statusCode).toBe(200);
  });

  it('no Authorization header → 401 TOKEN_MISSING with a bare challenge', async () => {
    const res = await me();
    expectProblem(res, 401, 'TOKEN_MISSING');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
  });

  it('Basic scheme → 401 TOKEN_MISSING', async () => {
    const res = await me(`Basic ${Buffer.from(`${user.email}:${user.password}`).toString('base64')}`);
    expectProblem(res, 401, 'TOKEN_MISSING');
  });

  it('token without a scheme → 401 TOKEN_MISSING', async () => {
    expectProblem(await me(user.accessToken), 401, 'TOKEN_MISSING');
  });

  it('"Bearer" with no token → 401 TOKEN_MISSING', async () => {
    expectProblem(await me('Bearer '), 401, 'TOKEN_MISSING');
  });

  it('the scheme is case-insensitive (RFC 7235)', async () => {
    expect((await me(`bearer ${user.accessToken}`)).statusCode).toBe(200);
  });

  it('malformed token (not three base64url parts) → 401 TOKEN_INVALID', async () => {
    await expectInvalid('Bearer not-a-jwt');
    await expectInvalid('Bearer a.b');
    await expectInvalid('Bearer a.b.c.d');
    await expectInvalid(`Bearer ${user.accessToken} extra`);
  });

  it('garbage that looks like a JWT (bad JSON in the parts) → 401 TOKEN_INVALID, not 500', async () => {
    await expectInvalid('Bearer eyJub3QganNvbg.eyJub3QganNvbg.c2ln');
  });

  it('oversized token (> 4 KiB) → 401 TOKEN_INVALID', async () => {
    await expectInvalid(`Bearer ${forgeToken(header(), validClaims({ pad: 'x'.repeat(5000) }), secret)}`);
  });

  it('bad signature → 401 TOKEN_INVALID', async () => {
    await expectInvalid(`Bearer ${forgeToken(header(), validClaims(), 'another secret that is also long enough!!')}`);
    const [h, p, s] = user.accessToken.split('.');
    const flipped = `${s?.slice(0, -2)}${s?.endsWith('AA') ? 'BB' : 'AA'}`;
    await expectInvalid(`Bearer ${h}.${p}.${flipped}`);
  });

  it('empty signature → 401 TOKEN_INVALID', async () => {
    const [h, p] = user.accessToken.split('.');
    await expectInvalid(`Bearer ${h}.${p}.`);
  });

  it('payload changed after signing (sub swapped) → 401 TOKEN_INVALID', async () => {
    const [h, , s] = user.accessToken.split('.');
    const evil = Buffer.from(JSON.stringify(validClaims({ sub: 'someone-else' }))).toString('base64url');
    await expectInvalid(`Bearer ${h}.${evil}.${s}`);
  });

  it.each([
    ['HS384', 'sha384'],
    ['HS512', 'sha512'],
  ] as const)('other algorithm %s with the same secret → 401 TOKEN_INVALID', async (alg, hash) => {
    await expectInvalid(`Bearer ${forgeToken(header({ alg }), validClaims(), secret, hash)}`);
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])('alg "%s" (unsigned) → 401 TOKEN_INVALID', async (alg) => {
    await expectInvalid(`Bearer ${forgeToken(header({ alg }), validClaims(), null)}`);
    // …and with a signature attached anyway.
    await expectInvalid(`Bearer ${forgeToken(header({ alg }), validClaims(), secret)}`);
  });

  it('RS256/ES256 header on an HS256 deployment → 401 TOKEN_INVALID', async () => {
    await expectInvalid(`Bearer ${forgeToken(header({ alg: 'RS256' }), validClaims(), secret)}`);
    await expectInvalid(`Bearer ${forgeToken(header({ alg: 'ES256' }), validClaims(), secret)}`);
  });

  it.each(['exp', 'iat', 'sub', 'sid', 'jti', 'iss', 'aud'])('missing %s claim → 401 TOKEN_INVALID', async (claim) => {
    const claims: Record<string, unknown> = validClaims();
    delete claims[claim];
    await expectInvalid(`Bearer ${forgeToken(header(), claims, secret)}`);
  });

  it.each([
    ['iss', { iss: 'https://evil.example' }],
    ['aud', { aud: 'another-api' }],
    ['sub (not a string)', { sub: 42 }],
    ['exp (not a number)', { exp: 'tomorrow' }],
  ])('wrong %s → 401 TOKEN_INVALID', async (_label, overrides) => {
    await expectInvalid(`Bearer ${forgeToken(header(), validClaims(overrides), secret)}`);
  });

  it('wrong typ (a plain JWT, not at+jwt) → 401 TOKEN_INVALID', async () => {
    await expectInvalid(`Bearer ${forgeToken(header({ typ: 'JWT' }), validClaims(), secret)}`);
    const { typ: _omitted, ...noTyp } = header();
    await expectInvalid(`Bearer ${forgeToken(noTyp, validClaims(), secret)}`);
  });

  it('iat in the future beyond the clock tolerance → 401 TOKEN_INVALID', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectInvalid(`Bearer ${forgeToken(header(), validClaims({ iat: now + 3600, exp: now + 4000 }), secret)}`);
  });

  it('nbf in the future → 401 TOKEN_INVALID', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectInvalid(`Bearer ${forgeToken(header(), validClaims({ nbf: now + 3600 }), secret)}`);
  });

  it('exp far beyond the configured lifetime (signed with our key) → 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const res = await me(`Bearer ${forgeToken(header(), validClaims({ iat: now - 3600, exp: now + 10 * 365 * 86_400 }), secret)}`);
    expect(res.statusCode).toBe(401);
  });

  it('expired (controlled clock: 15 min + tolerance later) → 401 TOKEN_EXPIRED', async () => {
    const fresh = await signUp(ctx.app);
    expect((await me(fresh.headers.authorization)).statusCode).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + (15 * 60 + 6) * 1000);
    await expectInvalid(fresh.headers.authorization, 'TOKEN_EXPIRED');
  });

  it('still valid just before expiry (controlled clock: 14 min later)', async () => {
    const fresh = await signUp(ctx.app);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 14 * 60 * 1000);
    expect((await me(fresh.headers.authorization)).statusCode).toBe(200);
  });

  it('a past exp signed with our key → 401 TOKEN_EXPIRED', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectInvalid(`Bearer ${forgeToken(header(), validClaims({ iat: now - 1000, exp: now - 100 }), secret)}`, 'TOKEN_EXPIRED');
  });

  it('revoked session (after logout) → 401 TOKEN_INVALID', async () => {
    const fresh = await signUp(ctx.app);
    await ctx.app.inject({ method: 'POST', url: '/auth/logout', headers: fresh.headers });
    await expectInvalid(fresh.headers.authorization);
  });

  it("sid of another user's live session → 401 TOKEN_INVALID", async () => {
    const victim = await signUp(ctx.app);
    const { sid } = decodeToken(victim.accessToken).payload;
    await expectInvalid(`Bearer ${forgeToken(header(), validClaims({ sid }), secret)}`);
  });

  it('deleted user → 401 TOKEN_INVALID', async () => {
    const fresh = await signUp(ctx.app);
    await ctx.db.deleteFrom('users').where('id', '=', fresh.id).execute();
    await expectInvalid(fresh.headers.authorization);
  });

  it('disabled user → 401 TOKEN_INVALID on the very next request', async () => {
    const fresh = await signUp(ctx.app);
    expect((await me(fresh.headers.authorization)).statusCode).toBe(200);
    await ctx.db.updateTable('users').set({ disabled: 1 }).where('id', '=', fresh.id).execute();
    await expectInvalid(fresh.headers.authorization);
  });

  it('a refresh token used as an access token → 401 TOKEN_INVALID', async () => {
    await expectInvalid(`Bearer ${user.refreshToken}`);
  });

  it('an access token used as a refresh token → 401 TOKEN_INVALID', async () => {
    const res = await ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.accessToken } });
    expectProblem(res, 401, 'TOKEN_INVALID');
  });

  it('a token signed with a weak, well-known secret → 401 TOKEN_INVALID', async () => {
    for (const weak of ['secret', 'super-secret-string', 'your-256-bit-secret']) {
      await expectInvalid(`Bearer ${forgeToken(header(), validClaims(), weak)}`);
    }
  });

  it('kid, jku, x5u and an embedded jwk in the header are ignored: the configured key is used', async () => {
    const attackerKey = 'attacker-controlled-key-material-0123456789';
    const embedded = { kty: 'oct', k: Buffer.from(attackerKey).toString('base64url') };
    for (const extra of [
      { kid: 'attacker' },
      { jku: 'https://evil.example/jwks' },
      { x5u: 'https://evil.example/cert' },
      { jwk: embedded },
    ]) {
      await expectInvalid(`Bearer ${forgeToken(header(extra), validClaims(), attackerKey)}`);
    }
  });

  it('the kid does not reveal the secret', () => {
    expect(kid).not.toContain(secret.slice(0, 8));
    expect(kid).not.toBe(createHash('sha256').update(secret).digest('base64url').slice(0, 16));
  });
});
