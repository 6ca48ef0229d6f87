import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { limitOfKey } from '../../../src/modules/metrics/metrics.service.js';
import { RequestMetrics } from '../../../src/modules/metrics/request-metrics.js';
import { totpCode } from '../../../src/modules/mfa/totp.js';
import { createTestApp, STRONG_PASSWORD, TEST_DB, type TestContext, uniqueEmail } from '../../helpers/app.js';
import { parsePrometheusText, type Sample, sampleValue } from '../../helpers/prometheus.js';

// GET /metrics over real HTTP: the app listens on a loopback port, the metrics on another, and
// every assertion reads the scrape a Prometheus server would get.

interface Served {
  ctx: TestContext;
  /** The public listener, http://127.0.0.1:port */
  base: string;
  /** http://127.0.0.1:port/metrics on the metrics listener */
  metricsUrl: string;
}

/** An app with metrics on (METRICS_PORT set), its public and metrics listeners on free loopback ports. */
async function serve(env: Record<string, string> = {}): Promise<Served> {
  // The value of METRICS_PORT only matters to server.ts; here the test picks the port (0: a free one).
  const ctx = await createTestApp({ METRICS_PORT: '9464', ...env });
  await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  const listener = ctx.app.gatehouse.metrics;
  if (!listener) throw new Error('metrics are off');
  const address = await listener.listen({ host: '127.0.0.1', port: 0 });
  return {
    ctx,
    base: `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`,
    metricsUrl: `http://127.0.0.1:${address.port}/metrics`,
  };
}

async function scrapeText(metricsUrl: string): Promise<string> {
  const res = await fetch(metricsUrl);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return res.text();
}

const scrape = async (metricsUrl: string): Promise<Sample[]> => parsePrometheusText(await scrapeText(metricsUrl));

/** Scrapes until `ready(samples)` holds: some counts (failed sign-ins' events) are written in the background. */
async function scrapeUntil(metricsUrl: string, ready: (samples: Sample[]) => boolean): Promise<Sample[]> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const samples = await scrape(metricsUrl);
    if (ready(samples) || performance.now() > deadline) return samples;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function call(base: string, method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(token && { authorization: `Bearer ${token}` }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, text };
}

const requests = (method: string, route: string, status: number) => ({ method, route, status: String(status) });

describe('GET /metrics: counts, exactly', () => {
  let s: Served;
  const secrets: string[] = [];
  let samples: Sample[];

  beforeAll(async () => {
    // One failure per email before 429: the throttled sign-in takes two requests, not six hashes.
    s = await serve({ LOGIN_MAX_FAILURES_PER_EMAIL: '1' });
    const ada = uniqueEmail('ada');
    const bob = uniqueEmail('bob');
    for (const email of [ada, bob])
      expect((await call(s.base, 'POST', '/auth/register', { email, password: STRONG_PASSWORD })).status).toBe(201);
    const signedIn = await call(s.base, 'POST', '/auth/login', { email: ada, password: STRONG_PASSWORD });
    expect(signedIn.status).toBe(200);
    const wrong = 'not the password at all';
    expect((await call(s.base, 'POST', '/auth/login', { email: bob, password: wrong })).status).toBe(401);
    expect((await call(s.base, 'POST', '/auth/login', { email: bob, password: wrong })).status).toBe(429);
    const token: string = signedIn.body.access_token;
    const book = await call(s.base, 'POST', '/books', { title: 'Dune', author: 'Frank Herbert', published_year: 1965 }, token);
    expect(book.status).toBe(201);
    expect((await call(s.base, 'GET', `/books/${book.body.id}`, undefined, token)).status).toBe(200);
    const missingBook = '01900000-0000-7000-8000-000000000000';
    expect((await call(s.base, 'GET', `/books/${missingBook}?q=x`, undefined, token)).status).toBe(404);
    expect((await call(s.base, 'GET', '/no/such/route?email=leak@example.com')).status).toBe(404);
    secrets.push(ada, bob, STRONG_PASSWORD, wrong, token, signedIn.body.refresh_token, book.body.id, missingBook, 'leak@example.com');
    // login.failed and login.throttled are written in the background (the answer does not wait).
    samples = await scrapeUntil(
      s.metricsUrl,
      (now) =>
        sampleValue(now, 'gatehouse_security_events_total', { type: 'login.failed' }) === 1 &&
        sampleValue(now, 'gatehouse_security_events_total', { type: 'login.throttled' }) === 1,
    );
  });
  afterAll(async () => s.ctx.close());

  it('requests by method, route pattern and status, with one latency observation each', () => {
    const count = (method: string, route: string, status: number) =>
      sampleValue(samples, 'gatehouse_http_requests_total', requests(method, route, status));
    expect(count('POST', '/auth/register', 201)).toBe(2);
    expect(count('POST', '/auth/login', 200)).toBe(1);
    expect(count('POST', '/auth/login', 401)).toBe(1);
    expect(count('POST', '/auth/login', 429)).toBe(1);
    expect(count('POST', '/books', 201)).toBe(1);
    expect(count('GET', '/books/:id', 200)).toBe(1);
    expect(count('GET', '/books/:id', 404)).toBe(1);
    expect(count('GET', 'unmatched', 404)).toBe(1);
    // Nothing else: the scrapes go to their own listener and are not requests of the app.
    const all = samples.filter((x) => x.name === 'gatehouse_http_requests_total');
    expect(all.reduce((n, x) => n + x.value, 0)).toBe(9);

    const histogram = (suffix: string, method: string, route: string, extra: Record<string, string> = {}) =>
      sampleValue(samples, `gatehouse_http_request_duration_seconds_${suffix}`, { method, route, ...extra });
    expect(histogram('count', 'GET', '/books/:id')).toBe(2);
    expect(histogram('count', 'POST', '/auth/login')).toBe(3);
    expect(histogram('bucket', 'POST', '/auth/login', { le: '+Inf' })).toBe(3);
    expect(histogram('sum', 'POST', '/auth/login')).toBeGreaterThan(0);
    // A sign-in hashes a password (tens of milliseconds); the throttled one answers before any hash.
    expect(histogram('bucket', 'POST', '/auth/login', { le: '0.001' })).toBeLessThanOrEqual(1);
  });

  it('sign-in outcomes, throttle hits by limit, security events by type', () => {
    const signIns = (method: string, outcome: string) => sampleValue(samples, 'gatehouse_sign_ins_total', { method, outcome });
    expect(signIns('password', 'success')).toBe(1);
    expect(signIns('password', 'failure')).toBe(1);
    expect(signIns('password', 'throttled')).toBe(1);
    expect(signIns('password', 'mfa_required')).toBe(0);
    expect(signIns('password', 'error')).toBe(0);
    expect(signIns('refresh', 'success')).toBe(0);
    expect(signIns('totp', 'success')).toBe(0);

    expect(sampleValue(samples, 'gatehouse_throttle_hits_total', { limit: 'login:email' })).toBe(1);
    expect(sampleValue(samples, 'gatehouse_throttle_hits_total', { limit: 'login:ip' })).toBe(0);
    expect(sampleValue(samples, 'gatehouse_throttle_hits_total', { limit: 'register:ip' })).toBe(0);

    const events = (type: string) => sampleValue(samples, 'gatehouse_security_events_total', { type });
    expect(events('login.succeeded')).toBe(1);
    expect(events('login.failed')).toBe(1);
    expect(events('login.throttled')).toBe(1);
    expect(events('logout')).toBe(0);
  });

  it('the database, the event loop and the process', () => {
    expect(sampleValue(samples, 'gatehouse_database_info', { kind: TEST_DB })).toBe(1);
    const pool = ['connections', 'idle_connections', 'waiting_queries', 'max_connections'].map((n) =>
      sampleValue(samples, `gatehouse_database_pool_${n}`),
    );
    if (TEST_DB === 'postgres') {
      const [total, idle, waiting, max] = pool as number[];
      expect(max).toBe(10);
      expect(total).toBeGreaterThanOrEqual(1);
      expect(total).toBeLessThanOrEqual(max as number);
      expect(idle).toBeLessThanOrEqual(total as number);
      expect(waiting).toBe(0);
    } else {
      expect(pool).toEqual([undefined, undefined, undefined, undefined]);
    }
    expect(sampleValue(samples, 'gatehouse_nodejs_eventloop_lag_p99_seconds')).toBeGreaterThan(0);
    expect(sampleValue(samples, 'gatehouse_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('no email, password, token, id, query string or IP address in any name or label', async () => {
    const text = await scrapeText(s.metricsUrl);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/127\.0\.0\.1|::1|::ffff:/);
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
    expect(text).not.toContain('@');
    expect(text).not.toContain('?');
    // Every name is Gatehouse's; every route label is a registered pattern or "unmatched".
    const parsed = parsePrometheusText(text);
    expect(parsed.filter((x) => !x.name.startsWith('gatehouse_'))).toEqual([]);
    const routes = new Set(parsed.flatMap((x) => (x.labels.route === undefined ? [] : [x.labels.route])));
    for (const route of routes) {
      if (route !== 'unmatched')
        expect(s.ctx.app.hasRoute({ method: route === '/books/:id' ? 'GET' : 'POST', url: route }), route).toBe(true);
    }
    expect([...routes].sort()).toEqual(['/auth/login', '/auth/register', '/books', '/books/:id', 'unmatched']);
  });

  it('answers two scrapes at once, each whole', async () => {
    const [a, b] = await Promise.all([scrapeText(s.metricsUrl), scrapeText(s.metricsUrl)]);
    for (const text of [a, b]) {
      const parsed = parsePrometheusText(text as string);
      expect(sampleValue(parsed, 'gatehouse_http_requests_total', requests('GET', '/books/:id', 200))).toBe(1);
      expect(sampleValue(parsed, 'gatehouse_sign_ins_total', { method: 'password', outcome: 'success' })).toBe(1);
    }
  });

  it('serves GET /metrics only: other paths and methods there are 404', async () => {
    const metricsBase = s.metricsUrl.slice(0, -'/metrics'.length);
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/metrics/'],
      ['GET', '/healthz'],
      ['GET', '/books'],
      ['POST', '/metrics'],
      ['DELETE', '/metrics'],
    ] as const) {
      const res = await fetch(`${metricsBase}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(await res.text()).toBe('Not Found\n');
    }
    const withQuery = await fetch(`${s.metricsUrl}?name[]=x`);
    expect(withQuery.status).toBe(200);
    await withQuery.text();
  });

  it('the public listener has no /metrics: 404 NOT_FOUND like any unknown path', async () => {
    const res = await call(s.base, 'GET', '/metrics');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('NOT_FOUND');
    expect(res.text).not.toContain('gatehouse_');
    expect(s.ctx.app.hasRoute({ method: 'GET', url: '/metrics' })).toBe(false);
  });
});

describe('sign-ins by method', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve();
  });
  afterAll(async () => s.ctx.close());

  const delta = (before: Sample[], after: Sample[], name: string, labels: Record<string, string>) =>
    (sampleValue(after, name, labels) ?? 0) - (sampleValue(before, name, labels) ?? 0);

  it('refresh: success and failure', async () => {
    const email = uniqueEmail();
    await call(s.base, 'POST', '/auth/register', { email, password: STRONG_PASSWORD });
    const session = await call(s.base, 'POST', '/auth/login', { email, password: STRONG_PASSWORD });
    const before = await scrape(s.metricsUrl);
    expect((await call(s.base, 'POST', '/auth/refresh', { refresh_token: session.body.refresh_token })).status).toBe(200);
    expect((await call(s.base, 'POST', '/auth/refresh', { refresh_token: 'x'.repeat(43) })).status).toBe(401);
    const after = await scrape(s.metricsUrl);
    expect(delta(before, after, 'gatehouse_sign_ins_total', { method: 'refresh', outcome: 'success' })).toBe(1);
    expect(delta(before, after, 'gatehouse_sign_ins_total', { method: 'refresh', outcome: 'failure' })).toBe(1);
    expect(delta(before, after, 'gatehouse_sign_ins_total', { method: 'password', outcome: 'success' })).toBe(0);
  });

  it('password → mfa_required, then TOTP success and a wrong recovery code as failure', async () => {
    const email = uniqueEmail();
    await call(s.base, 'POST', '/auth/register', { email, password: STRONG_PASSWORD });
    const token = (await call(s.base, 'POST', '/auth/login', { email, password: STRONG_PASSWORD })).body.access_token;
    const { secret } = (await call(s.base, 'POST', '/auth/mfa/totp', undefined, token)).body;
    // A code of the previous step, so the sign-in below can use the current one.
    const confirmed = await call(s.base, 'POST', '/auth/mfa/totp/confirm', { code: totpCode(secret, Date.now() - 30_000) }, token);
    expect(confirmed.status).toBe(200);

    const before = await scrape(s.metricsUrl);
    const first = await call(s.base, 'POST', '/auth/login', { email, password: STRONG_PASSWORD });
    expect(first.body.mfa_required).toBe(true);
    const verified = await call(s.base, 'POST', '/auth/mfa/verify', { mfa_token: first.body.mfa_token, code: totpCode(secret) });
    expect(verified.status).toBe(200);
    const second = await call(s.base, 'POST', '/auth/login', { email, password: STRONG_PASSWORD });
    const wrongCode = await call(s.base, 'POST', '/auth/mfa/verify', {
      mfa_token: second.body.mfa_token,
      recovery_code: 'AAAA-BBBB-CCCC-DDDD',
    });
    expect(wrongCode.status).toBe(401);
    const after = await scrape(s.metricsUrl);
    const signIns = (method: string, outcome: string) => delta(before, after, 'gatehouse_sign_ins_total', { method, outcome });
    expect(signIns('password', 'mfa_required')).toBe(2);
    expect(signIns('password', 'success')).toBe(0);
    expect(signIns('totp', 'success')).toBe(1);
    expect(signIns('recovery_code', 'failure')).toBe(1);
    expect(delta(before, after, 'gatehouse_security_events_total', { type: 'login.succeeded' })).toBe(1);
    expect(delta(before, after, 'gatehouse_http_requests_total', requests('POST', '/auth/mfa/verify', 401))).toBe(1);
  });

  it('passkey: a response that does not verify is a failure', async () => {
    const options = await call(s.base, 'POST', '/auth/passkeys/authentication/options');
    expect(options.status).toBe(200);
    const before = await scrape(s.metricsUrl);
    const res = await call(s.base, 'POST', '/auth/passkeys/authentication', {
      challenge_id: options.body.challenge_id,
      response: { id: 'bm90LWEtY3JlZGVudGlhbA', type: 'public-key', response: {} },
    });
    expect(res.status).toBe(401);
    const after = await scrape(s.metricsUrl);
    expect(delta(before, after, 'gatehouse_sign_ins_total', { method: 'passkey', outcome: 'failure' })).toBe(1);
  });
});

describe('metrics off, and the listener lifecycle', () => {
  it('without METRICS_PORT: no listener and no per-request hook', async () => {
    const off = await createTestApp();
    const on = await createTestApp({ METRICS_PORT: '9464' });
    try {
      expect(off.config.metrics).toBeNull();
      expect(off.app.gatehouse.metrics).toBeNull();
      const hooksOff = off.app.printRoutes({ includeHooks: true, commonPrefix: false });
      const hooksOn = on.app.printRoutes({ includeHooks: true, commonPrefix: false });
      expect(hooksOn).toContain('recordRequestMetrics');
      expect(hooksOff).not.toContain('recordRequestMetrics');
      expect(hooksOff).not.toContain('onResponse');
      expect((await off.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
    } finally {
      await off.close();
      await on.close();
    }
  });

  it('two apps in one process count apart (a Registry each)', async () => {
    const a = await serve();
    const b = await serve();
    try {
      expect((await call(a.base, 'GET', '/healthz')).status).toBe(200);
      const healthz = requests('GET', '/healthz', 200);
      expect(sampleValue(await scrape(a.metricsUrl), 'gatehouse_http_requests_total', healthz)).toBe(1);
      expect(sampleValue(await scrape(b.metricsUrl), 'gatehouse_http_requests_total', healthz)).toBeUndefined();
    } finally {
      await a.ctx.close();
      await b.ctx.close();
    }
  });

  it('closing the app closes the metrics listener, kept-alive scraper connections included', async () => {
    const s = await serve();
    expect((await fetch(s.metricsUrl, { keepalive: true })).status).toBe(200);
    await s.ctx.close();
    await expect(fetch(s.metricsUrl)).rejects.toThrow();
  });
});

describe('RequestMetrics', () => {
  it('writes cumulative buckets (a value on a bound counts in it), sum and count, and escapes label values', () => {
    const metrics = new RequestMetrics('t_requests_total', 't_seconds');
    for (const seconds of [0.001, 0.0011, 0.3, 11]) metrics.observe('GET', '/a/:id', 200, seconds);
    metrics.observe('GET', '/a/:id', 404, 0.004);
    metrics.observe('POST', '/odd\\"route"\n', 201, 0);
    const text = metrics.render();
    const samples = parsePrometheusText(text);
    const a = { method: 'GET', route: '/a/:id' };
    expect(sampleValue(samples, 't_requests_total', { ...a, status: '200' })).toBe(4);
    expect(sampleValue(samples, 't_requests_total', { ...a, status: '404' })).toBe(1);
    const bucket = (le: string) => sampleValue(samples, 't_seconds_bucket', { ...a, le });
    expect([bucket('0.001'), bucket('0.0025'), bucket('0.005'), bucket('0.25'), bucket('0.5'), bucket('10'), bucket('+Inf')]).toEqual([
      1, 2, 3, 3, 4, 4, 5,
    ]);
    expect(sampleValue(samples, 't_seconds_count', a)).toBe(5);
    expect(sampleValue(samples, 't_seconds_sum', a)).toBeCloseTo(11.3061, 10);
    expect(text).toContain('route="/odd\\\\\\"route\\"\\n"');
    expect(sampleValue(samples, 't_requests_total', { method: 'POST', route: '/odd\\"route"\n', status: '201' })).toBe(1);
    expect(text.match(/^# TYPE .*$/gm)).toEqual(['# TYPE t_requests_total counter', '# TYPE t_seconds histogram']);
  });
});

describe('limitOfKey', () => {
  it('labels a limiter key by its fixed prefix, never by what follows it', () => {
    expect(limitOfKey('login:email:ada@example.com')).toBe('login:email');
    expect(limitOfKey('login:email:"a:b"@example.com')).toBe('login:email');
    expect(limitOfKey('login:ip:::ffff:10.0.0.1')).toBe('login:ip');
    expect(limitOfKey('register:ip:2001:db8::1')).toBe('register:ip');
    expect(limitOfKey('mfa:user:01900000-0000-7000-8000-000000000000')).toBe('mfa:user');
    expect(limitOfKey('introspect:ip:10.0.0.1')).toBe('introspect:ip');
    // An unknown prefix is "other", so a new limit can never put its key into a label.
    expect(limitOfKey('new:thing:ada@example.com')).toBe('other');
    expect(limitOfKey('ada@example.com')).toBe('other');
    // The limiter's own bookkeeping (one login.throttled event per email and window) refuses nobody.
    expect(limitOfKey('event:throttled:ada@example.com')).toBeNull();
  });
});

describe('METRICS_PORT and METRICS_HOST', () => {
  const base = () => ({
    JWT_SECRET: randomBytes(48).toString('base64url'),
    DATABASE_URL: `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-metrics-')), 'g.db')}`,
  });
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      loadConfig({ ...base(), ...env });
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };

  it('off by default and with 0; on a loopback address unless METRICS_HOST says otherwise', () => {
    expect(loadConfig(base()).metrics).toBeNull();
    expect(loadConfig({ ...base(), METRICS_PORT: '0' }).metrics).toBeNull();
    expect(loadConfig({ ...base(), METRICS_PORT: '9464' }).metrics).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadConfig({ ...base(), METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' }).metrics).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(loadConfig({ ...base(), METRICS_PORT: '9464', METRICS_HOST: '::1' }).metrics).toEqual({ host: '::1', port: 9464 });
    expect(loadConfig({ ...base(), METRICS_PORT: '9464', METRICS_HOST: 'metrics.internal' }).metrics?.host).toBe('metrics.internal');
  });

  it('refuses a bad port, a bad host, and the public port, each in its own line', () => {
    expect(problemsOf({ METRICS_PORT: 'ninety' })).toEqual(['METRICS_PORT must be an integer between 0 and 65535 (got "ninety")']);
    expect(problemsOf({ METRICS_PORT: '65536' })).toEqual(['METRICS_PORT must be an integer between 0 and 65535 (got "65536")']);
    expect(problemsOf({ METRICS_PORT: '-1' })).toEqual(['METRICS_PORT must be an integer between 0 and 65535 (got "-1")']);
    expect(problemsOf({ METRICS_PORT: '9464', METRICS_HOST: 'http://127.0.0.1' })).toEqual([
      'METRICS_HOST must be an IP address or a host name such as 127.0.0.1 or localhost (got "http://127.0.0.1")',
    ]);
    expect(problemsOf({ METRICS_PORT: '9464', METRICS_HOST: '127.0.0.1:9464' })).toHaveLength(1);
    expect(problemsOf({ PORT: '8080', METRICS_PORT: '8080' })).toEqual([
      'METRICS_PORT must differ from PORT (8080): metrics are never served on the public port',
    ]);
  });
});
