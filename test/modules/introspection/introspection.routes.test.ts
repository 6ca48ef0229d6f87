import { randomBytes } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createTestApp, expectProblem, type SignedIn, signUp, type TestContext, testClientIp } from '../../helpers/app.js';
import { decodeToken, forgeToken } from '../../helpers/tokens.js';

const CLIENT = { id: 'orders-api', secret: randomBytes(32).toString('hex') };
const OTHER = { id: 'billing', secret: randomBytes(32).toString('hex') };
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';

let ctx: TestContext;
let alice: SignedIn;
beforeAll(async () => {
  ctx = await createTestApp({
    INTROSPECTION_CLIENTS: `${CLIENT.id}:${CLIENT.secret}, ${OTHER.id}:${OTHER.secret}`,
    LOGIN_MAX_FAILURES_PER_IP: '3',
  });
  alice = await signUp(ctx.app);
});
afterAll(async () => ctx.close());

function introspect(
  body: string | undefined,
  { authorization = basic(CLIENT.id, CLIENT.secret), contentType = FORM, ip = testClientIp() } = {} as {
    authorization?: string | null;
    contentType?: string;
    ip?: string;
  },
) {
  const headers: Record<string, string> = {};
  if (authorization !== null) headers.authorization = authorization;
  if (body !== undefined) headers['content-type'] = contentType;
  const options: InjectOptions = { method: 'POST', url: '/oauth/introspect', headers, remoteAddress: ip };
  if (body !== undefined) options.payload = body;
  return ctx.app.inject(options);
}
const tokenForm = (token: string) => new URLSearchParams({ token }).toString();

function expectInactive(res: Awaited<ReturnType<typeof introspect>>) {
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json()).toEqual({ active: false });
  expect(res.headers['cache-control']).toBe('no-store');
}

describe('POST /oauth/introspect', () => {
  it('an active token: its claims, the client id, no-store', async () => {
    const res = await introspect(tokenForm(alice.accessToken));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const { payload } = decodeToken(alice.accessToken);
    expect(res.json()).toEqual({
      active: true,
      sub: alice.id,
      sid: payload.sid,
      iss: ctx.config.jwt.issuer,
      aud: ctx.config.jwt.audience,
      exp: payload.exp,
      iat: payload.iat,
      auth_time: payload.auth_time,
      token_type: 'access_token',
      client_id: CLIENT.id,
    });
  });

  it('each client is named as itself', async () => {
    const res = await introspect(tokenForm(alice.accessToken), { authorization: basic(OTHER.id, OTHER.secret) });
    expect(res.json()).toMatchObject({ active: true, client_id: OTHER.id });
  });

  it('the token_type_hint of RFC 7662 is accepted (and ignored)', async () => {
    const res = await introspect(`${tokenForm(alice.accessToken)}&token_type_hint=access_token`);
    expect(res.json()).toMatchObject({ active: true });
  });

  it('a logged-out token is inactive at once, though its signature and exp are still fine', async () => {
    const bob = await signUp(ctx.app);
    expect((await introspect(tokenForm(bob.accessToken))).json()).toMatchObject({ active: true });
    expect((await ctx.app.inject({ method: 'POST', url: '/auth/logout', headers: bob.headers })).statusCode).toBe(204);
    expectInactive(await introspect(tokenForm(bob.accessToken)));
  });

  it('an expired token (real key, live session, only exp past) is inactive', async () => {
    const { header, payload } = decodeToken(alice.accessToken);
    const now = Math.floor(Date.now() / 1000);
    const expired = forgeToken(header, { ...payload, iat: now - 1000, exp: now - 100 }, ctx.config.jwt.secret);
    expectInactive(await introspect(tokenForm(expired)));
  });

  it('a forged signature is inactive', async () => {
    const { header, payload } = decodeToken(alice.accessToken);
    expectInactive(await introspect(tokenForm(forgeToken(header, payload, randomBytes(48).toString('base64url')))));
  });

  it.each([
    ['one word', 'junk'],
    ['three empty segments', '..'],
    ['alg none', `${forgeToken({ alg: 'none', typ: 'at+jwt' }, { sub: 'x' }, null)}`],
    ['8 kB', 'a'.repeat(8000)],
  ])('junk (%s) is inactive, not an error', async (_name, token) => {
    expectInactive(await introspect(tokenForm(token)));
  });

  it('no token field: 400 VALIDATION_FAILED', async () => {
    expectProblem(await introspect('token_type_hint=access_token'), 400, 'VALIDATION_FAILED');
    expectProblem(await introspect(undefined), 400, 'VALIDATION_FAILED');
  });

  it('an unknown field, or the token twice: 400 VALIDATION_FAILED', async () => {
    expectProblem(await introspect(`${tokenForm(alice.accessToken)}&scope=all`), 400, 'VALIDATION_FAILED');
    expectProblem(await introspect(`${tokenForm('junk')}&${tokenForm(alice.accessToken)}`), 400, 'VALIDATION_FAILED');
  });

  it('a JSON body: 415 (the one form route takes forms only)', async () => {
    const res = await introspect(JSON.stringify({ token: alice.accessToken }), { contentType: 'application/json' });
    const body = expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(body.detail).toMatch(/x-www-form-urlencoded/);
  });

  it('every other route still answers 415 to a form body', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': FORM },
      payload: 'email=a%40example.com&password=x',
    });
    expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('client authentication', () => {
  const refused = (res: Awaited<ReturnType<typeof introspect>>) => {
    expectProblem(res, 401, 'INVALID_CLIENT');
    expect(res.headers['www-authenticate']).toBe('Basic realm="gatehouse"');
  };

  it('a wrong secret: 401 with a Basic challenge', async () => {
    refused(await introspect(tokenForm(alice.accessToken), { authorization: basic(CLIENT.id, OTHER.secret) }));
  });

  it('an unknown client: the same 401', async () => {
    refused(await introspect(tokenForm(alice.accessToken), { authorization: basic('nobody', CLIENT.secret) }));
  });

  it.each([
    ['no Authorization', null],
    ['a Bearer token', `Bearer ${'x'.repeat(20)}`],
    ['Basic without a colon', `Basic ${Buffer.from('orders-api').toString('base64')}`],
    ['Basic that is not base64', 'Basic !!!'],
    ['an empty secret', basic(CLIENT.id, '')],
  ])('%s: 401', async (_name, authorization) => {
    refused(await introspect(tokenForm(alice.accessToken), { authorization }));
  });

  it('is checked before the body: no credentials and a JSON body is 401, not 415', async () => {
    refused(await introspect('{}', { authorization: null, contentType: 'application/json' }));
  });

  it('refused credentials are throttled per client IP; good ones from another IP still pass', async () => {
    const ip = testClientIp();
    for (let i = 0; i < 3; i++) refused(await introspect(tokenForm(alice.accessToken), { authorization: basic(CLIENT.id, 'wrong'), ip }));
    const limited = await introspect(tokenForm(alice.accessToken), { ip });
    expectProblem(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await introspect(tokenForm(alice.accessToken))).json()).toMatchObject({ active: true });
  });

  it('successes do not count toward the limit', async () => {
    const ip = testClientIp();
    for (let i = 0; i < 5; i++) expect((await introspect(tokenForm('junk'), { ip })).statusCode).toBe(200);
  });

  it('with no INTROSPECTION_CLIENTS every caller is refused', async () => {
    const none = await createTestApp();
    try {
      const res = await none.app.inject({
        method: 'POST',
        url: '/oauth/introspect',
        headers: { authorization: basic('', ''), 'content-type': FORM },
        payload: tokenForm(alice.accessToken),
      });
      expectProblem(res, 401, 'INVALID_CLIENT');
    } finally {
      await none.close();
    }
  });
});

describe('INTROSPECTION_CLIENTS', () => {
  const load = (value: string) => () =>
    loadConfig({ NODE_ENV: 'test', JWT_SECRET: randomBytes(48).toString('base64url'), INTROSPECTION_CLIENTS: value });

  it('keeps only a SHA-256 digest of each secret', () => {
    const config = load(`${CLIENT.id}:${CLIENT.secret}`)();
    expect(config.introspectionClients).toEqual([{ id: CLIENT.id, secretSha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    expect(JSON.stringify(config)).not.toContain(CLIENT.secret);
  });

  it.each([
    ['no colon', 'orders-api', /must be id:secret/],
    ['a short secret', 'orders-api:short', /at least 32/],
    ['a bad id', 'orders api:'.concat(CLIENT.secret), /must be id:secret/],
    ['a duplicate id', `a:${CLIENT.secret},a:${OTHER.secret}`, /twice/],
  ])('refuses %s, never repeating a secret', (_name, value, message) => {
    expect(load(value)).toThrow(message);
    try {
      load(value)();
    } catch (err) {
      expect((err as Error).message).not.toContain(CLIENT.secret);
    }
  });
});
