import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { parseDurationSeconds } from './lib/durations.js';
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
    readonly secret: string;
    readonly secretSource: SecretSource;
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
    readonly windowSeconds: number;
  };
  readonly docsEnabled: boolean;
  /** GATEHOUSE_DIAGNOSTICS: event-loop delay and memory at GET /_diagnostics and in a log line at shutdown. */
  readonly diagnostics: boolean;
  /** Shared counters (login throttling) across instances; null keeps them in process memory. */
  readonly redis: { readonly url: string; readonly keyPrefix: string } | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

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
  const database = parseDatabaseUrl(str('DATABASE_URL', 'sqlite:./data/gatehouse.db'), env, problems);

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

  const issuer = str('JWT_ISSUER', 'gatehouse');
  const audience = str('JWT_AUDIENCE', 'gatehouse-api');

  const secret = resolveJwtSecret(env.JWT_SECRET, { production, database, problems });

  const config: Config = {
    nodeEnv,
    port,
    host,
    database,
    jwt: {
      secret: secret.value,
      secretSource: secret.source,
      secretWarning: secret.warning,
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
      maxFailuresPerIp: int('LOGIN_MAX_FAILURES_PER_IP', 50, 1, 100_000),
      windowSeconds: duration('LOGIN_THROTTLE_WINDOW', '15m'),
    },
    docsEnabled: bool('DOCS_ENABLED', true),
    diagnostics: bool('GATEHOUSE_DIAGNOSTICS', false),
    redis: parseRedis(str('REDIS_URL', ''), str('REDIS_KEY_PREFIX', 'gatehouse:'), problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

function parseDatabaseUrl(raw: string, env: Env, problems: string[]): DatabaseConfig {
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') problems.push('DATABASE_URL sqlite: needs a file path, e.g. sqlite:./data/gatehouse.db');
    return { kind: 'sqlite', path: path === ':memory:' ? path : resolve(path) };
  }
  if (raw.startsWith('postgres://') || raw.startsWith('postgresql://')) {
    const poolSize = Number(env.DATABASE_POOL_SIZE ?? '10');
    if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 200)
      problems.push('DATABASE_POOL_SIZE must be an integer between 1 and 200');
    return { kind: 'postgres', url: raw, poolSize };
  }
  problems.push('DATABASE_URL must start with sqlite: or postgres://');
  return { kind: 'sqlite', path: resolve('./data/gatehouse.db') };
}

function parseRedis(url: string, keyPrefix: string, problems: string[]): Config['redis'] {
  if (url === '') return null;
  if (!/^rediss?:\/\/[^\s]+$/.test(url)) problems.push('REDIS_URL must look like redis://host:6379 or rediss://…');
  return { url, keyPrefix };
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

interface ResolvedSecret {
  value: string;
  source: SecretSource;
  warning: string | null;
}

function resolveJwtSecret(
  raw: string | undefined,
  ctx: { production: boolean; database: DatabaseConfig; problems: string[] },
): ResolvedSecret {
  const { production, database, problems } = ctx;
  if (raw !== undefined && raw !== '') {
    if (Buffer.byteLength(raw, 'utf8') < MIN_SECRET_BYTES) {
      problems.push(`JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes; generate one with: openssl rand -base64 48`);
    } else if (isWeakJwtSecret(raw)) {
      const message = 'JWT_SECRET is a placeholder or a well-known weak secret; generate one with: openssl rand -base64 48';
      if (production) problems.push(message);
      else return { value: raw, source: 'env', warning: message };
    }
    return { value: raw, source: 'env', warning: null };
  }
  if (production) {
    problems.push('JWT_SECRET is required when NODE_ENV=production (at least 32 random bytes: openssl rand -base64 48)');
    return { value: '', source: 'env', warning: null };
  }
  const dir = database.kind === 'sqlite' && database.path !== ':memory:' ? dirname(database.path) : resolve('./data');
  const file = join(dir, 'jwt-secret');
  try {
    if (existsSync(file)) {
      const value = readFileSync(file, 'utf8').trim();
      if (Buffer.byteLength(value, 'utf8') >= MIN_SECRET_BYTES) {
        return { value, source: 'existing-file', warning: `JWT_SECRET not set; using the development secret kept in ${file}` };
      }
    }
    mkdirSync(dir, { recursive: true });
    const value = randomBytes(48).toString('base64url');
    writeFileSync(file, `${value}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    return {
      value,
      source: 'generated-file',
      warning: `JWT_SECRET not set; generated a development secret in ${file} (set JWT_SECRET in production)`,
    };
  } catch (err) {
    problems.push(`JWT_SECRET not set and the development secret file ${file} could not be written: ${(err as Error).message}`);
    return { value: '', source: 'env', warning: null };
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
