import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type SignedIn, STRONG_PASSWORD, signUp, type TestContext, uniqueEmail } from '../helpers/app.js';

let ctx: TestContext;
let user: SignedIn;
beforeAll(async () => {
  ctx = await createTestApp({ CORS_ORIGINS: 'https://app.example.com' });
  user = await signUp(ctx.app);
});
afterAll(async () => ctx.close());

const countUsers = async () => Number((await ctx.db.selectFrom('users').select(ctx.db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

describe("problem+json for every error, Fastify's own included", () => {
  it('unknown route → 404 NOT_FOUND', async () => {
    expectProblem(await ctx.app.inject({ url: '/no/such/route' }), 404, 'NOT_FOUND');
  });

  it('known route, other method → 405 with Allow', async () => {
    const res = await ctx.app.inject({ method: 'DELETE', url: '/auth/login' });
    expectProblem(res, 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.allow).toBe('POST');
    const params = await ctx.app.inject({ method: 'POST', url: `/users/${user.id}`, headers: user.headers });
    expect(params.headers.allow).toBe('DELETE, GET, HEAD, PATCH');
  });

  it('TRACE → 405', async () => {
    // light-my-request's method type omits TRACE, though Node and Fastify accept it.
    expectProblem(await ctx.app.inject({ method: 'TRACE' as 'GET', url: '/healthz' }), 405, 'METHOD_NOT_ALLOWED');
  });

  it('malformed JSON → 400 MALFORMED_JSON, nothing created', async () => {
    const before = await countUsers();
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: '{"email": "a@b.c",',
    });
    expectProblem(res, 400, 'MALFORMED_JSON');
    expect(await countUsers()).toBe(before);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml'])(
    'body as %s → 415 UNSUPPORTED_MEDIA_TYPE',
    async (type) => {
      const res = await ctx.app.inject({
        method: 'POST',
        url: '/auth/register',
        headers: { 'content-type': type },
        payload: `email=${uniqueEmail()}`,
      });
      expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    },
  );

  it('body over 64 KiB → 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: uniqueEmail(), password: 'x'.repeat(70 * 1024) },
    });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('a 1 MB password → 413, quickly and without hashing', async () => {
    const started = performance.now();
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: user.email, password: 'x'.repeat(1024 * 1024) },
    });
    expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it.each([
    ['__proto__', '{"email":"x@example.com","password":"correct horse battery staple","__proto__":{"role":"admin"}}'],
    [
      'constructor.prototype',
      '{"email":"x@example.com","password":"correct horse battery staple","constructor":{"prototype":{"role":"admin"}}}',
    ],
  ])('prototype poisoning via %s → 400, nothing created', async (_label, payload) => {
    const before = await countUsers();
    const res = await ctx.app.inject({ method: 'POST', url: '/auth/register', headers: { 'content-type': 'application/json' }, payload });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(await countUsers()).toBe(before);
  });

  it('wrong JSON types are not coerced: 400 with the failing path', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: uniqueEmail(), password: 123456789012345 },
    });
    expect(expectProblem(res, 400, 'VALIDATION_FAILED').errors).toEqual([{ path: '/password', message: 'must be string' }]);
  });

  it('a JSON array or scalar body → 400', async () => {
    for (const payload of ['[]', '"x"', 'null', '42']) {
      const res = await ctx.app.inject({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/json' }, payload });
      expect(res.statusCode).toBe(400);
    }
  });

  it('SQL-injection strings are plain data', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: "' OR 1=1 --@example.com", password: "' OR '1'='1" },
    });
    expect([400, 401]).toContain(res.statusCode);
    const named = await ctx.app.inject({
      method: 'PATCH',
      url: `/users/${user.id}`,
      headers: user.headers,
      payload: { name: "Robert'); DROP TABLE users;--" },
    });
    expect(named.json().name).toBe("Robert'); DROP TABLE users;--");
    expect(await countUsers()).toBeGreaterThan(0);
  });

  it('NUL characters in a body, query or path → 400 VALIDATION_FAILED on every database, nothing changes', async () => {
    const before = await ctx.db.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirst();
    const body = await ctx.app.inject({
      method: 'PATCH',
      url: `/users/${user.id}`,
      headers: user.headers,
      payload: { name: 'nul\u0000byte' },
    });
    expectProblem(body, 400, 'VALIDATION_FAILED');
    expectProblem(await ctx.app.inject({ url: '/books?q=a%00b', headers: user.headers }), 400, 'VALIDATION_FAILED');
    expectProblem(await ctx.app.inject({ url: '/books/x%00y', headers: user.headers }), 400, 'VALIDATION_FAILED');
    expect(await ctx.db.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirst()).toEqual(before);
  });
});

describe('HTTP hygiene', () => {
  it('security headers on success, error and 404 answers; no X-Powered-By', async () => {
    for (const res of [
      await ctx.app.inject({ url: '/healthz' }),
      await ctx.app.inject({ url: '/auth/me' }),
      await ctx.app.inject({ url: '/nowhere' }),
    ]) {
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      expect(res.headers['strict-transport-security']).toContain('max-age=');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });

  it('CORS: an allowed origin gets headers, preflight included; another origin gets none', async () => {
    const preflight = await ctx.app.inject({
      method: 'OPTIONS',
      url: '/auth/login',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(String(preflight.headers['access-control-allow-methods'])).toContain('POST');

    const evil = await ctx.app.inject({ url: '/healthz', headers: { origin: 'https://evil.example' } });
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
    const evilPreflight = await ctx.app.inject({
      method: 'OPTIONS',
      url: '/auth/login',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(evilPreflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('responses never contain password hashes or the JWT secret', async () => {
    const email = uniqueEmail();
    const reg = await ctx.app.inject({ method: 'POST', url: '/auth/register', payload: { email, password: STRONG_PASSWORD } });
    const login = await ctx.app.inject({ method: 'POST', url: '/auth/login', payload: { email, password: STRONG_PASSWORD } });
    const me = await ctx.app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${login.json().access_token}` } });
    for (const res of [reg, login, me]) {
      expect(res.body).not.toContain('$argon2');
      expect(res.body).not.toContain(ctx.config.jwt.secret);
      expect(res.body).not.toContain('password_hash');
    }
  });
});
