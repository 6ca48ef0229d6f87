import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryCounterStore, RateLimiter } from '../../src/lib/rate-limiter.js';
import { FallbackCounterStore, RedisCounterStore } from '../../src/lib/redis-counter-store.js';
import { createTestApp, expectProblem, STRONG_PASSWORD, signUp, type TestContext } from '../helpers/app.js';
import { freePort, PrivateRedis } from '../helpers/redis-server.js';

const REDIS_URL = process.env.GATEHOUSE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = () => `gatehouse-test:${randomBytes(6).toString('hex')}:`;

let redis: Redis;
beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(() => redis.disconnect());

describe('RedisCounterStore', () => {
  it('counts hits in a fixed window from the first one; release gives one back; clear ends the window', async () => {
    const store = new RedisCounterStore(redis, prefix());
    expect((await store.hit('k', 60_000)).count).toBe(1);
    const second = await store.hit('k', 60_000);
    expect(second.count).toBe(2);
    expect(second.resetInMs).toBeGreaterThan(59_000);
    expect(second.resetInMs).toBeLessThanOrEqual(60_000);
    await store.release('k');
    expect((await store.hit('k', 60_000)).count).toBe(2);
    await store.clear('k');
    expect((await store.hit('k', 60_000)).count).toBe(1);
  });

  it('concurrent hits each get a distinct count (one atomic step per hit)', async () => {
    const store = new RedisCounterStore(redis, prefix());
    const counts = (await Promise.all(Array.from({ length: 200 }, () => store.hit('burst', 60_000)))).map((h) => h.count);
    expect(counts.sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('a release after the window ended leaves no key behind (no key without a TTL, no negative count)', async () => {
    const p = prefix();
    const store = new RedisCounterStore(redis, p);
    await store.hit('short', 50);
    await new Promise((r) => setTimeout(r, 120));
    await store.release('short');
    expect(await redis.exists(`${p}short`)).toBe(0);
    await store.hit('one', 60_000);
    await store.release('one');
    await store.release('one');
    expect(await redis.exists(`${p}one`)).toBe(0);
  });

  it('a limiter over two stores on one Redis lets exactly `max` of 100 simultaneous attempts through', async () => {
    const p = prefix();
    const a = new RateLimiter(new RedisCounterStore(redis, p), 'login:', 900);
    const other = new Redis(REDIS_URL);
    try {
      const b = new RateLimiter(new RedisCounterStore(other, p), 'login:', 900);
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).reserve([{ key: 'email:x', max: 5 }])));
      expect(results.filter((r) => r.allowed)).toHaveLength(5);
      // The 95 refused attempts gave their reservations back.
      expect(await redis.get(`${p}login:email:x`)).toBe('5');
    } finally {
      other.disconnect();
    }
  });
});

describe('login throttling shared through Redis', () => {
  let a: TestContext;
  let b: TestContext;
  beforeAll(async () => {
    // Two app instances (one database is enough here; the multi-instance suite uses processes).
    const keyPrefix = prefix();
    a = await createTestApp({ REDIS_URL, REDIS_KEY_PREFIX: keyPrefix });
    b = await createTestApp({ REDIS_URL, REDIS_KEY_PREFIX: keyPrefix });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('failures on two instances add up to one limit', async () => {
    const email = `shared-${randomBytes(4).toString('hex')}@example.com`;
    const login = (ctx: TestContext, i: number) =>
      ctx.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email, password: 'wrong password!!' },
        remoteAddress: `10.7.0.${i}`,
      });
    for (let i = 0; i < 5; i++) expectProblem(await login(i % 2 === 0 ? a : b, i), 401, 'INVALID_CREDENTIALS');
    expectProblem(await login(a, 50), 429, 'RATE_LIMITED');
    expectProblem(await login(b, 51), 429, 'RATE_LIMITED');
  });
});

describe('Redis outage', () => {
  it('the fallback store answers from memory while Redis is down and returns to Redis after', async () => {
    const server = new PrivateRedis(await freePort());
    await server.start();
    const client = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    client.on('error', () => {});
    const events: string[] = [];
    const log = { warn: (_o: object, m: string) => events.push(`warn: ${m}`), info: (_o: object, m: string) => events.push(`info: ${m}`) };
    const store = new FallbackCounterStore(new RedisCounterStore(client, prefix()), new MemoryCounterStore(), log);
    const untilReady = async () => {
      for (let i = 0; i < 100 && client.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 50));
    };
    try {
      await untilReady();
      expect((await store.hit('k', 60_000)).count).toBe(1);
      expect(store.isDegraded).toBe(false);

      await server.stop();
      expect((await store.hit('k', 60_000)).count).toBe(1); // memory's own count
      expect(store.isDegraded).toBe(true);
      expect((await store.hit('k', 60_000)).count).toBe(2);
      expect(events.filter((e) => e.startsWith('warn'))).toHaveLength(1);

      await server.start();
      await untilReady();
      expect((await store.hit('fresh', 60_000)).count).toBe(1);
      expect(store.isDegraded).toBe(false);
      expect(events.at(-1)).toMatch(/^info: shared throttle store is back/);
    } finally {
      client.disconnect();
      await server.stop();
    }
  });

  it('the app keeps serving logins while Redis is down (no 5xx), and throttles per instance', async () => {
    const server = new PrivateRedis(await freePort());
    await server.start();
    const ctx = await createTestApp({ REDIS_URL: server.url, REDIS_KEY_PREFIX: prefix() });
    try {
      const user = await signUp(ctx.app);
      await server.stop();
      const ok = await ctx.app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: STRONG_PASSWORD } });
      expect(ok.statusCode).toBe(200);
      for (let i = 0; i < 5; i++) {
        const res = await ctx.app.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { email: user.email, password: 'wrong password!!' },
        });
        expectProblem(res, 401, 'INVALID_CREDENTIALS');
      }
      expectProblem(
        await ctx.app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: STRONG_PASSWORD } }),
        429,
        'RATE_LIMITED',
      );
      expect((await ctx.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    } finally {
      await ctx.close();
      await server.stop();
    }
  });
});
