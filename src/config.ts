import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { parseDurationSeconds } from './lib/durations.js';
import { publicJwkFromPrivatePem, SIGNING_ALGORITHMS, type SigningAlgorithm } from './lib/signing-keys.js';
import { isWeakJwtSecret } from './lib/weak-secrets.js';

export type DatabaseConfig = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; poolSize: number };

export type TrustProxy = boolean | number | string[];

/** Where the JWT secret came from; logged (never the secret itself). */
export type SecretSource = 'env' | 'generated-file' | 'existing-file';

export interface Config {
  readonly nodeEnv: 'production' | 'development' | 'test';
  readonly port: number;
  readonly host: string;
  readonly database: DatabaseConfig;
  readonly jwt: {
    readonly algorithm: SigningAlgorithm;
    /** HS256 key (its UTF-8 bytes); empty with the asymmetric algorithms. */
    readonly secret: string;
    readonly secretSource: SecretSource;
    /** A fixed asymmetric signing key (PEM); null means keys live in the database key store. */
    readonly privateKeyPem: string | null;
    /** Encrypts secrets at rest: the key store's private keys and TOTP seeds; empty (production only) leaves TOTP off. */
    readonly keyEncryptionSecret: string;
    /** Automatic rotation of key-store keys; 0 = only `gatehouse keys rotate`. */
    readonly keyRotationIntervalSeconds: number;
    /** How often each instance re-reads the key store (picks up rotations without a restart). */
    readonly keyReloadIntervalSeconds: number;
    readonly secretWarning: string | null;
    readonly issuer: string;
    readonly audience: string;
    readonly accessTokenTtlSeconds: number;
    readonly refreshTokenTtlSeconds: number;
    /** Small allowance for clock skew between instances when checking exp/nbf/iat. */
    readonly clockToleranceSeconds: number;
  };
  readonly corsOrigins: readonly string[];
  readonly logLevel: string;
  readonly trustProxy: TrustProxy;
  readonly bodyLimitBytes: number;
  readonly requestTimeoutMs: number;
  readonly loginThrottle: {
    readonly maxFailuresPerEmail: number;
    readonly maxFailuresPerIp: number;
    /** The window of every limit (sign-in, account tokens, sign-up, refresh). */
    readonly windowSeconds: number;
  };
  /** Per-client-IP limits on the other unauthenticated routes; 0 turns one off. */
  readonly rateLimits: {
    /** Sign-ups (every POST /auth/register counts) per client IP per window. */
    readonly registerPerIp: number;
    /** Refused refresh tokens per client IP per window. */
    readonly refreshFailuresPerIp: number;
  };
  /** Sensitive changes need a sign-in (or reauthentication) at most this old (RFC 9470). */
  readonly reauthMaxAgeSeconds: number;
  /** Security events older than this are pruned. */
  readonly eventsRetentionSeconds: number;
  readonly docsEnabled: boolean;
  /** ACCOUNT_PAGES_ENABLED: Gatehouse serves the pages mails link to (/verify-email, /reset-password). */
  readonly accountPagesEnabled: boolean;
  /** GATEHOUSE_DIAGNOSTICS: event-loop delay and memory at GET /_diagnostics and in a log line at shutdown. */
  readonly diagnostics: boolean;
  /**
   * METRICS_PORT / METRICS_HOST: where the operators' Prometheus scraper reads GET /metrics, a
   * listener of its own beside the public one; null (METRICS_PORT unset or 0) turns metrics off.
   */
  readonly metrics: { readonly host: string; readonly port: number } | null;
  /** Shared counters (login throttling) across instances; null keeps them in process memory. */
  readonly redis: { readonly url: string; readonly keyPrefix: string } | null;
  readonly mail: {
    /** smtp:// or smtps:// URL, credentials included (never logged); null writes mail to the outbox. */
    readonly smtpUrl: string | null;
    /** The From header, "Name <address>" or a bare address. */
    readonly from: string;
    /** Outbox: one JSON file per mail, used when smtpUrl is null (in production only when MAIL_OUTBOX_DIR is set). */
    readonly outboxDir: string;
  };
  /** Base URL of the links in mails (no trailing slash), e.g. https://app.example.com. */
  readonly publicUrl: string;
  /**
   * INTROSPECTION_CLIENTS: the resource servers allowed to call POST /oauth/introspect. Only a
   * SHA-256 digest of each secret is kept (the secrets are at least 32 random bytes, so a digest
   * cannot be reversed by guessing).
   */
  readonly introspectionClients: readonly IntrospectionClient[];
  /** Passkeys: the relying party, and the page origins allowed to use it. */
  readonly webauthn: { readonly rpId: string; readonly rpName: string; readonly origins: readonly string[] };
  readonly account: {
    /** Login of a user whose email is not verified answers 403 EMAIL_NOT_VERIFIED. */
    readonly requireVerifiedEmail: boolean;
    readonly passwordResetTtlSeconds: number;
    readonly emailVerificationTtlSeconds: number;
    /** Reset and verification mails one address may be sent per throttle window. */
    readonly maxMailsPerAddress: number;
    /** Forgot-password requests and bad reset/verification tokens per client IP per window (0: off). */
    readonly maxAttemptsPerIp: number;
  };
}

/** A resource server that may introspect tokens: its id and the SHA-256 digest (hex) of its secret. */
export interface IntrospectionClient {
  readonly id: string;
  readonly secretSha256: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    // One problem fits on one line (what start-up scripts and journals show first); more are a list.
    super(
      problems.length === 1
        ? `Invalid configuration: ${problems[0]}`
        : `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

const DEFAULT_SQLITE_PATH = './data/gatehouse.db';
const DEFAULT_DATABASE_URL = `sqlite:${DEFAULT_SQLITE_PATH}`;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const MIN_SECRET_BYTES = 32;

type Env = Record<string, string | undefined>;

/**
 * Reads `.env` (if present) under the real environment: variables already set win,
 * as with `node --env-file`.
 */
export function readEnvironment(envFile = '.env', env: Env = process.env): Env {
  if (!existsSync(envFile)) return { ...env };
  return { ...parseEnv(readFileSync(envFile, 'utf8')), ...env };
}

/**
 * Validates the environment into a frozen Config, listing every problem at once.
 * Outside production a missing JWT_SECRET is generated once and kept (mode 0600) beside the
 * SQLite file, so restarts keep sessions valid without anyone committing a secret.
 */
export function loadConfig(env: Env = readEnvironment()): Config {
  const problems: string[] = [];
  const str = (name: string, fallback: string): string => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? fallback : v.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = str(name, String(fallback));
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };
  const duration = (name: string, fallback: string): number => {
    const raw = str(name, fallback);
    const seconds = parseDurationSeconds(raw);
    if (seconds === null) {
      problems.push(`${name} must be a duration like 900, 45s, 15m, 12h or 30d (got "${raw}")`);
      return parseDurationSeconds(fallback) as number;
    }
    return seconds;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = str(name, String(fallback)).toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(raw)) return true;
    if (['false', '0', 'no', 'off'].includes(raw)) return false;
    problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  };

  const nodeEnvRaw = str('NODE_ENV', 'development');
  let nodeEnv: Config['nodeEnv'] = 'development';
  if (nodeEnvRaw === 'production' || nodeEnvRaw === 'development' || nodeEnvRaw === 'test') {
    nodeEnv = nodeEnvRaw;
  } else {
    problems.push(`NODE_ENV must be production, development or test (got "${nodeEnvRaw}")`);
  }
  const production = nodeEnv === 'production';

  const port = int('PORT', 3000, 0, 65_535);
  const host = str('HOST', '127.0.0.1');
  const database = parseDatabaseUrl(str('DATABASE_URL', ''), env, problems);

  const logLevel = str('LOG_LEVEL', nodeEnv === 'test' ? 'silent' : 'info');
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const corsOrigins = str('CORS_ORIGINS', '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const origin of corsOrigins) {
    if (origin === '*') problems.push('CORS_ORIGINS must list origins; "*" is not allowed for an auth service');
    else if (!/^https?:\/\/[^/\s]+$/.test(origin))
      problems.push(`CORS_ORIGINS entry "${origin}" is not an origin like https://app.example.com`);
  }

  const trustProxy = parseTrustProxy(str('TRUST_PROXY', 'false'), problems);
  const accessTokenTtlSeconds = duration('ACCESS_TOKEN_TTL', '15m');
  const refreshTokenTtlSeconds = duration('REFRESH_TOKEN_TTL', '30d');
  if (refreshTokenTtlSeconds <= accessTokenTtlSeconds) problems.push('REFRESH_TOKEN_TTL must be longer than ACCESS_TOKEN_TTL');

  const audience = str('JWT_AUDIENCE', 'gatehouse-api');

  const algorithmRaw = str('JWT_ALGORITHM', 'HS256');
  const algorithm = (SIGNING_ALGORITHMS as readonly string[]).includes(algorithmRaw) ? (algorithmRaw as SigningAlgorithm) : 'HS256';
  if (algorithm !== algorithmRaw) problems.push(`JWT_ALGORITHM must be one of ${SIGNING_ALGORITHMS.join(', ')} (got "${algorithmRaw}")`);
  const secretCtx = { production, database, problems };
  // HS256 signs with JWT_SECRET. The asymmetric algorithms sign with a configured PEM key, or
  // with keys kept in the database, encrypted under KEY_ENCRYPTION_SECRET.
  const secret: ResolvedSecret = algorithm === 'HS256' ? resolveSecret('JWT_SECRET', 'jwt-secret', env.JWT_SECRET, secretCtx) : NO_SECRET;
  const privateKeyPem = readPrivateKey(env, algorithm, problems);
  // Encrypts secrets at rest: the key store's private keys and TOTP seeds. Required in production
  // for the key store (the asymmetric algorithms without a configured key); otherwise optional
  // there: without it TOTP cannot be turned on (said at start and at enrolment). Outside
  // production it is generated once into the data directory, like JWT_SECRET.
  const keyStore = algorithm !== 'HS256' && !env.JWT_PRIVATE_KEY?.trim() && !env.JWT_PRIVATE_KEY_FILE?.trim();
  const totpOff: ResolvedSecret = {
    ...NO_SECRET,
    warning: 'KEY_ENCRYPTION_SECRET not set: users cannot turn on TOTP two-factor sign-in (set it to allow it)',
  };
  const keyEncryption: ResolvedSecret =
    keyStore || (env.KEY_ENCRYPTION_SECRET ?? '').trim() !== ''
      ? resolveSecret('KEY_ENCRYPTION_SECRET', 'key-encryption-secret', env.KEY_ENCRYPTION_SECRET, secretCtx)
      : production
        ? totpOff
        : optionalDevelopmentSecret(secretCtx, totpOff);
  const keyRotationIntervalSeconds = str('JWT_KEY_ROTATION_INTERVAL', '0') === '0' ? 0 : duration('JWT_KEY_ROTATION_INTERVAL', '30d');

  const smtpUrl = parseSmtpUrl(str('SMTP_URL', ''), problems);
  const outboxDirRaw = str('MAIL_OUTBOX_DIR', '');
  // The outbox holds live reset and verification links in plain files; in production that has
  // to be a deliberate choice, not what happens because SMTP_URL was forgotten.
  if (production && smtpUrl === null && outboxDirRaw === '') {
    problems.push(
      'NODE_ENV=production needs a way to deliver mail: set SMTP_URL (e.g. smtp://user:pass@host:587), ' +
        'or set MAIL_OUTBOX_DIR to a folder to accept that mails, live tokens included, are written to files there',
    );
  }
  const metrics = parseMetrics(int('METRICS_PORT', 0, 0, 65_535), str('METRICS_HOST', '127.0.0.1'), port, problems);
  const publicUrlRaw = str('PUBLIC_URL', '');
  // Reset links pointing at a developer's loopback address would be useless in real mail.
  if (production && smtpUrl !== null && publicUrlRaw === '') {
    problems.push('PUBLIC_URL is required when NODE_ENV=production and SMTP_URL is set (the links in mails start with it)');
  }
  const publicUrl = parsePublicUrl(publicUrlRaw === '' ? defaultPublicUrl(host, port) : publicUrlRaw, problems);
  // The issuer names where tokens come from: by default the service's public URL (discovery,
  // RFC 8414 §2, needs a URL). Instances behind one load balancer therefore need the same
  // PUBLIC_URL (or JWT_ISSUER), or each would reject the others' tokens.
  const issuerRaw = str('JWT_ISSUER', '');
  const issuer = issuerRaw === '' ? publicUrl : parseIssuer(issuerRaw, problems);
  const passwordResetTtlSeconds = duration('PASSWORD_RESET_TTL', '15m');
  if (passwordResetTtlSeconds > 86_400) problems.push('PASSWORD_RESET_TTL must be at most 24h (a reset link is a password)');
  const emailVerificationTtlSeconds = duration('EMAIL_VERIFICATION_TTL', '24h');
  if (emailVerificationTtlSeconds > 30 * 86_400) problems.push('EMAIL_VERIFICATION_TTL must be at most 30d');

  const config: Config = {
    nodeEnv,
    port,
    host,
    database,
    jwt: {
      algorithm,
      secret: secret.value,
      secretSource: secret.source,
      secretWarning: [secret.warning, keyEncryption.warning].filter(Boolean).join('; ') || null,
      privateKeyPem,
      keyEncryptionSecret: keyEncryption.value,
      keyRotationIntervalSeconds,
      keyReloadIntervalSeconds: duration('JWT_KEY_RELOAD_INTERVAL', '30s'),
      issuer,
      audience,
      accessTokenTtlSeconds,
      refreshTokenTtlSeconds,
      clockToleranceSeconds: int('JWT_CLOCK_TOLERANCE_SECONDS', 5, 0, 60),
    },
    corsOrigins,
    logLevel,
    trustProxy,
    bodyLimitBytes: int('BODY_LIMIT_BYTES', 65_536, 1024, 10 * 1024 * 1024),
    requestTimeoutMs: duration('REQUEST_TIMEOUT', '30s') * 1000,
    loginThrottle: {
      maxFailuresPerEmail: int('LOGIN_MAX_FAILURES_PER_EMAIL', 5, 1, 10),
      maxFailuresPerIp: int('LOGIN_MAX_FAILURES_PER_IP', 50, 0, 1_000_000),
      windowSeconds: duration('LOGIN_THROTTLE_WINDOW', '15m'),
    },
    rateLimits: {
      registerPerIp: int('REGISTER_MAX_PER_IP', 20, 0, 1_000_000),
      refreshFailuresPerIp: int('REFRESH_MAX_FAILURES_PER_IP', 100, 0, 1_000_000),
    },
    reauthMaxAgeSeconds: duration('REAUTH_MAX_AGE', '10m'),
    eventsRetentionSeconds: duration('EVENTS_RETENTION', '90d'),
    docsEnabled: bool('DOCS_ENABLED', true),
    accountPagesEnabled: bool('ACCOUNT_PAGES_ENABLED', true),
    diagnostics: bool('GATEHOUSE_DIAGNOSTICS', false),
    metrics,
    redis: parseRedis(str('REDIS_URL', ''), str('REDIS_KEY_PREFIX', 'gatehouse:'), problems),
    mail: {
      smtpUrl,
      from: parseMailFrom(str('MAIL_FROM', 'Gatehouse <no-reply@localhost>'), problems),
      outboxDir: resolve(outboxDirRaw === '' ? join(dataDir(database), 'outbox') : outboxDirRaw),
    },
    publicUrl,
    introspectionClients: parseIntrospectionClients(env.INTROSPECTION_CLIENTS ?? '', problems),
    webauthn: parseWebauthn(env, publicUrl, problems),
    account: {
      requireVerifiedEmail: bool('REQUIRE_VERIFIED_EMAIL', false),
      passwordResetTtlSeconds,
      emailVerificationTtlSeconds,
      maxMailsPerAddress: int('MAIL_MAX_PER_ADDRESS', 3, 1, 10),
      maxAttemptsPerIp: int('ACCOUNT_MAX_ATTEMPTS_PER_IP', 20, 0, 1_000_000),
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

/**
 * INTROSPECTION_CLIENTS=`id:secret,id:secret`. Secrets are hashed here, at start, so the Config
 * (and so the process) never holds them; problems never repeat a secret.
 */
function parseIntrospectionClients(raw: string, problems: string[]): IntrospectionClient[] {
  const clients: IntrospectionClient[] = [];
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  for (const [i, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = colon === -1 ? '' : entry.slice(0, colon);
    const secret = colon === -1 ? '' : entry.slice(colon + 1);
    // The id travels in an HTTP Basic header, where a colon would end it (RFC 7617 §2).
    if (!/^[A-Za-z0-9._~-]{1,64}$/.test(id)) {
      problems.push(`INTROSPECTION_CLIENTS entry ${i + 1} must be id:secret with an id of letters, digits, . _ ~ - (at most 64)`);
      continue;
    }
    if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES || isWeakJwtSecret(secret)) {
      problems.push(
        `INTROSPECTION_CLIENTS secret of "${id}" must be at least ${MIN_SECRET_BYTES} random bytes; generate one with: openssl rand -hex 32`,
      );
      continue;
    }
    if (clients.some((c) => c.id === id)) problems.push(`INTROSPECTION_CLIENTS lists "${id}" twice`);
    clients.push({ id, secretSha256: createHash('sha256').update(secret, 'utf8').digest('hex') });
  }
  return clients;
}

/** WEBAUTHN_*: defaults from PUBLIC_URL (its host is the RP id, its origin the one allowed origin). */
function parseWebauthn(env: Env, publicUrl: string, problems: string[]): Config['webauthn'] {
  let defaults = { host: 'localhost', origin: 'http://localhost' };
  try {
    const url = new URL(publicUrl);
    defaults = { host: url.hostname, origin: url.origin };
  } catch {
    // PUBLIC_URL is already reported.
  }
  const rpId = env.WEBAUTHN_RP_ID?.trim() || defaults.host;
  // Browsers refuse IP addresses as RP ids (and a port or scheme is never part of one). Only an
  // explicit value is refused: a PUBLIC_URL with an IP address leaves passkeys unusable, not the server.
  if (env.WEBAUTHN_RP_ID?.trim() && (!/^[a-z0-9.-]+$/i.test(rpId) || /^[\d.]+$/.test(rpId))) {
    problems.push(`WEBAUTHN_RP_ID must be a domain name such as example.com or localhost, not an IP address (got "${rpId}")`);
  }
  const origins = (env.WEBAUTHN_ORIGINS?.trim() || defaults.origin)
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const origin of env.WEBAUTHN_ORIGINS?.trim() ? origins : []) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin))
      problems.push(`WEBAUTHN_ORIGINS entry "${origin}" is not an origin like https://app.example.com`);
  }
  return { rpId, rpName: env.WEBAUTHN_RP_NAME?.trim() || 'Gatehouse', origins };
}

/** DATABASE_URL, or the default SQLite file when it is empty. */
function parseDatabaseUrl(value: string, env: Env, problems: string[]): DatabaseConfig {
  const raw = value || DEFAULT_DATABASE_URL;
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') problems.push(`DATABASE_URL sqlite: needs a file path, e.g. ${DEFAULT_DATABASE_URL}`);
    if (path === ':memory:') return { kind: 'sqlite', path };
    // Only the default location (./data, also when spelled out as in .env.example) is ours to
    // create, which create-db.ts does. A directory missing under any other path is most likely a
    // typo or an unmounted volume; creating it would start an empty database there, with every
    // user "gone", instead of saying so.
    const dir = dirname(resolve(path));
    if (path !== '' && dir !== dirname(resolve(DEFAULT_SQLITE_PATH)) && !existsSync(dir))
      problems.push(`DATABASE_URL points into ${dir}, which does not exist; create it (mkdir -p ${dir}) or fix the path`);
    return { kind: 'sqlite', path: resolve(path) };
  }
  if (raw.startsWith('postgres://') || raw.startsWith('postgresql://')) {
    const poolSize = Number(env.DATABASE_POOL_SIZE ?? '10');
    if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 200)
      problems.push('DATABASE_POOL_SIZE must be an integer between 1 and 200');
    return { kind: 'postgres', url: raw, poolSize };
  }
  problems.push('DATABASE_URL must start with sqlite: or postgres://');
  return { kind: 'sqlite', path: resolve(DEFAULT_SQLITE_PATH) };
}

/**
 * The metrics listener. Loopback by default: the metrics have no authentication and show how the
 * service is used (sign-in failures and throttling per minute, the routes called), so reaching
 * them from elsewhere has to be a decision (METRICS_HOST=0.0.0.0 behind a firewall, say), never
 * what a scraper's convenience made the default. Never the public port: a scrape must not be
 * answerable by the public listener, nor compete with it for the port.
 */
function parseMetrics(port: number, host: string, publicPort: number, problems: string[]): Config['metrics'] {
  if (isIP(host) === 0 && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(host))
    problems.push(`METRICS_HOST must be an IP address or a host name such as 127.0.0.1 or localhost (got "${host}")`);
  if (port === 0) return null;
  if (port === publicPort) problems.push(`METRICS_PORT must differ from PORT (${publicPort}): metrics are never served on the public port`);
  return { host, port };
}

function parseRedis(url: string, keyPrefix: string, problems: string[]): Config['redis'] {
  if (url === '') return null;
  if (!/^rediss?:\/\/[^\s]+$/.test(url)) problems.push('REDIS_URL must look like redis://host:6379 or rediss://…');
  return { url, keyPrefix };
}

/** The folder for local state (development secret, outbox): beside the SQLite file, else ./data. */
function dataDir(database: DatabaseConfig): string {
  return database.kind === 'sqlite' && database.path !== ':memory:' ? dirname(database.path) : resolve('./data');
}

function parseSmtpUrl(raw: string, problems: string[]): string | null {
  if (raw === '') return null;
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    // fall through to the problem below
  }
  // The value carries the SMTP password, so the problem never repeats it.
  if (!url || (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') || url.hostname === '') {
    problems.push('SMTP_URL must look like smtp://user:pass@host:587 or smtps://user:pass@host:465');
  }
  return raw;
}

const MAIL_ADDRESS = '[^\\s<>@",;]+@[^\\s<>@",;]+';
const MAIL_FROM = new RegExp(`^(?:[^<>"\\r\\n]*<${MAIL_ADDRESS}>|"[^"\\r\\n]*"\\s*<${MAIL_ADDRESS}>|${MAIL_ADDRESS})$`);

function parseMailFrom(raw: string, problems: string[]): string {
  if (!MAIL_FROM.test(raw)) problems.push(`MAIL_FROM must be an address or "Name <address>" (got "${raw}")`);
  return raw;
}

const LOOPBACK_OR_WILDCARD = new Set(['127.0.0.1', '::1', 'localhost', '0.0.0.0', '::']);

/**
 * http://HOST:PORT. A loopback or wildcard listening address becomes `localhost`: browsers
 * refuse an IP address as a WebAuthn relying-party id, and `localhost` counts as a secure
 * context, so the pages mails link to work on a developer's machine.
 */
function defaultPublicUrl(host: string, port: number): string {
  const name = LOOPBACK_OR_WILDCARD.has(host.toLowerCase()) ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `http://${name}:${port}`;
}

/** The URL if `raw` is an http(s) URL without query, fragment or credentials, else null. */
function plainHttpUrl(raw: string): URL | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  const plain = (url.protocol === 'http:' || url.protocol === 'https:') && url.search === '' && url.hash === '' && url.username === '';
  return plain ? url : null;
}

function parsePublicUrl(raw: string, problems: string[]): string {
  const url = plainHttpUrl(raw);
  if (!url) {
    problems.push(`PUBLIC_URL must be an http(s) URL without query, fragment or credentials, e.g. https://app.example.com (got "${raw}")`);
    return raw;
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function parseIssuer(raw: string, problems: string[]): string {
  // RFC 8414 §2: the issuer identifier is a URL without query or fragment.
  if (!plainHttpUrl(raw)) {
    problems.push(`JWT_ISSUER must be an http(s) URL without query, fragment or credentials, e.g. https://auth.example.com (got "${raw}")`);
  }
  // Kept exactly as given: verifiers compare it byte for byte with the `iss` claim.
  return raw;
}

function parseTrustProxy(raw: string, problems: string[]): TrustProxy {
  const lower = raw.toLowerCase();
  if (['false', 'off', '0', 'no'].includes(lower)) return false;
  if (['true', 'on', 'yes'].includes(lower)) return true;
  if (/^\d{1,2}$/.test(raw)) return Number(raw);
  const entries = raw.split(',').map((s) => s.trim());
  if (entries.every((e) => /^[0-9a-fA-F.:/]+$/.test(e))) return entries;
  problems.push('TRUST_PROXY must be false, true, a hop count, or a comma-separated list of proxy IPs/CIDRs');
  return false;
}

/**
 * The development KEY_ENCRYPTION_SECRET when nothing needs it but TOTP: generated like the others,
 * but a data directory that cannot take the file (read-only, say) leaves TOTP off rather than
 * failing the start over an optional feature.
 */
function optionalDevelopmentSecret(
  ctx: { production: boolean; database: DatabaseConfig; problems: string[] },
  off: ResolvedSecret,
): ResolvedSecret {
  if (ctx.problems.length > 0) return off;
  const problems: string[] = [];
  const resolved = resolveSecret('KEY_ENCRYPTION_SECRET', 'key-encryption-secret', undefined, { ...ctx, problems });
  return problems.length > 0 ? off : resolved;
}

interface ResolvedSecret {
  value: string;
  source: SecretSource;
  warning: string | null;
}

/** No secret: not needed (asymmetric keys, a configured PEM), or missing (the problem is already listed). */
const NO_SECRET: Readonly<ResolvedSecret> = { value: '', source: 'env', warning: null };

/**
 * A secret from the environment, checked for length and (in production) weakness; outside
 * production a missing one is generated once into `<data dir>/<fileName>` (mode 0600).
 */
function resolveSecret(
  name: string,
  fileName: string,
  raw: string | undefined,
  ctx: { production: boolean; database: DatabaseConfig; problems: string[] },
): ResolvedSecret {
  const { production, database, problems } = ctx;
  if (raw !== undefined && raw !== '') {
    if (Buffer.byteLength(raw, 'utf8') < MIN_SECRET_BYTES) {
      problems.push(`${name} must be at least ${MIN_SECRET_BYTES} bytes; generate one with: openssl rand -base64 48`);
    } else if (isWeakJwtSecret(raw)) {
      const message = `${name} is a placeholder or a well-known weak secret; generate one with: openssl rand -base64 48`;
      if (production) problems.push(message);
      else return { value: raw, source: 'env', warning: message };
    }
    return { value: raw, source: 'env', warning: null };
  }
  if (production) {
    problems.push(`${name} is required when NODE_ENV=production (at least 32 random bytes: openssl rand -base64 48)`);
    return NO_SECRET;
  }
  const dir = dataDir(database);
  const file = join(dir, fileName);
  try {
    if (existsSync(file)) {
      const value = readFileSync(file, 'utf8').trim();
      if (Buffer.byteLength(value, 'utf8') >= MIN_SECRET_BYTES) {
        return { value, source: 'existing-file', warning: `${name} not set; using the development secret kept in ${file}` };
      }
    }
    // A start that already fails leaves nothing behind; above all, a DATABASE_URL directory
    // refused for not existing must not be created here.
    if (problems.length > 0) return NO_SECRET;
    mkdirSync(dir, { recursive: true });
    const value = randomBytes(48).toString('base64url');
    writeFileSync(file, `${value}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    return {
      value,
      source: 'generated-file',
      warning: `${name} not set; generated a development secret in ${file} (set ${name} in production)`,
    };
  } catch (err) {
    problems.push(`${name} not set and the development secret file ${file} could not be written: ${(err as Error).message}`);
    return NO_SECRET;
  }
}

/** The private key given as PEM text (JWT_PRIVATE_KEY) or file (JWT_PRIVATE_KEY_FILE), if any. */
function readPrivateKey(env: Env, algorithm: SigningAlgorithm, problems: string[]): string | null {
  const inline = env.JWT_PRIVATE_KEY?.trim();
  const file = env.JWT_PRIVATE_KEY_FILE?.trim();
  if (!inline && !file) return null;
  if (algorithm === 'HS256') {
    problems.push('JWT_PRIVATE_KEY(_FILE) needs JWT_ALGORITHM=EdDSA, ES256 or RS256');
    return null;
  }
  let pem: string;
  try {
    pem = inline ? inline.replaceAll('\\n', '\n') : readFileSync(file as string, 'utf8');
    publicJwkFromPrivatePem(pem, algorithm);
  } catch (err) {
    problems.push(
      `JWT_PRIVATE_KEY${inline ? '' : '_FILE'} is not a usable ${algorithm} private key (PKCS#8 PEM): ${(err as Error).message}`,
    );
    return null;
  }
  return pem;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
