import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryCounterStore } from '../../src/lib/rate-limiter.js';

// The in-memory store must hold the keys of the current windows, not every key ever seen: keys
// that never come back (guessed emails, passing client IPs) would otherwise stay until maxKeys.

describe('MemoryCounterStore memory', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sweeps the keys whose windows ended, at most once per sweep interval', async () => {
    const store = new MemoryCounterStore(100_000, 60_000);
    for (let i = 0; i < 1000; i++) await store.hit(`login:email:guess-${i}@example.com`, 15_000);
    expect(store.size).toBe(1000);

    // The windows have ended, but the last sweep (at the first hit) was less than a minute ago.
    vi.advanceTimersByTime(30_000);
    await store.hit('login:ip:127.0.0.1', 15_000);
    expect(store.size).toBe(1001);

    // A minute after that sweep, the next hit sweeps: only the live window is left.
    vi.advanceTimersByTime(30_000);
    expect(await store.hit('login:ip:127.0.0.2', 15_000)).toEqual({ count: 1, resetInMs: 15_000 });
    expect(store.size).toBe(1);
  });

  it('keeps the counts of windows still open through a sweep', async () => {
    const store = new MemoryCounterStore(100_000, 60_000);
    await store.hit('short', 1_000);
    await store.hit('long', 3_600_000);
    await store.hit('long', 3_600_000);
    vi.advanceTimersByTime(60_000);
    expect(await store.hit('long', 3_600_000)).toEqual({ count: 3, resetInMs: 3_600_000 - 60_000 });
    expect(store.size).toBe(1);
  });

  it('stays at maxKeys when every window is still open, dropping the oldest first', async () => {
    const store = new MemoryCounterStore(100, 60_000);
    for (let i = 0; i < 250; i++) await store.hit(`k${i}`, 3_600_000);
    expect(store.size).toBe(100);
    // The newest keys kept their counts; the oldest were dropped and start again at 1.
    expect(await store.hit('k249', 3_600_000)).toMatchObject({ count: 2 });
    expect(await store.hit('k0', 3_600_000)).toMatchObject({ count: 1 });
  });

  // A full store of open windows, then a flood of new keys (each request of a stuffing attack
  // brings a new email): each new key must cost about the same, not a scan of every key.
  it('takes a flood of new keys into a full store of open windows without scanning it, sweeping at most once a second', async () => {
    const store = new MemoryCounterStore(100_000, 60_000);
    for (let i = 0; i < 100_000; i++) await store.hit(`login:email:held-${i}@example.com`, 900_000);
    const sweeps = vi.spyOn(store as unknown as { sweep(now: number): void }, 'sweep');
    const started = performance.now();
    // Twice the store: every held window is pushed out, then the first half of the flood too.
    for (let i = 0; i < 200_000; i++) await store.hit(`login:email:flood-${i}@example.com`, 900_000);
    const elapsedMs = performance.now() - started;
    // The clock did not move: one sweep for the first eviction, none for the 199,999 after it.
    expect(sweeps).toHaveBeenCalledTimes(1);
    expect(store.size).toBe(100_000);
    // A sweep per new key took 63 s for a tenth of this flood (3 ms a key); a fresh iteration
    // per eviction stepped over the holes V8 leaves behind deleted keys. About 0.2 s here.
    expect(elapsedMs).toBeLessThan(10_000);
    // The newest kept their counts; the oldest went first.
    expect(await store.hit('login:email:flood-199999@example.com', 900_000)).toMatchObject({ count: 2 });
    expect(await store.hit('login:email:flood-100000@example.com', 900_000)).toMatchObject({ count: 2 });
    expect(await store.hit('login:email:flood-99999@example.com', 900_000)).toMatchObject({ count: 1 });
    expect(await store.hit('login:email:held-99999@example.com', 900_000)).toMatchObject({ count: 1 });
  });

  it('drops ended windows before open ones when a sweep is due, and the oldest open ones within the second after it', async () => {
    const store = new MemoryCounterStore(100, 3_600_000);
    for (let i = 0; i < 50; i++) await store.hit(`open-${i}`, 3_600_000);
    for (let i = 0; i < 50; i++) await store.hit(`ending-${i}`, 1_000);
    vi.advanceTimersByTime(2_000);
    // Full (100 keys), the next key evicts: the sweep (due) takes the 50 ended windows, and every
    // open one keeps its count.
    await store.hit('new', 3_600_000);
    expect(store.size).toBe(51);
    expect(await store.hit('open-0', 3_600_000)).toMatchObject({ count: 2 });
    // Refill with windows that end at once; within the same second no sweep runs again, so the
    // oldest windows, open or not, make room.
    for (let i = 0; i < 49; i++) await store.hit(`short-${i}`, 1);
    vi.advanceTimersByTime(500);
    expect(store.size).toBe(100);
    await store.hit('newer', 3_600_000);
    expect(store.size).toBe(100);
    // open-0, the oldest, went (its count starts again); open-1 kept its count.
    expect(await store.hit('open-0', 3_600_000)).toMatchObject({ count: 1 });
    expect(store.size).toBe(100);
    expect(await store.hit('open-2', 3_600_000)).toMatchObject({ count: 2 });
    // A second later the sweep is due again and takes the ended ones instead.
    vi.advanceTimersByTime(1_000);
    await store.hit('newest', 3_600_000);
    expect(store.size).toBe(52);
  });

  it('sweeps again when the clock stepped back past a pass that was due', async () => {
    const store = new MemoryCounterStore(100_000, 60_000);
    for (let i = 0; i < 10; i++) await store.hit(`ending-${i}`, 1_000);
    // The clock steps back an hour: the windows (ending an hour from now on that clock) are
    // not over, but the next sweep must not wait for the clock to catch up either.
    vi.setSystemTime(new Date('2025-12-31T23:00:00Z'));
    await store.hit('after-the-step', 1_000);
    vi.advanceTimersByTime(3_601_000);
    await store.hit('an-hour-later', 1_000);
    expect(store.size).toBe(1);
  });
});
