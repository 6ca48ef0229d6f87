import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createTestApp, type TestContext } from '../helpers/app.js';

// GATEHOUSE_DIAGNOSTICS=true adds GET /_diagnostics (event-loop delay from
// perf_hooks.monitorEventLoopDelay, and memory), POST /_diagnostics/reset, and one log line at
// shutdown. Off by default: then the routes do not exist at all.

/** Lets the 10 ms timer record a few intervals. */
const recordSomeIntervals = () => new Promise((resolve) => setTimeout(resolve, 60));

let plain: TestContext;
beforeAll(async () => {
  plain = await createTestApp();
});
afterAll(async () => {
  await plain.close();
});

describe('diagnostics', () => {
  it('off by default: the routes do not exist', async () => {
    expect((await plain.app.inject({ url: '/_diagnostics' })).statusCode).toBe(404);
    expect((await plain.app.inject({ method: 'POST', url: '/_diagnostics/reset' })).statusCode).toBe(404);
  });

  it('on: event-loop delay and memory, a reset, a log line at shutdown; hidden from the OpenAPI document', async () => {
    const lines: { msg: string; diagnostics?: { event_loop_delay_ms: { max: number; samples: number } } }[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const config = { ...plain.config, diagnostics: true };
    const app = await buildApp(config, { logger: { level: 'info', stream } });
    await app.ready();
    try {
      await recordSomeIntervals();
      const res = await app.inject({ url: '/_diagnostics' });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({
        after_full_gc: false,
        event_loop_delay_ms: { resolution: 10, samples: expect.any(Number), max: expect.any(Number), p99: expect.any(Number) },
        gc_pause_ms: { count: expect.any(Number), total: expect.any(Number), max: expect.any(Number) },
        memory_bytes: { rss: expect.any(Number), heap_used: expect.any(Number), array_buffers: expect.any(Number) },
      });
      expect(body.event_loop_delay_ms.samples).toBeGreaterThan(0);
      expect(body.event_loop_delay_ms.max).toBeGreaterThanOrEqual(body.event_loop_delay_ms.p50);
      // ?gc=true collects first only where the process was started with --expose-gc.
      const gc = (await app.inject({ url: '/_diagnostics?gc=true' })).json();
      expect(gc.after_full_gc).toBe(typeof (globalThis as { gc?: unknown }).gc === 'function');
      expect((await app.inject({ url: '/_diagnostics?verbose=1' })).statusCode).toBe(400);

      expect((await app.inject({ method: 'POST', url: '/_diagnostics/reset' })).statusCode).toBe(204);
      expect((await app.inject({ url: '/_diagnostics' })).json().event_loop_delay_ms.samples).toBeLessThan(
        body.event_loop_delay_ms.samples,
      );

      const openapi = (await app.inject({ url: '/openapi.json' })).json();
      expect(Object.keys(openapi.paths).filter((p) => p.includes('diagnostics'))).toEqual([]);
      await recordSomeIntervals();
    } finally {
      await app.close();
    }
    const atShutdown = lines.find((l) => l.msg === 'diagnostics at shutdown');
    expect(atShutdown?.diagnostics?.event_loop_delay_ms.samples).toBeGreaterThan(0);
  });
});
