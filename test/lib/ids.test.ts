import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nowIso } from '../../src/lib/ids.js';

// nowIso keeps the string of the last millisecond (it runs on every authenticated request): it
// must still be exactly the current time, whatever the clock does.
describe('nowIso', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is the current instant as RFC 3339 UTC with milliseconds, within a millisecond and after it', () => {
    vi.setSystemTime(Date.UTC(2026, 10, 30, 12, 0, 0, 1));
    expect(nowIso()).toBe('2026-11-30T12:00:00.001Z');
    expect(nowIso()).toBe('2026-11-30T12:00:00.001Z');
    vi.advanceTimersByTime(1);
    expect(nowIso()).toBe('2026-11-30T12:00:00.002Z');
  });

  it('formats each millisecond once', () => {
    vi.setSystemTime(Date.UTC(2026, 10, 30, 12, 0, 0, 0));
    const formatted = vi.spyOn(Date.prototype, 'toISOString');
    for (let i = 0; i < 100; i++) nowIso();
    vi.advanceTimersByTime(1);
    for (let i = 0; i < 100; i++) nowIso();
    expect(formatted).toHaveBeenCalledTimes(2);
    formatted.mockRestore();
  });

  it('follows the clock backwards too (a corrected clock gets no stale string)', () => {
    vi.setSystemTime(Date.UTC(2026, 10, 30, 12, 0, 0, 500));
    expect(nowIso()).toBe('2026-11-30T12:00:00.500Z');
    vi.setSystemTime(Date.UTC(2026, 10, 30, 11, 59, 59, 999));
    expect(nowIso()).toBe('2026-11-30T11:59:59.999Z');
  });
});
