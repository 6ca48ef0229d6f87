import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Database, PoolStats } from '../../db/create-db.js';
import { EVENT_TYPES, type EventType } from '../events/events.repository.js';
import { RequestMetrics } from './request-metrics.js';

/** How a sign-in proved who it was: each of the routes that hand out tokens. */
export const SIGN_IN_METHODS = ['password', 'totp', 'recovery_code', 'passkey', 'refresh'] as const;
export type SignInMethod = (typeof SIGN_IN_METHODS)[number];

/**
 * What became of a sign-in: tokens issued; the password was right and a second factor is asked;
 * refused (wrong or unknown credentials, an invalid token, an unverified email); refused by a
 * limit before any check (429); or failed on the server's side (database down: 5xx).
 */
export const SIGN_IN_OUTCOMES = ['success', 'mfa_required', 'failure', 'throttled', 'error'] as const;
export type SignInOutcome = (typeof SIGN_IN_OUTCOMES)[number];

/**
 * The rate limits, by the fixed prefix of their keys (see auth.service.ts, passkeys.service.ts,
 * introspection.service.ts). Only these names ever become a label: the rest of a key is an
 * email, an IP address or a user id.
 */
export const THROTTLE_LIMITS = [
  'login:email',
  'login:ip',
  'register:ip',
  'refresh:ip',
  'account:mail',
  'account:ip',
  'mfa:user',
  'introspect:ip',
] as const;
export type ThrottleLimit = (typeof THROTTLE_LIMITS)[number] | 'other';

const PREFIX = 'gatehouse_';

/**
 * The limit a limiter key counts for: its prefix (`login:email` of `login:email:ada@…`), never
 * the email, IP or id after it; 'other' for a prefix not listed above. Null for the limiter's
 * own bookkeeping (`event:throttled:` keeps the throttled sign-ins of one email to one event per
 * window), which refuses nobody.
 */
export function limitOfKey(key: string): ThrottleLimit | null {
  if (key.startsWith('event:')) return null;
  const end = key.indexOf(':', key.indexOf(':') + 1);
  const prefix = end === -1 ? '' : key.slice(0, end);
  return (THROTTLE_LIMITS as readonly string[]).includes(prefix) ? (prefix as ThrottleLimit) : 'other';
}

/**
 * The operators' metrics of one app instance, in a Registry of its own (two apps in one process,
 * as in the tests, never share counters). Recording is synchronous and cheap: the request
 * metrics run on every request while metrics are on. Nothing here knows Fastify or HTTP.
 */
export function createMetrics(database: Pick<Database, 'dialect' | 'poolStats'>) {
  const registry = new Registry();
  const registers = [registry];
  // Event-loop delay (perf_hooks.monitorEventLoopDelay: min, mean, p50, p90, p99, max since the
  // last scrape), CPU, memory, heap spaces, GC pauses, open file descriptors.
  collectDefaultMetrics({ register: registry, prefix: PREFIX });

  // Counted on every request, so outside prom-client (see request-metrics.ts).
  const requests = new RequestMetrics(`${PREFIX}http_requests_total`, `${PREFIX}http_request_duration_seconds`);
  const signIns = new Counter({
    name: `${PREFIX}sign_ins_total`,
    help: 'Sign-in attempts by method (password, totp, recovery_code, passkey, refresh) and outcome.',
    labelNames: ['method', 'outcome'] as const,
    registers,
  });
  const throttleHits = new Counter({
    name: `${PREFIX}throttle_hits_total`,
    help: 'Attempts refused by a rate limit (429), by limit.',
    labelNames: ['limit'] as const,
    registers,
  });
  const events = new Counter({
    name: `${PREFIX}security_events_total`,
    help: 'Security events recorded, by type.',
    labelNames: ['type'] as const,
    registers,
  });
  // Every known series starts at 0, so a rate is defined from the first scrape on, not only
  // after the first sign-in failure or throttle hit has happened.
  for (const method of SIGN_IN_METHODS) {
    // Only a password sign-in can be answered with mfa_required.
    for (const outcome of SIGN_IN_OUTCOMES) if (outcome !== 'mfa_required' || method === 'password') signIns.labels(method, outcome).inc(0);
  }
  for (const limit of THROTTLE_LIMITS) throttleHits.labels(limit).inc(0);
  for (const type of EVENT_TYPES) events.labels(type).inc(0);

  new Gauge({
    name: `${PREFIX}database_info`,
    help: 'The kind of database this instance uses (always 1).',
    labelNames: ['kind'] as const,
    registers,
  })
    .labels(database.dialect)
    .set(1);
  const poolStats = database.poolStats;
  if (poolStats) {
    // Read from the pool at each scrape: no work at all between scrapes.
    const poolGauge = (name: string, help: string, read: (stats: PoolStats) => number) =>
      new Gauge({
        name: `${PREFIX}${name}`,
        help,
        registers,
        collect() {
          this.set(read(poolStats()));
        },
      });
    poolGauge('database_pool_connections', 'PostgreSQL connections open, idle and in use.', (s) => s.total);
    poolGauge('database_pool_idle_connections', 'PostgreSQL connections open and idle.', (s) => s.idle);
    poolGauge('database_pool_waiting_queries', 'Queries waiting for a free PostgreSQL connection.', (s) => s.waiting);
    poolGauge('database_pool_max_connections', 'The pool size limit (DATABASE_POOL_SIZE).', (s) => s.max);
  }

  return {
    registry,

    /** One answered request; `route` is the route's pattern (/books/:id), never the raw URL. */
    observeRequest(method: string, route: string, status: number, seconds: number): void {
      requests.observe(method, route, status, seconds);
    },

    /** One sign-in attempt and what became of it. */
    countSignIn(method: SignInMethod, outcome: SignInOutcome): void {
      signIns.labels(method, outcome).inc();
    },

    /** A limiter refused an attempt on `key` (counted under the key's limit, see limitOfKey). */
    countThrottleHit(key: string): void {
      const limit = limitOfKey(key);
      if (limit !== null) throttleHits.labels(limit).inc();
    },

    /** A security event was recorded. */
    countSecurityEvent(type: EventType): void {
      events.labels(type).inc();
    },

    /** The Prometheus text exposition of every metric, and its content type. */
    async scrape(): Promise<{ contentType: string; body: string }> {
      return { contentType: registry.contentType, body: requests.render() + (await registry.metrics()) };
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
