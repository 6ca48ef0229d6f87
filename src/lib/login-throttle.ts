/**
 * Counts failed sign-in attempts per key ("email:…", "ip:…") in a fixed window. The interface
 * is async so a shared store (Redis) can replace the in-memory one without touching callers.
 */
export interface FailureCounterStore {
  /** Failures recorded for the key in its current window, and ms until the window ends. */
  get(key: string): Promise<{ count: number; resetInMs: number }>;
  /** Adds one failure; the window starts at the first failure. */
  increment(key: string, windowMs: number): Promise<void>;
  reset(key: string): Promise<void>;
}

export interface ThrottleLimits {
  maxFailuresPerEmail: number;
  maxFailuresPerIp: number;
  windowSeconds: number;
}

export interface ThrottleDecision {
  blocked: boolean;
  retryAfterSeconds: number;
}

/** Login throttling over a counter store: blocks a key once its failures reach the limit. */
export class LoginThrottle {
  constructor(
    private readonly store: FailureCounterStore,
    private readonly limits: ThrottleLimits,
  ) {}

  /** Whether an attempt for this email from this IP may proceed. */
  async check(email: string, ip: string): Promise<ThrottleDecision> {
    const [byEmail, byIp] = await Promise.all([this.store.get(emailKey(email)), this.store.get(ipKey(ip))]);
    const waits: number[] = [];
    if (byEmail.count >= this.limits.maxFailuresPerEmail) waits.push(byEmail.resetInMs);
    if (byIp.count >= this.limits.maxFailuresPerIp) waits.push(byIp.resetInMs);
    if (waits.length === 0) return { blocked: false, retryAfterSeconds: 0 };
    return { blocked: true, retryAfterSeconds: Math.max(1, Math.ceil(Math.max(...waits) / 1000)) };
  }

  async recordFailure(email: string, ip: string): Promise<void> {
    const windowMs = this.limits.windowSeconds * 1000;
    await Promise.all([this.store.increment(emailKey(email), windowMs), this.store.increment(ipKey(ip), windowMs)]);
  }

  /** A successful sign-in clears the email's count (the IP's stays: it may be spraying). */
  async recordSuccess(email: string): Promise<void> {
    await this.store.reset(emailKey(email));
  }
}

const emailKey = (email: string) => `login:email:${email}`;
const ipKey = (ip: string) => `login:ip:${ip}`;

/**
 * Per-process counters. Bounded: expired windows are swept, and past `maxKeys` the oldest
 * windows are dropped first, so a flood of random emails cannot exhaust memory.
 */
export class MemoryFailureCounterStore implements FailureCounterStore {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(private readonly maxKeys = 100_000) {}

  async get(key: string) {
    const entry = this.windows.get(key);
    const now = Date.now();
    if (!entry || entry.resetAt <= now) return { count: 0, resetInMs: 0 };
    return { count: entry.count, resetInMs: entry.resetAt - now };
  }

  async increment(key: string, windowMs: number) {
    const now = Date.now();
    const entry = this.windows.get(key);
    if (entry && entry.resetAt > now) {
      entry.count += 1;
      return;
    }
    this.windows.delete(key);
    if (this.windows.size >= this.maxKeys) this.evict(now);
    this.windows.set(key, { count: 1, resetAt: now + windowMs });
  }

  async reset(key: string) {
    this.windows.delete(key);
  }

  private evict(now: number) {
    for (const [key, entry] of this.windows) if (entry.resetAt <= now) this.windows.delete(key);
    // Map iteration is insertion order, so this drops the oldest windows first.
    for (const key of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break;
      this.windows.delete(key);
    }
  }
}

/** One fixed-window limit: at most `max` counted events for `key`. */
export interface AttemptLimit {
  key: string;
  max: number;
}

/**
 * Fixed-window limits on arbitrary keys over the same counter store as login throttling (so
 * Redis shares them across instances), under their own key prefix. For limits that count
 * requests (mails asked for) or failures other than sign-ins (bad reset tokens).
 */
export class AttemptLimiter {
  constructor(
    private readonly store: FailureCounterStore,
    private readonly prefix: string,
    private readonly windowSeconds: number,
  ) {}

  /** Blocked when any of the keys has reached its limit; Retry-After is the longest wait. */
  async check(limits: AttemptLimit[]): Promise<ThrottleDecision> {
    const counts = await Promise.all(limits.map((limit) => this.store.get(this.prefix + limit.key)));
    const waits = counts.filter((count, i) => count.count >= (limits[i] as AttemptLimit).max).map((count) => count.resetInMs);
    if (waits.length === 0) return { blocked: false, retryAfterSeconds: 0 };
    return { blocked: true, retryAfterSeconds: Math.max(1, Math.ceil(Math.max(...waits) / 1000)) };
  }

  /** Counts one event for each key. */
  async record(keys: string[]): Promise<void> {
    const windowMs = this.windowSeconds * 1000;
    await Promise.all(keys.map((key) => this.store.increment(this.prefix + key, windowMs)));
  }
}
