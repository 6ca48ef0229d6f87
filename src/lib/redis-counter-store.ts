import type { Redis } from 'ioredis';
import type { CounterStore } from './rate-limiter.js';

// DECR only a window that exists, and drop it at zero: a release after the window ended must
// not leave a key without a TTL (which would never expire) or a negative count.
const RELEASE_SCRIPT = `
local n = redis.call('GET', KEYS[1])
if not n then return 0 end
if tonumber(n) <= 1 then redis.call('DEL', KEYS[1]) return 0 end
return redis.call('DECR', KEYS[1])`;

/**
 * Counters in Redis, shared by every instance. A hit is INCR, PEXPIRE … NX (the window is
 * fixed from the first hit) and PTTL in one MULTI/EXEC: Redis runs the three without any
 * other client's command in between, so concurrent hits from any number of instances each get
 * a distinct count.
 */
export class RedisCounterStore implements CounterStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async hit(key: string, windowMs: number) {
    const results = await this.redis
      .multi()
      .incr(this.prefix + key)
      .pexpire(this.prefix + key, windowMs, 'NX')
      .pttl(this.prefix + key)
      .exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
    if (!results) throw new Error('Redis transaction aborted');
    const count = Number(results[0]?.[1]);
    const ttl = Number(results[2]?.[1]);
    return { count, resetInMs: ttl > 0 ? ttl : windowMs };
  }

  async release(key: string) {
    await this.redis.eval(RELEASE_SCRIPT, 1, this.prefix + key);
  }

  async clear(key: string) {
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
export class FallbackCounterStore implements CounterStore {
  private degraded = false;

  constructor(
    private readonly primary: CounterStore,
    private readonly fallback: CounterStore,
    private readonly log: FallbackLogger,
  ) {}

  hit(key: string, windowMs: number) {
    return this.run((store) => store.hit(key, windowMs));
  }

  release(key: string) {
    return this.run((store) => store.release(key));
  }

  clear(key: string) {
    return this.run((store) => store.clear(key));
  }

  /** Whether the last operation had to use the fallback. */
  get isDegraded(): boolean {
    return this.degraded;
  }

  private async run<T>(op: (store: CounterStore) => Promise<T>): Promise<T> {
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
