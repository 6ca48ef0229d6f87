import { connect } from 'node:net';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FALLBACK_SECURITY_HEADERS } from '../../src/plugins/security.js';
import { createTestApp, expectProblem, signUp, uniqueEmail } from '../helpers/app.js';
import { expectRefused, expectSecurityHeaders } from '../helpers/attacks.js';

// Every answer carries the security headers, whatever produced it (a route, a hook, the error
// handler, the 404 handler, a CORS preflight, Fastify's router); CORS opens only to the configured
// origin; unknown and tracing methods get 405, never a reflection of the request.

const ORIGIN = 'https://app.example.com';
const ctx = await createTestApp({ CORS_ORIGINS: ORIGIN, LOGIN_MAX_FAILURES_PER_IP: '3' });
const user = await signUp(ctx.app);
afterAll(async () => ctx.close());

interface Operation {
  method: string;
  path: string;
}
const openapi = (await ctx.app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
const OPERATIONS: Operation[] = Object.entries(openapi.paths).flatMap(([path, ops]) =>
  Object.keys(ops).map((method) => ({ method: method.toUpperCase(), path })),
);
const MISSING = '01900000-0000-7000-8000-000000000000';
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, MISSING);

describe('security headers on every answer', () => {
  it('the OpenAPI document lists every route (59 operations)', () => {
    expect(OPERATIONS).toHaveLength(59);
  });

  it.each(OPERATIONS.map((op) => [`${op.method} ${op.path}`, op] as const))('%s, without a token', async (_label, op) => {
    const res = await ctx.app.inject({
      method: op.method as InjectOptions['method'],
      url: concrete(op.path),
      ...(['POST', 'PUT', 'PATCH'].includes(op.method) && { payload: {} }),
    });
    expect(res.statusCode).toBeLessThan(500);
    expectSecurityHeaders(res);
    // Only the public key set may be cached; every other answer may carry tokens or personal data.
    // Public key material and discovery metadata are meant to be cached; nothing else is.
    expect(res.headers['cache-control']).toBe(op.path.startsWith('/.well-known/') ? 'public, max-age=300' : 'no-store');
  });

  const answers: [string, number, () => InjectOptions][] = [
    [
      '400 MALFORMED_JSON',
      400,
      () => ({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'application/json' }, payload: '{' }),
    ],
    ['400 VALIDATION_FAILED', 400, () => ({ method: 'POST', url: '/auth/login', payload: { email: 'not an email', password: 'x' } })],
    ['401 TOKEN_INVALID', 401, () => ({ url: '/auth/me', headers: { authorization: 'Bearer a.b.c' } })],
    ['403 FORBIDDEN', 403, () => ({ url: '/users', headers: user.headers })],
    ['404 for a route', 404, () => ({ url: '/no/such/route' })],
    ['404 for a resource', 404, () => ({ url: `/books/${MISSING}`, headers: user.headers })],
    ['405', 405, () => ({ method: 'DELETE', url: '/healthz' })],
    ['413', 413, () => ({ method: 'POST', url: '/auth/login', payload: { email: 'a@example.com', password: 'x'.repeat(70_000) } })],
    ['415', 415, () => ({ method: 'POST', url: '/auth/login', headers: { 'content-type': 'text/plain' }, payload: 'x' })],
    ['400 from the router (undecodable URL)', 400, () => ({ url: '/books/%ZZ' })],
    ['404 from the router (over-long path segment)', 404, () => ({ url: `/books/${'x'.repeat(201)}` })],
    ['405 for a plain OPTIONS', 405, () => ({ method: 'OPTIONS', url: '/books' })],
    [
      '204 CORS preflight',
      204,
      () => ({ method: 'OPTIONS', url: '/books', headers: { origin: ORIGIN, 'access-control-request-method': 'GET' } }),
    ],
    ['200 HEAD', 200, () => ({ method: 'HEAD', url: '/healthz' })],
    ['200 /openapi.json', 200, () => ({ url: '/openapi.json' })],
  ];

  it.each(answers)('%s', async (_label, status, request) => {
    const res = await ctx.app.inject(request());
    expect(res.statusCode).toBe(status);
    expectSecurityHeaders(res);
    expect(res.headers['cache-control']).toBe('no-store');
    if (status >= 400) expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('429 RATE_LIMITED', async () => {
    for (let i = 0; i < 3; i++)
      await ctx.app.inject({ method: 'POST', url: '/auth/login', payload: { email: uniqueEmail(), password: 'wrong password!!' } });
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: uniqueEmail(), password: 'wrong password!!' },
    });
    expectProblem(res, 429, 'RATE_LIMITED');
    expectSecurityHeaders(res);
  });

  it('the interactive docs page has its own strict CSP (no inline or remote scripts, no plugins)', async () => {
    const res = await ctx.app.inject({ url: '/docs/' });
    expect(res.statusCode).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'self'\s*;/);
    expect(csp).toContain("object-src 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it("the fallback headers (router errors) match helmet's values, so the two cannot drift apart", async () => {
    const helmetAnswer = await ctx.app.inject({ url: '/no/such/route' });
    const routerAnswer = await ctx.app.inject({ url: '/books/%ZZ' });
    for (const [name, value] of Object.entries(FALLBACK_SECURITY_HEADERS)) {
      expect(routerAnswer.headers[name], name).toBe(value);
      // helmet's CSP lists more (harmless for JSON) directives; the fallback keeps the strict core.
      if (name !== 'content-security-policy') expect(helmetAnswer.headers[name], name).toBe(value);
    }
    expect(routerAnswer.body).not.toContain('%ZZ');
  });
});

describe('CORS', () => {
  const preflight = (origin: string, method = 'POST', headers = 'content-type') =>
    ctx.app.inject({
      method: 'OPTIONS',
      url: '/auth/login',
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
    });

  it('the allowed origin: preflight and request get that exact origin, Vary: Origin, never credentials', async () => {
    const pre = await preflight(ORIGIN);
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
    const res = await ctx.app.inject({ url: '/healthz', headers: { origin: ORIGIN } });
    expect(res.headers['access-control-allow-origin']).toBe(ORIGIN);
    expect(String(res.headers.vary)).toContain('Origin');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it.each([
    'https://evil.example',
    'null',
    'https://app.example.com.evil.example',
    'https://evil-app.example.com',
    'https://evilapp.example.com',
    'http://app.example.com',
    'https://app.example.com:8443',
    'https://app.example.co',
    'https://app.example.com/',
  ])('origin %j: no Access-Control-Allow-Origin on the preflight or the request', async (origin) => {
    const pre = await preflight(origin);
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    const res = await ctx.app.inject({ url: '/auth/me', headers: { origin, ...user.headers } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('requested headers and methods are not reflected: only the fixed lists are allowed', async () => {
    const pre = await preflight(ORIGIN, 'TRACE', 'x-evil, cookie, authorization');
    expect(pre.headers['access-control-allow-headers']).toBe('Authorization, Content-Type');
    expect(pre.headers['access-control-allow-methods']).toBe('GET, POST, PUT, PATCH, DELETE');
  });

  it('an OPTIONS that is not a preflight → 405 problem+json with Allow (was a text/plain 400)', async () => {
    for (const headers of [{}, { origin: ORIGIN }]) {
      const res = await ctx.app.inject({ method: 'OPTIONS', url: '/bucketlists', headers });
      expectProblem(res, 405, 'METHOD_NOT_ALLOWED');
      expect(res.headers.allow).toBe('GET, HEAD, POST');
    }
  });

  it('with no CORS_ORIGINS configured, no origin gets CORS headers and a preflight is 405', async () => {
    const closed = await createTestApp();
    try {
      const res = await closed.app.inject({ url: '/healthz', headers: { origin: ORIGIN } });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      const pre = await closed.app.inject({
        method: 'OPTIONS',
        url: '/auth/login',
        headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
      });
      expectProblem(pre, 405, 'METHOD_NOT_ALLOWED');
      expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await closed.close();
    }
  });
});

describe('methods', () => {
  it.each(['TRACE', 'CONNECT', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'PURGE'])(
    '%s on a protected route → 405 with Allow, before authentication, nothing echoed',
    async (method) => {
      const { res } = await expectRefused(
        ctx,
        // light-my-request's method type lists only the common methods; Node and Fastify accept these.
        { method: method as 'GET', url: '/books', headers: { ...user.headers, cookie: 'session=secret-cookie' } },
        405,
        'METHOD_NOT_ALLOWED',
      );
      expect(res.headers.allow).toBe('GET, HEAD, POST');
      expect(res.body).not.toContain(user.accessToken);
      expect(res.body).not.toContain('secret-cookie');
    },
  );

  it('HEAD answers headers only', async () => {
    const res = await ctx.app.inject({ method: 'HEAD', url: '/books', headers: user.headers });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
  });
});

describe('over a real socket: what Node rejects before Fastify', () => {
  // Node's HTTP parser refuses these before any route or hook runs; Fastify answers with a fixed
  // JSON body (not problem+json: see SECURITY.md). What matters: nothing is echoed and the
  // server keeps serving.
  beforeAll(async () => {
    await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  });

  async function raw(request: string): Promise<string> {
    const address = ctx.app.server.address();
    if (!address || typeof address === 'string') throw new Error('not listening');
    return new Promise((resolve, reject) => {
      const socket = connect(address.port, '127.0.0.1', () => socket.end(request));
      let data = '';
      socket.on('data', (chunk) => {
        data += chunk;
      });
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
  }

  it('an unknown method token → 400, nothing echoed, the server keeps serving', async () => {
    const answer = await raw('FOOBAR /books HTTP/1.1\r\nHost: x\r\nX-Echo: reflected-marker\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).not.toContain('reflected-marker');
    expect(await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('a 20 KB Authorization header → 431, quickly, the server keeps serving', async () => {
    const started = performance.now();
    const answer = await raw(`GET /auth/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await raw('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('TRACE over the wire → 405 problem+json with helmet headers', async () => {
    const answer = await raw('TRACE /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer trace-marker\r\nConnection: close\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 405 /);
    expect(answer.toLowerCase()).toContain('content-type: application/problem+json');
    expect(answer.toLowerCase()).toContain('x-content-type-options: nosniff');
    expect(answer).not.toContain('trace-marker');
  });
});
