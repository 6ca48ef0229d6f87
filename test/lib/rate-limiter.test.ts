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
  // brings a new email): each new key must cost constant time, not a scan of every key.
  it('takes new keys into a full store of open windows in constant time, sweeping at most once a second', async () => {
    const store = new MemoryCounterStore(100_000, 60_000);
    for (let i = 0; i < 100_000; i++) await store.hit(`login:email:held-${i}@example.com`, 900_000);
    const sweeps = vi.spyOn(store as unknown as { sweep(now: number): void }, 'sweep');
    const started = performance.now();
    for (let i = 0; i < 20_000; i++) await store.hit(`login:email:flood-${i}@example.com`, 900_000);
    const elapsedMs = performance.now() - started;
    // The clock did not move: one sweep for the first eviction, none for the 19,999 after it.
    expect(sweeps).toHaveBeenCalledTimes(1);
    expect(store.size).toBe(100_000);
    // With a sweep per new key this took 20,000 scans of 100,000 keys (tens of seconds here).
    expect(elapsedMs).toBeLessThan(2_000);
    // The newest kept their counts; the oldest of the held ones went first.
    expect(await store.hit('login:email:flood-19999@example.com', 900_000)).toMatchObject({ count: 2 });
    expect(await store.hit('login:email:held-0@example.com', 900_000)).toMatchObject({ count: 1 });
  });

  it('still drops ended windows before open ones when a store fills up', async () => {
    const store = new MemoryCounterStore(100, 3_600_000);
    for (let i = 0; i < 50; i++) await store.hit(`open-${i}`, 3_600_000);
    for (let i = 0; i < 50; i++) await store.hit(`ending-${i}`, 1_000);
    vi.advanceTimersByTime(2_000);
    // Full (100 keys), the next key evicts: the sweep (due, a second has passed) takes the 50
    // ended windows, and every open one keeps its count.
    await store.hit('new', 3_600_000);
    expect(store.size).toBe(51);
    expect(await store.hit('open-0', 3_600_000)).toMatchObject({ count: 2 });
  });
});
