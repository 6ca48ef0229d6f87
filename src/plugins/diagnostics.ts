import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

// The timer fires every 10 ms; a recorded delay is the whole interval between two firings, so
// an idle loop reads about 10 ms and a 100 ms reading means a stall of about 90 ms.
const RESOLUTION_MS = 10;

const ms = (nanoseconds: number) => Math.round(nanoseconds / 10_000) / 100;

export const DiagnosticsSchema = Type.Object({
  uptime_seconds: Type.Number(),
  /** Memory was measured right after a full garbage collection (?gc=true, server run with --expose-gc). */
  after_full_gc: Type.Boolean(),
  event_loop_delay_ms: Type.Object({
    resolution: Type.Number(),
    min: Type.Number(),
    mean: Type.Number(),
    p50: Type.Number(),
    p99: Type.Number(),
    max: Type.Number(),
    samples: Type.Integer(),
  }),
  /** Garbage-collection pauses since the last reset: the usual suspect for a stall. */
  gc_pause_ms: Type.Object({ count: Type.Integer(), total: Type.Number(), max: Type.Number() }),
  /** process.memoryUsage(); array_buffers is part of external (Buffers, including those of sockets). */
  memory_bytes: Type.Object({
    rss: Type.Integer(),
    heap_total: Type.Integer(),
    heap_used: Type.Integer(),
    external: Type.Integer(),
    array_buffers: Type.Integer(),
  }),
});

export type Diagnostics = Static<typeof DiagnosticsSchema>;

const DiagnosticsQuery = Type.Object({ gc: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

/**
 * Opt-in (GATEHOUSE_DIAGNOSTICS=true) runtime numbers for soak and load tests: event-loop
 * delay (perf_hooks.monitorEventLoopDelay, from the moment the app is ready), garbage-collection
 * pauses and memory, at
 * GET /_diagnostics (POST /_diagnostics/reset restarts the event-loop histogram) and in one
 * log line at shutdown. Off by default: the routes are unauthenticated and only worth having
 * where someone is measuring.
 */
export const diagnosticsPlugin = fp(
  async (app: FastifyInstance) => {
    const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    const gcPauses = { count: 0, total: 0, max: 0 };
    const gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        gcPauses.count++;
        gcPauses.total += entry.duration;
        gcPauses.max = Math.max(gcPauses.max, entry.duration);
      }
    });
    const snapshot = (collect: boolean): Diagnostics => {
      const measured = histogram.count > 0;
      const eventLoop = {
        resolution: RESOLUTION_MS,
        min: measured ? ms(histogram.min) : 0,
        mean: measured ? ms(histogram.mean) : 0,
        p50: measured ? ms(histogram.percentile(50)) : 0,
        p99: measured ? ms(histogram.percentile(99)) : 0,
        max: measured ? ms(histogram.max) : 0,
        samples: histogram.count,
      };
      const gcPause = { count: gcPauses.count, total: Math.round(gcPauses.total * 100) / 100, max: Math.round(gcPauses.max * 100) / 100 };
      // A leak shows in what survives a full collection; otherwise memory is mostly garbage not
      // yet collected, whose sawtooth hides any trend in a short run. The event-loop numbers
      // are read first, so they never include this deliberate pause.
      const gc = (globalThis as { gc?: () => void }).gc;
      if (collect && gc) gc();
      const memory = process.memoryUsage();
      return {
        uptime_seconds: Math.round(process.uptime() * 10) / 10,
        after_full_gc: collect && gc !== undefined,
        event_loop_delay_ms: eventLoop,
        gc_pause_ms: gcPause,
        memory_bytes: {
          rss: memory.rss,
          heap_total: memory.heapTotal,
          heap_used: memory.heapUsed,
          external: memory.external,
          array_buffers: memory.arrayBuffers,
        },
      };
    };

    // Start after plugin loading and schema compilation, which block the loop once by design.
    app.addHook('onReady', async () => {
      histogram.enable();
      gcObserver.observe({ entryTypes: ['gc'] });
    });
    app.addHook('onClose', async () => {
      app.log.info({ diagnostics: snapshot(false) }, 'diagnostics at shutdown');
      histogram.disable();
      gcObserver.disconnect();
    });

    app.get<{ Querystring: Static<typeof DiagnosticsQuery> }>(
      '/_diagnostics',
      { schema: { hide: true, querystring: DiagnosticsQuery, response: { 200: DiagnosticsSchema } } },
      async (request) => snapshot(request.query.gc === true),
    );
    // Lets a load test measure one phase at a time (not the bulk sign-ups before it, nor the
    // pause of a collection it asked for). Event-loop and GC numbers restart; memory cannot.
    app.post('/_diagnostics/reset', { schema: { hide: true, response: { 204: Type.Null() } } }, async (_request, reply) => {
      histogram.reset();
      Object.assign(gcPauses, { count: 0, total: 0, max: 0 });
      return reply.code(204).send();
    });
  },
  { name: 'diagnostics' },
);
