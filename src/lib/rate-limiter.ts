/**
 * Fixed-window counters, one atomic step per key. The interface is async so a shared store
 * (Redis, see redis-counter-store.ts) can stand in for the in-memory one.
 */
export interface CounterStore {
  /**
   * Adds one to the key's window, starting the window if there is none, and returns the count
   * after the addition and the ms until the window ends. Atomic: of M concurrent hits on a
   * fresh key, exactly one sees 1, one sees 2, ... one sees M.
   */
  hit(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }>;
  /** Takes one back (never below zero, never starting a window): the attempt did not count. */
  release(key: string): Promise<void>;
  /** Ends the key's window. */
  clear(key: string): Promise<void>;
}

/** One limit: at most `max` held attempts for `key` per window. `max` 0 means no limit. */
export interface Limit {
  key: string;
  max: number;
}

export type Reservation =
  | { allowed: true /** Gives the attempts back: a success, or a request that did no checking. */; release(): Promise<void> }
  | { allowed: false; retryAfterSeconds: number };

/**
 * Reserve-then-check limits: the attempt is counted before the secret is checked, so however
 * many requests arrive at once, at most `max` of them are ever past the counter for one key in
 * a window; the rest are refused without any work. What happens after the check is the
 * caller's choice: a failure keeps its reservation (it counts until the window ends), a
 * success may release it. A success never clears the failures counted before it, so a right
 * password sent inside a burst of guesses does not reset the burst (see SECURITY.md).
 *
 * The same limiter serves every secret check (login per email and per IP, the current
 * password, mailed tokens) and every per-client request limit (sign-up, reset mails), each
 * under its own key prefix.
 */
export class RateLimiter {
  private readonly windowMs: number;

  /**
   * `onRefused` is told the key (without the store prefix) of each limit that refused an
   * attempt; the metrics count throttle hits with it.
   */
  constructor(
    private readonly store: CounterStore,
    private readonly prefix: string,
    windowSeconds: number,
    private readonly onRefused?: (key: string) => void,
  ) {
    this.windowMs = windowSeconds * 1000;
  }

  /**
   * Reserves one attempt on every limited key. Refused when any key is over its limit; the
   * reservations of a refused attempt are given back, so being refused costs nothing and a
   * flood of refused requests cannot lock out another key (the client IP of a victim's email).
   */
  async reserve(limits: Limit[]): Promise<Reservation> {
    const active = limits.filter((limit) => limit.max > 0);
    const keys = active.map((limit) => this.prefix + limit.key);
    const hits = await Promise.all(keys.map((key) => this.store.hit(key, this.windowMs)));
    const waits = hits.filter((hit, i) => hit.count > (active[i] as Limit).max).map((hit) => hit.resetInMs);
    const release = () => Promise.all(keys.map((key) => this.store.release(key))).then(() => undefined);
    if (waits.length === 0) return { allowed: true, release: once(release) };
    if (this.onRefused) {
      for (const [i, hit] of hits.entries()) {
        const limit = active[i] as Limit;
        if (hit.count > limit.max) this.onRefused(limit.key);
      }
    }
    await release();
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(Math.max(...waits) / 1000)) };
  }

  /** Forgets a key's count: only after a proof stronger than the guesses it counted (a password reset). */
  async clear(key: string): Promise<void> {
    await this.store.clear(this.prefix + key);
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => {
    done ??= fn();
    return done;
  };
}

/**
 * Per-process counters. Each operation is one synchronous step on a Map, so no two requests of
 * this process can interleave inside it. Bounded: expired windows are swept at most every
 * `sweepIntervalMs`, and past `maxKeys` the oldest windows are dropped first, so a flood of
 * random emails cannot exhaust memory.
 */
export class MemoryCounterStore implements CounterStore {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private nextSweepAt = 0;
  private nextEvictionSweepAt = 0;
  /** Where eviction stopped: every key before it was evicted, so its next key is the oldest left. */
  private evictionCursor: Iterator<string> | undefined;

  constructor(
    private readonly maxKeys = 100_000,
    // A key whose window ended is only replaced when the same key comes back, which most never
    // do (a guessed email, a client IP gone): without a sweep, memory would follow every key
    // ever seen up to maxKeys (~25 MB of email keys, measured), not the keys of the current
    // windows. One pass a minute costs a few ms even at maxKeys.
    private readonly sweepIntervalMs = 60_000,
  ) {}

  /** Keys held now, expired ones not yet swept included. */
  get size(): number {
    return this.windows.size;
  }

  async hit(key: string, windowMs: number) {
    const now = Date.now();
    if (isDue(now, this.nextSweepAt, this.sweepIntervalMs)) this.sweep(now);
    const entry = this.windows.get(key);
    if (entry && entry.resetAt > now) {
      entry.count += 1;
      return { count: entry.count, resetInMs: entry.resetAt - now };
    }
    this.windows.delete(key);
    if (this.windows.size >= this.maxKeys) this.evict(now);
    this.windows.set(key, { count: 1, resetAt: now + windowMs });
    return { count: 1, resetInMs: windowMs };
  }

  async release(key: string) {
    const entry = this.windows.get(key);
    if (!entry) return;
    if (entry.resetAt <= Date.now() || entry.count <= 1) this.windows.delete(key);
    else entry.count -= 1;
  }

  async clear(key: string) {
    this.windows.delete(key);
  }

  private sweep(now: number) {
    this.nextSweepAt = now + this.sweepIntervalMs;
    for (const [key, entry] of this.windows) if (entry.resetAt <= now) this.windows.delete(key);
  }

  private evict(now: number) {
    // Ended windows go before open ones, but finding them scans every key. When every window is
    // still open (a flood of new keys: guessed emails, spoofed clients) that scan finds nothing,
    // and doing it for each new key cost maxKeys steps per request (~3 ms at 100,000 keys, on
    // the event loop: a few hundred requests a second of distinct keys filled a core). So at
    // most one such sweep a second; otherwise the oldest windows go.
    if (isDue(now, this.nextEvictionSweepAt, 1_000)) {
      this.nextEvictionSweepAt = now + 1_000;
      this.sweep(now);
    }
    while (this.windows.size > 0 && this.windows.size >= this.maxKeys) this.dropOldest();
  }

  /**
   * Drops the oldest window (Map iteration is insertion order; a key whose window restarts is
   * inserted anew). One iterator is kept across calls: a fresh `keys()` starts at the head of
   * the table, where V8 leaves deleted entries as holes until it rehashes, so each eviction
   * would step over every earlier one again (measured: 1.4 → 7.6 µs per key over 5,000 keys).
   */
  private dropOldest(): void {
    let next = this.evictionCursor?.next();
    if (!next || next.done) {
      // Finished (a Map iterator stays done once done): start again at the oldest key.
      this.evictionCursor = this.windows.keys();
      next = this.evictionCursor.next();
    }
    if (!next.done) this.windows.delete(next.value);
  }
}

/** Whether a periodic pass due at `dueAt` (every `intervalMs`) should run now; also when the clock stepped back past it. */
function isDue(now: number, dueAt: number, intervalMs: number): boolean {
  return now >= dueAt || now < dueAt - intervalMs;
}
