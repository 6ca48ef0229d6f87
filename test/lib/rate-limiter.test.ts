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
});
