import { createHash } from 'node:crypto';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import { AppError } from '../errors.js';
import { newId } from './ids.js';

export interface AccessTokenOptions {
  secret: string;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  clockToleranceSeconds: number;
}

export interface AccessTokenClaims {
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
}

/** RFC 9068 media type for JWT access tokens; checked so an ID token or other JWT is refused. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
export const ACCESS_TOKEN_ALGORITHM = 'HS256';

/** Tokens longer than this are refused before any parsing, so huge headers cost nothing. */
export const MAX_ACCESS_TOKEN_LENGTH = 4096;
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface AccessTokenService {
  readonly kid: string;
  readonly ttlSeconds: number;
  sign(subject: { userId: string; sessionId: string }): string;
  verify(token: string): AccessTokenClaims;
}

const invalid = (detail: string) => new AppError('TOKEN_INVALID', detail);

/**
 * Signs and strictly verifies access tokens. The signer and verifier are built once (not per
 * request); the verifier pins HS256, requires every claim we issue, checks `typ`, `iss` and
 * `aud`, and keeps a bounded cache of verified tokens (entries never outlive `exp`).
 */
export function createAccessTokenService(options: AccessTokenOptions): AccessTokenService {
  // The kid names the key without revealing it: a truncated hash, stable across restarts.
  const kid = createHash('sha256').update(`gatehouse-kid:${options.secret}`).digest('base64url').slice(0, 16);
  const toleranceMs = options.clockToleranceSeconds * 1000;

  const signer = createSigner({
    key: options.secret,
    algorithm: ACCESS_TOKEN_ALGORITHM,
    iss: options.issuer,
    aud: options.audience,
    expiresIn: options.ttlSeconds * 1000,
    kid,
    header: { alg: ACCESS_TOKEN_ALGORITHM, typ: ACCESS_TOKEN_TYP },
  });

  const verifier = createVerifier({
    key: options.secret,
    algorithms: [ACCESS_TOKEN_ALGORITHM],
    allowedIss: options.issuer,
    allowedAud: options.audience,
    requiredClaims: ['iss', 'aud', 'sub', 'sid', 'iat', 'exp', 'jti'],
    checkTyp: ACCESS_TOKEN_TYP,
    clockTolerance: toleranceMs,
    // Defence in depth: even a token we signed cannot live longer than the configured TTL.
    maxAge: options.ttlSeconds * 1000 + toleranceMs,
    cache: 10_000,
    cacheTTL: 60_000,
  });

  return {
    kid,
    ttlSeconds: options.ttlSeconds,
    sign({ userId, sessionId }) {
      return signer({ sub: userId, sid: sessionId, jti: newId() });
    },
    verify(token) {
      if (token.length > MAX_ACCESS_TOKEN_LENGTH || !JWS_COMPACT.test(token)) {
        throw invalid('The access token is malformed.');
      }
      let payload: Record<string, unknown>;
      try {
        payload = verifier(token) as Record<string, unknown>;
      } catch (err) {
        if (err instanceof TokenError && err.code === TokenError.codes.expired) {
          throw new AppError('TOKEN_EXPIRED', 'The access token has expired; refresh it.');
        }
        throw invalid('The access token is invalid.');
      }
      const { sub, sid, jti, iat, exp } = payload;
      if (typeof sub !== 'string' || typeof sid !== 'string' || typeof jti !== 'string') {
        throw invalid('The access token claims are invalid.');
      }
      if (typeof iat !== 'number' || typeof exp !== 'number' || iat * 1000 > Date.now() + toleranceMs) {
        // fast-jwt does not check that iat is in the past; a future iat means a forged or skewed token.
        throw invalid('The access token claims are invalid.');
      }
      if (exp - iat > options.ttlSeconds + options.clockToleranceSeconds) {
        // We never issue a lifetime longer than the TTL. maxAge would end such a token at iat + TTL
        // anyway, but a huge exp is a forgery marker: refuse it outright.
        throw invalid('The access token claims are invalid.');
      }
      return { sub, sid, jti, iat, exp };
    },
  };
}
