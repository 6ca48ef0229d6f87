import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryFailureCounterStore } from '../../src/lib/login-throttle.js';
import { FallbackFailureCounterStore, RedisFailureCounterStore } from '../../src/lib/redis-failure-store.js';
import { createTestApp, expectProblem, STRONG_PASSWORD, signUp, type TestContext } from '../helpers/app.js';
import { freePort, PrivateRedis } from '../helpers/redis-server.js';

const REDIS_URL = process.env.GATEHOUSE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = () => `gatehouse-test:${randomBytes(6).toString('hex')}:`;

let redis: Redis;
beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(() => redis.disconnect());

describe('RedisFailureCounterStore', () => {
  it('counts in a fixed window from the first failure, and resets', async () => {
    const store = new RedisFailureCounterStore(redis, prefix());
    expect(await store.get('k')).toEqual({ count: 0, resetInMs: 0 });
    await store.increment('k', 60_000);
    await store.increment('k', 60_000);
    const { count, resetInMs } = await store.get('k');
    expect(count).toBe(2);
    expect(resetInMs).toBeGreaterThan(59_000);
    await store.reset('k');
    expect((await store.get('k')).count).toBe(0);
  });

  it('the window expires', async () => {
    const store = new RedisFailureCounterStore(redis, prefix());
    await store.increment('short', 50);
    await new Promise((r) => setTimeout(r, 120));
    expect(await store.get('short')).toEqual({ count: 0, resetInMs: 0 });
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
    const store = new FallbackFailureCounterStore(new RedisFailureCounterStore(client, prefix()), new MemoryFailureCounterStore(), log);
    const untilReady = async () => {
      for (let i = 0; i < 100 && client.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 50));
    };
    try {
      await untilReady();
      await store.increment('k', 60_000);
      expect((await store.get('k')).count).toBe(1);
      expect(store.isDegraded).toBe(false);

      await server.stop();
      await store.increment('k', 60_000);
      expect(store.isDegraded).toBe(true);
      expect((await store.get('k')).count).toBe(1); // memory's own count
      expect(events.filter((e) => e.startsWith('warn'))).toHaveLength(1);

      await server.start();
      await untilReady();
      await store.increment('fresh', 60_000);
      expect(store.isDegraded).toBe(false);
      expect((await store.get('fresh')).count).toBe(1);
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
