import { describe, expect, it } from 'vitest';
import { runScript } from '../helpers/processes.js';

// The short CI version of `npm run soak` (scripts/soak.mjs): fifteen seconds of mixed traffic
// from many users. It must see no 5xx, no lost answers and no unexpected status. The trend
// limits (memory slope, p99 growth, event-loop delay) are loose here: CI shares two cores with
// the other suites, and fifteen seconds show no trend; the long run (README) is where they bite.

describe('soak (short)', () => {
  it('mixed traffic: zero 5xx, every status as expected, diagnostics measured', { timeout: 120_000 }, async () => {
    const run = await runScript(
      'soak.mjs',
      [
        ...['--minutes', '0.25', '--users', '16', '--connections', '8', '--rate', '100', '--sample-seconds', '3', '--json'],
        ...[
          '--max-loop-delay-ms',
          '2000',
          '--max-p99-growth',
          '20',
          '--max-rss-slope-mb-per-min',
          '500',
          '--max-heap-slope-mb-per-min',
          '500',
        ],
      ],
      110_000,
    );
    if (run.code !== 0) console.log(run.stderr, run.stdout);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
    console.log(
      `soak: ${summary.requests} requests in ${summary.minutes} min, 5xx ${summary.server_errors}, p99 ${summary.latency_ms?.p99} ms, ` +
        `RSS ${summary.memory_mb?.rss_start} → ${summary.memory_mb?.rss_end} MB, event loop max ${summary.event_loop_delay_ms?.max} ms`,
    );
    expect(summary.failures).toEqual([]);
    expect(run.code).toBe(0);
    expect(summary.server_errors).toBe(0);
    expect(summary.network_errors).toBe(0);
    expect(summary.unexpected_statuses).toBe(0);
    expect(summary.requests).toBeGreaterThan(500);
    expect(summary.memory_mb.measured_after_full_gc).toBe(true);
    // The breakdown the long run judges: RSS split by kind (Linux /proc), the V8 heap, threads.
    const { breakdown, curve } = summary.memory_mb;
    expect(breakdown.rss_anon.end).toBeGreaterThan(0);
    expect(breakdown.rss_file.end).toBeGreaterThan(0);
    expect(breakdown.rss.end).toBeGreaterThanOrEqual(breakdown.rss_anon.end);
    expect(breakdown.heap_used.end).toBeGreaterThan(0);
    expect(breakdown.heap_total.end).toBeGreaterThanOrEqual(breakdown.heap_used.end);
    expect(breakdown.threads.end).toBeGreaterThan(1);
    expect(curve.length).toBeGreaterThan(0);
    expect(typeof summary.memory_mb.heap_used_slope_per_min).toBe('number');
    expect(summary.event_loop_delay_ms.max).toBeGreaterThan(0);
  });
});
