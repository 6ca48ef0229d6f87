import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IntrospectionClient } from '../../config.js';
import { AppError } from '../../errors.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import type { AuthService } from '../auth/auth.service.js';
import type { IntrospectionResponse } from './introspection.schemas.js';

export interface IntrospectionServiceDeps {
  clients: readonly IntrospectionClient[];
  auth: Pick<AuthService, 'verifyLiveToken'>;
  limiter: RateLimiter;
  /** Refused client credentials per client IP per window (0: no limit). */
  failuresPerIp: number;
  issuer: string;
  audience: string;
}

/** The RFC 7617 challenge every 401 of this route carries, instead of the Bearer one. */
export const BASIC_CHALLENGE = 'Basic realm="gatehouse"';

const invalidClient = () =>
  new AppError('INVALID_CLIENT', 'Introspection needs the HTTP Basic credentials of a registered client.', {
    headers: { 'www-authenticate': BASIC_CHALLENGE },
  });

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * RFC 7662 token introspection for resource servers: they present their own credentials
 * (HTTP Basic) and learn whether an access token is active right now, session included.
 */
export function createIntrospectionService(deps: IntrospectionServiceDeps) {
  const { auth, limiter } = deps;
  const digests = new Map(deps.clients.map((c) => [c.id, Buffer.from(c.secretSha256, 'hex')]));
  // An unknown id is compared against this (matching nothing), so it costs what a known one does.
  const decoy = sha256(randomBytes(32).toString('hex'));

  /** The client id of a valid `Authorization: Basic` header; else 401 INVALID_CLIENT (429 past the per-IP failure limit). */
  async function authenticateClient(authorization: string | undefined, ip: string): Promise<string> {
    // Reserved before the secret is checked, so a burst of guesses gets at most the limit checked.
    const reservation = await limiter.reserve([{ key: `introspect:ip:${ip}`, max: deps.failuresPerIp }]);
    if (!reservation.allowed) {
      throw new AppError('RATE_LIMITED', 'Too many failed client authentications; try again later.', {
        headers: { 'retry-after': String(reservation.retryAfterSeconds) },
      });
    }
    const credentials = basicCredentials(authorization);
    const expected = digests.get(credentials?.id ?? '') ?? decoy;
    // Equal-length digests, so timingSafeEqual never throws and the comparison leaks nothing.
    const matches = timingSafeEqual(sha256(credentials?.secret ?? ''), expected);
    if (!credentials || !matches || expected === decoy) throw invalidClient();
    await reservation.release();
    return credentials.id;
  }

  /** `{active: true, …claims}` while the token verifies and its session is live, else `{active: false}`. */
  async function introspect(token: string, clientId: string): Promise<IntrospectionResponse> {
    let verified: Awaited<ReturnType<AuthService['verifyLiveToken']>>;
    try {
      verified = await auth.verifyLiveToken(token);
    } catch (err) {
      // A bad token is an answer (RFC 7662 §2.2), not an error; a database fault stays one (503).
      if (err instanceof AppError) return { active: false };
      throw err;
    }
    const { claims } = verified;
    return {
      active: true,
      sub: claims.sub,
      sid: claims.sid,
      // The values the token was verified against, so equal to its own iss and aud.
      iss: deps.issuer,
      aud: deps.audience,
      exp: claims.exp,
      iat: claims.iat,
      auth_time: claims.auth_time,
      token_type: 'access_token',
      client_id: clientId,
    };
  }

  return { authenticateClient, introspect };
}

/**
 * The id and secret of an RFC 7617 `Authorization: Basic` header, or null. Taken as sent (as
 * curl -u and Python's requests send them), not form-decoded: hex secrets read the same either way.
 */
function basicCredentials(authorization: string | undefined): { id: string; secret: string } | null {
  const match = /^basic +([A-Za-z0-9+/]{1,1024}={0,2}) *$/i.exec(authorization ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? null : { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

export type IntrospectionService = ReturnType<typeof createIntrospectionService>;
