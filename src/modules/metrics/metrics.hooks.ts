import type { onResponseHookHandler } from 'fastify';
import type { Metrics } from './metrics.service.js';
import { UNMATCHED_ROUTE } from './request-metrics.js';

/**
 * The one per-request hook of the metrics (registered only when they are on): counts the answer
 * under its route's pattern (/books/:id, never the URL with its ids or query) and observes its
 * duration as Fastify measured it.
 */
export function recordRequestMetrics(metrics: Metrics): onResponseHookHandler {
  return function recordRequestMetrics(request, reply, done) {
    metrics.observeRequest(request.method, request.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode, reply.elapsedTime / 1000);
    done();
  };
}
