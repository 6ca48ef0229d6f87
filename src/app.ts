import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv, type Options as AjvOptions } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyHttpOptions, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import type * as IoRedis from 'ioredis';
import type { Migration } from 'kysely';
import { type Config, loadConfig } from './config.js';
import { createDatabase, type Database, migrateOwnToLatest, migrateToLatest } from './db/create-db.js';
import type { Db } from './db/database.js';
import { toDatabaseStartupError } from './db/errors.js';
import { createAccessTokenService } from './lib/access-tokens.js';
import { ProblemSchema } from './lib/http-schemas.js';
import { serializeRequest } from './lib/log-redaction.js';
import { createMailer, type Mailer } from './lib/mailer.js';
import { loadOptional } from './lib/optional-dependency.js';
import { type CounterStore, MemoryCounterStore, RateLimiter } from './lib/rate-limiter.js';
import { FallbackCounterStore, RedisCounterStore } from './lib/redis-counter-store.js';
import { lazyRequestLogger } from './lib/request-logger.js';
import { accountPagesRoutes } from './modules/account-pages/account-pages.routes.js';
import { createAccountMail } from './modules/auth/account-mail.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { TokenResponseSchema } from './modules/auth/auth.schemas.js';
import { createAuthService } from './modules/auth/auth.service.js';
import { booksRoutes } from './modules/books/books.routes.js';
import { BookSchema } from './modules/books/books.schemas.js';
import { createBooksService } from './modules/books/books.service.js';
import { bucketlistsRoutes } from './modules/bucketlists/bucketlists.routes.js';
import { BucketlistSchema, ItemSchema } from './modules/bucketlists/bucketlists.schemas.js';
import { createBucketlistsService } from './modules/bucketlists/bucketlists.service.js';
import { onEventRecorded } from './modules/events/events.repository.js';
import { eventsRoutes } from './modules/events/events.routes.js';
import { SecurityEventSchema } from './modules/events/events.schemas.js';
import { createEventsService } from './modules/events/events.service.js';
import { adminStatusRoutes } from './modules/health/admin-status.routes.js';
import { healthRoutes } from './modules/health/health.routes.js';
import { introspectionRoutes } from './modules/introspection/introspection.routes.js';
import { createIntrospectionService } from './modules/introspection/introspection.service.js';
import { adminKeysRoutes } from './modules/keys/admin-keys.routes.js';
import { keysRoutes } from './modules/keys/keys.routes.js';
import { SigningKeyInfo } from './modules/keys/keys.schemas.js';
import { createKeyRing } from './modules/keys/keys.service.js';
import { recordRequestMetrics } from './modules/metrics/metrics.hooks.js';
import { createMetricsListener, type MetricsListener } from './modules/metrics/metrics.listener.js';
import { countAuthSignIns, countMfaSignIns, countPasskeySignIns } from './modules/metrics/sign-in-outcomes.js';
import { mfaRoutes } from './modules/mfa/mfa.routes.js';
import { createMfaService } from './modules/mfa/mfa.service.js';
import { createSecondFactor } from './modules/mfa/second-factor.js';
import { passkeysRoutes } from './modules/passkeys/passkeys.routes.js';
import { PasskeySchema } from './modules/passkeys/passkeys.schemas.js';
import { createPasskeysService } from './modules/passkeys/passkeys.service.js';
import { sessionsRoutes } from './modules/sessions/sessions.routes.js';
import { SessionSchema } from './modules/sessions/sessions.schemas.js';
import { createSessionsService } from './modules/sessions/sessions.service.js';
import { usersRoutes } from './modules/users/users.routes.js';
import { UserSchema } from './modules/users/users.schemas.js';
import { createUsersService } from './modules/users/users.service.js';
import { authPlugin } from './plugins/auth.js';
import { diagnosticsPlugin } from './plugins/diagnostics.js';
import { docsPlugin } from './plugins/docs.js';
import { answerFrameworkError, errorHandlerPlugin } from './plugins/error-handler.js';
import { securityPlugin } from './plugins/security.js';

export interface AppDeps {
  /** An open database; when omitted one is opened from config and closed with the app. */
  database?: Database;
  /** The rate limits' counters; defaults to Redis when configured, else per-process memory. */
  counterStore?: CounterStore;
  /** Overrides the pino logger options (tests pass false). */
  logger?: FastifyServerOptions['logger'];
  /** A mail queue; when omitted one is made from config (SMTP or the outbox) and closed with the app. */
  mailer?: Mailer;
}

/** The Gatehouse modules beyond accounts and sessions, each on or off. */
export interface GatehouseModules {
  /** The shared book catalogue, /books (the standalone server: on; the plugin: off unless asked). */
  books?: boolean;
  /** Private bucketlists, /bucketlists (the standalone server: on; the plugin: off unless asked). */
  bucketlists?: boolean;
}

/** Options of the `gatehouse` plugin. */
export interface GatehouseOptions extends Omit<AppDeps, 'logger'> {
  /** A Config from loadConfig(), or the environment to load one from (e.g. process.env). */
  config: Config | Record<string, string | undefined>;
  /** Optional modules; all off by default in the plugin. */
  modules?: GatehouseModules;
  /**
   * The app's own migrations, by name (applied in name order, after Gatehouse's). They are
   * recorded in their own table, so Gatehouse's later migrations never interleave with them.
   */
  migrations?: Record<string, Migration>;
  /** Where the app's migrations are recorded (default `app_migration`, and `app_migration_lock`). */
  migrationTable?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Gatehouse's database (Kysely) and configuration, for the app's own repositories. */
    gatehouse: {
      readonly db: Db;
      readonly dialect: 'sqlite' | 'postgres';
      readonly config: Config;
      /** The operators' GET /metrics listener, for the process entry to start (METRICS_PORT); null when metrics are off. */
      readonly metrics: MetricsListener | null;
    };
  }
}

/** Tells a Config apart from an environment, whose values are all strings. */
function isConfig(value: Config | Record<string, string | undefined>): value is Config {
  return typeof (value as { jwt?: unknown }).jwt === 'object';
}

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Log redaction: credentials and tokens never reach the logs. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.current_password',
  '*.new_password',
  '*.refresh_token',
  '*.access_token',
  '*.token',
];

// Bodies are validated strictly: no type coercion, unknown fields are errors (not stripped).
const BODY_AJV: AjvOptions = { allErrors: false, coerceTypes: false, removeAdditional: false, useDefaults: true, strict: false };
// Query strings and path params arrive as text, so those may be coerced ("20" → 20).
const PARAMS_AJV: AjvOptions = { ...BODY_AJV, coerceTypes: 'array' };

function makeAjv(options: AjvOptions): Ajv {
  const ajv = new Ajv(options);
  addFormats.default(ajv, ['email', 'date-time', 'uuid', 'uri']);
  return ajv;
}

/**
 * Redis-backed counters when REDIS_URL is set (limits hold across instances), with a fallback
 * to process memory while Redis is down; plain memory otherwise.
 */
function createCounterStore(app: FastifyInstance, config: Config): CounterStore {
  if (!config.redis) return new MemoryCounterStore();
  const { Redis } = loadOptional<typeof IoRedis>('ioredis');
  const redis = new Redis(config.redis.url, {
    // Fail commands at once while disconnected (the fallback answers) instead of queueing them.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  // Connection errors surface through failed commands (and one log line from the fallback).
  redis.on('error', () => {});
  app.addHook('onClose', async () => {
    redis.disconnect();
  });
  return new FallbackCounterStore(new RedisCounterStore(redis, config.redis.keyPrefix), new MemoryCounterStore(), app.log);
}

/**
 * Opens the database (unless one is given), checks that it accepts writes and migrates it. A
 * read-only, locked or unreachable database fails here, at start, with a one-line
 * DatabaseStartupError, rather than on the first request.
 */
async function openDatabase(
  config: Config,
  given: Database | undefined,
  own?: { migrations: Record<string, Migration>; table: string | undefined },
): Promise<Database> {
  let database = given;
  try {
    database ??= createDatabase(config.database);
    await database.assertWritable();
    await migrateToLatest(database.db);
    // The app's own migrations, after Gatehouse's, tracked in their own table (see migrateOwnToLatest).
    if (own) await migrateOwnToLatest(database.db, own.migrations, own.table);
    return database;
  } catch (err) {
    if (!given) await database?.close().catch(() => {});
    throw toDatabaseStartupError(err, config.database);
  }
}

/**
 * The Fastify server options Gatehouse relies on (body limit, timeouts, proxy trust, poisoning
 * checks, problem+json framework errors, request ids, logging with redaction). An app that
 * registers the `gatehouse` plugin passes them to its own `Fastify()`.
 */
export function gatehouseServerOptions(config: Config, logger?: FastifyServerOptions['logger']): FastifyHttpOptions<Server> {
  const loggerOptions = logger ?? {
    level: config.logLevel,
    redact: { paths: REDACT, censor: '[redacted]' },
    serializers: { req: serializeRequest },
  };
  return {
    logger: loggerOptions,
    // Each request's logger is made when it first logs (most requests log nothing at warn).
    ...(loggerOptions !== false && { childLoggerFactory: lazyRequestLogger }),
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.requestTimeoutMs,
    // Node checks the header and request timeouts only every connectionsCheckingInterval
    // (30 s by default), and headersTimeout defaults to 60 s: a client trickling its headers or
    // body was cut only after ~77 s with REQUEST_TIMEOUT=30s. Checked each second, both limits
    // hold to within a second.
    http: {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: 1_000,
    },
    // proxy-addr accepts a hop count too, though Fastify's types only list the other forms.
    trustProxy: config.trustProxy as FastifyServerOptions['trustProxy'],
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Requests that arrive on a kept-alive connection during shutdown get our problem+json 503
    // (error-handler plugin) instead of Fastify's plain JSON one.
    return503OnClosing: false,
    genReqId: () => crypto.randomUUID(),
    requestIdHeader: false,
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: false },
    frameworkErrors: answerFrameworkError,
    // Registering Gatehouse opens and migrates the database and loads the signing keys; its
    // own bounded timeouts (SQLite busy wait, PostgreSQL connect) decide when that fails.
    pluginTimeout: 0,
  };
}

/** Builds the whole application without listening; `server.ts` (or a test) decides what to do with it. */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify(gatehouseServerOptions(config, deps.logger)).withTypeProvider<TypeBoxTypeProvider>();
  // The standalone server offers every module; the plugin's defaults are for apps of their own.
  const { logger: _logger, ...services } = deps;
  await app.register(gatehouse, { ...services, config, modules: { books: true, bucketlists: true } });
  return app;
}

/**
 * Gatehouse inside any Fastify 5 app: its routes, `app.authenticate`, `app.requireRole`, typed
 * `request.user`, problem+json errors, security headers, and `app.gatehouse.db` for the app's
 * own repositories (its own migrations run after Gatehouse's). Give the app
 * `gatehouseServerOptions(config)`.
 */
export const gatehouse = fp<GatehouseOptions>(registerGatehouse, { name: 'gatehouse', fastify: '5.x' });

async function registerGatehouse(instance: FastifyInstance, options: GatehouseOptions): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { config: given, modules = {}, migrations, migrationTable, ...deps } = options;
  const config = isConfig(given) ? given : loadConfig(given);

  const bodyAjv = makeAjv(BODY_AJV);
  const paramsAjv = makeAjv(PARAMS_AJV);
  for (const schema of [
    ProblemSchema,
    UserSchema,
    TokenResponseSchema,
    ...(modules.books ? [BookSchema] : []),
    ...(modules.bucketlists ? [BucketlistSchema, ItemSchema] : []),
    SessionSchema,
    SecurityEventSchema,
    PasskeySchema,
    SigningKeyInfo,
  ]) {
    bodyAjv.addSchema(schema);
    paramsAjv.addSchema(schema);
    app.addSchema(schema);
  }
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : paramsAjv).compile(schema));

  const database = await openDatabase(config, deps.database, migrations && { migrations, table: migrationTable });
  // Operators' metrics (METRICS_PORT). Off, nothing below records anything: no hook, no wrapper,
  // and prom-client is not even loaded (its import alone took ~0.2 s of a cold start here).
  const metrics = config.metrics ? (await import('./modules/metrics/metrics.service.js')).createMetrics(database) : null;
  const metricsListener = metrics && createMetricsListener(metrics, (err) => app.log.error({ err }, 'metrics scrape failed'));
  app.decorate('gatehouse', { db: database.db, dialect: database.dialect, config, metrics: metricsListener });
  if (!deps.database) app.addHook('onClose', async () => database.close());
  // First hook of every request (synchronous: it runs on every request).
  app.addHook('onRequest', (_request, _reply, done) => {
    database.requestArrived();
    done();
  });
  if (metrics && metricsListener) {
    app.addHook('onResponse', recordRequestMetrics(metrics));
    const stopCountingEvents = onEventRecorded(database.db, metrics.countSecurityEvent);
    app.addHook('onClose', async () => {
      stopCountingEvents();
      await metricsListener.close();
    });
  }

  const keyRing = await createKeyRing(config, database.db, app.log);
  app.addHook('onClose', async () => keyRing.close());
  const accessTokens = createAccessTokenService(
    {
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
      ttlSeconds: config.jwt.accessTokenTtlSeconds,
      clockToleranceSeconds: config.jwt.clockToleranceSeconds,
    },
    keyRing,
  );
  const counters = deps.counterStore ?? createCounterStore(app, config);

  const mailer = deps.mailer ?? createMailer(config.mail, app.log);
  // Registered after the database hook: requests have finished by now, so no more mail is queued.
  if (!deps.mailer) app.addHook('onClose', async () => mailer.close());
  const accountMail = createAccountMail({
    mailer,
    publicUrl: config.publicUrl,
    passwordResetTtlSeconds: config.account.passwordResetTtlSeconds,
    emailVerificationTtlSeconds: config.account.emailVerificationTtlSeconds,
  });
  const users = createUsersService(database.db, { accountMail, reauthMaxAgeSeconds: config.reauthMaxAgeSeconds });
  const limiter = new RateLimiter(counters, '', config.loginThrottle.windowSeconds, metrics?.countThrottleHit);
  const secondFactor = createSecondFactor({ db: database.db, encryptionKey: config.jwt.keyEncryptionSecret, accountMail });
  const authService = createAuthService({
    db: database.db,
    accessTokens,
    users,
    limiter,
    secondFactor,
    limits: {
      loginFailuresPerEmail: config.loginThrottle.maxFailuresPerEmail,
      loginFailuresPerIp: config.loginThrottle.maxFailuresPerIp,
      registerPerIp: config.rateLimits.registerPerIp,
      refreshFailuresPerIp: config.rateLimits.refreshFailuresPerIp,
    },
    refreshTokenTtlSeconds: config.jwt.refreshTokenTtlSeconds,
    accountMail,
    account: config.account,
    background: (task) => {
      task().catch((err: unknown) => app.log.error({ err }, 'background write failed'));
    },
  });
  const auth = countAuthSignIns(authService, metrics);
  const events = createEventsService(database.db, { retentionSeconds: config.eventsRetentionSeconds });

  await app.register(errorHandlerPlugin);
  await app.register(securityPlugin, { config });
  await app.register(docsPlugin, { config, version: VERSION });
  if (config.diagnostics) await app.register(diagnosticsPlugin);
  await app.register(authPlugin, { auth });

  await app.register(healthRoutes, { ping: () => database.ping() });
  await app.register(authRoutes, { auth, users });
  await app.register(keysRoutes, { keyRing, issuer: config.jwt.issuer, publicUrl: config.publicUrl });
  await app.register(adminKeysRoutes, { keyRing });
  await app.register(adminStatusRoutes, {
    version: VERSION,
    database: database.dialect,
    rateLimitStore: config.redis ? 'redis' : 'memory',
    ping: () => database.ping(),
  });
  const introspection = createIntrospectionService({
    clients: config.introspectionClients,
    auth,
    limiter,
    failuresPerIp: config.loginThrottle.maxFailuresPerIp,
    issuer: config.jwt.issuer,
    audience: config.jwt.audience,
  });
  await app.register(introspectionRoutes, { introspection });
  await app.register(usersRoutes, { users });
  await app.register(sessionsRoutes, { sessions: createSessionsService(database.db) });
  await app.register(eventsRoutes, { events });
  const mfaService = createMfaService({
    db: database.db,
    auth,
    secondFactor,
    limiter,
    encryptionKey: config.jwt.keyEncryptionSecret,
    issuerName: config.webauthn.rpName,
    reauthMaxAgeSeconds: config.reauthMaxAgeSeconds,
  });
  const mfa = countMfaSignIns(mfaService, metrics);
  await app.register(mfaRoutes, { mfa });
  const passkeysService = createPasskeysService({
    db: database.db,
    auth,
    limiter,
    webauthn: config.webauthn,
    reauthMaxAgeSeconds: config.reauthMaxAgeSeconds,
    failuresPerIp: config.loginThrottle.maxFailuresPerIp,
  });
  const passkeys = countPasskeySignIns(passkeysService, metrics);
  await app.register(passkeysRoutes, { passkeys });

  // Retention and sweeping, once every service exists: at start, then hourly (each instance;
  // the DELETEs are idempotent).
  const pruneExpired = () => {
    events.prune().catch((err: unknown) => app.log.warn({ err }, 'pruning security events failed'));
    mfa.sweep().catch((err: unknown) => app.log.warn({ err }, 'sweeping expired mfa tokens failed'));
    passkeys.sweep().catch((err: unknown) => app.log.warn({ err }, 'sweeping expired passkey challenges failed'));
  };
  const pruneTimer = setInterval(pruneExpired, 3_600_000);
  pruneTimer.unref();
  app.addHook('onReady', async () => pruneExpired());
  app.addHook('onClose', async () => clearInterval(pruneTimer));
  if (modules.books) await app.register(booksRoutes, { books: createBooksService(database.db) });
  if (modules.bucketlists) await app.register(bucketlistsRoutes, { bucketlists: createBucketlistsService(database.db) });
  if (config.accountPagesEnabled) await app.register(accountPagesRoutes);
}
