import type { Redis } from 'ioredis';
import type { FailureCounterStore } from './login-throttle.js';

/**
 * Failure counters in Redis, shared by every instance: INCR plus a PEXPIRE set only on the
 * first failure (NX), so the window is fixed from the first failure as in the memory store.
 */
export class RedisFailureCounterStore implements FailureCounterStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async get(key: string) {
    const results = await this.redis
      .multi()
      .get(this.prefix + key)
      .pttl(this.prefix + key)
      .exec();
    const [[countErr, count] = [], [ttlErr, ttl] = []] = results ?? [];
    if (countErr || ttlErr) throw countErr ?? ttlErr;
    const n = Number(count ?? 0);
    const remaining = Number(ttl);
    return n > 0 && remaining > 0 ? { count: n, resetInMs: remaining } : { count: 0, resetInMs: 0 };
  }

  async increment(key: string, windowMs: number) {
    const results = await this.redis
      .multi()
      .incr(this.prefix + key)
      .pexpire(this.prefix + key, windowMs, 'NX')
      .exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async reset(key: string) {
    await this.redis.del(this.prefix + key);
  }
}

/** Logs what the fallback store does; kept to the two events an operator needs. */
export interface FallbackLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/**
 * Uses the shared store while it answers and per-instance memory while it does not, so a Redis
 * outage degrades throttling (limits become per instance) instead of failing logins. Logs one
 * warning when the outage starts and one line when Redis is back.
 */
export class FallbackFailureCounterStore implements FailureCounterStore {
  private degraded = false;

  constructor(
    private readonly primary: FailureCounterStore,
    private readonly fallback: FailureCounterStore,
    private readonly log: FallbackLogger,
  ) {}

  get(key: string) {
    return this.run((store) => store.get(key));
  }

  increment(key: string, windowMs: number) {
    return this.run((store) => store.increment(key, windowMs));
  }

  reset(key: string) {
    return this.run((store) => store.reset(key));
  }

  /** Whether the last operation had to use the fallback. */
  get isDegraded(): boolean {
    return this.degraded;
  }

  private async run<T>(op: (store: FailureCounterStore) => Promise<T>): Promise<T> {
    try {
      const result = await op(this.primary);
      if (this.degraded) {
        this.degraded = false;
        this.log.info({}, 'shared throttle store is back; login limits are shared across instances again');
      }
      return result;
    } catch (err) {
      if (!this.degraded) {
        this.degraded = true;
        this.log.warn({ err }, 'shared throttle store unavailable; falling back to per-instance memory');
      }
      return op(this.fallback);
    }
  }
}
