import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import { AppError } from '../errors.js';
import { newId } from './ids.js';
import type { KeyMaterial, KeyRing } from './signing-keys.js';

export interface AccessTokenOptions {
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
  /** RFC 9470: when the session last proved a credential (seconds); 0 when the token lacks it (stale). */
  auth_time: number;
  /** RFC 8176 methods of that proof, e.g. ["pwd"]. */
  amr: string[];
}

/** What a session proved, and when: carried into every access token of the session. */
export interface Authentication {
  /** Seconds since the epoch. */
  authTime: number;
  amr: string[];
}

/** RFC 9068 media type for JWT access tokens; checked so an ID token or other JWT is refused. */
export const ACCESS_TOKEN_TYP = 'at+jwt';

/** Tokens longer than this are refused before any parsing, so huge headers cost nothing. */
export const MAX_ACCESS_TOKEN_LENGTH = 4096;
const JWS_COMPACT = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;

/**
 * Whether a segment is the one base64url spelling of its bytes (RFC 7515 §2: unpadded, RFC 4648
 * §5 alphabet; the regex above already refuses padding and `+` `/`). A length of 1 mod 4 encodes
 * no whole byte, and the last character of a 2- or 3-remainder carries 4 or 2 bits beyond the
 * data, which decoders drop: set, they give a second spelling of the same signature. A token has
 * one encoding, so those are refused before any other work.
 */
function isCanonicalBase64url(segment: string): boolean {
  switch (segment.length % 4) {
    case 1:
      return false;
    case 2:
      return /[AQgw]$/.test(segment);
    case 3:
      return /[AEIMQUYcgkosw048]$/.test(segment);
    default:
      return true;
  }
}

export interface AccessTokenService {
  readonly ttlSeconds: number;
  sign(subject: { userId: string; sessionId: string } & Authentication): string;
  verify(token: string): Promise<AccessTokenClaims>;
}

const invalid = (detail: string) => new AppError('TOKEN_INVALID', detail);

type Verifier = (token: string) => Record<string, unknown>;
type Signer = (payload: Record<string, unknown>) => string;

/**
 * Signs and strictly verifies access tokens with the keys of a key ring. Each key gets its own
 * signer and verifier, built once (not per request): the verifier pins that key's algorithm,
 * so a token whose header names another algorithm, or an HS256 token "signed" with a published
 * public key, is refused. It requires every claim we issue, checks typ, iss and aud, and keeps
 * a bounded cache of verified tokens (entries never outlive exp).
 */
export function createAccessTokenService(options: AccessTokenOptions, keys: KeyRing): AccessTokenService {
  const toleranceMs = options.clockToleranceSeconds * 1000;
  const signers = new Map<string, Signer>();
  const verifiers = new Map<string, Verifier>();
  // Header segment → kid, so the hot path decodes each distinct header once.
  const kidOfHeader = new Map<string, string | null>();

  function signerFor(key: KeyMaterial): Signer {
    let signer = signers.get(key.kid);
    if (!signer) {
      signer = createSigner({
        key: key.signingKey as string,
        algorithm: key.algorithm,
        iss: options.issuer,
        aud: options.audience,
        expiresIn: options.ttlSeconds * 1000,
        kid: key.kid,
        header: { alg: key.algorithm, typ: ACCESS_TOKEN_TYP },
      }) as Signer;
      signers.set(key.kid, signer);
    }
    return signer;
  }

  function verifierFor(key: KeyMaterial): Verifier {
    let verifier = verifiers.get(key.kid);
    if (!verifier) {
      verifier = createVerifier({
        key: key.verificationKey,
        algorithms: [key.algorithm],
        allowedIss: options.issuer,
        allowedAud: options.audience,
        requiredClaims: ['iss', 'aud', 'sub', 'sid', 'iat', 'exp', 'jti'],
        checkTyp: ACCESS_TOKEN_TYP,
        clockTolerance: toleranceMs,
        // Defence in depth: even a token we signed cannot live longer than the configured TTL.
        maxAge: options.ttlSeconds * 1000 + toleranceMs,
        // Bounded, and full in a long run: fast-jwt's LRU never drops an entry on its own, so the
        // tokens a refresh replaced stay until newer ones push them out. An entry (payload and
        // key) holds about 0.85 KB of heap (heap snapshots of a soak), so this is at most ~1.7 MB,
        // full after 2,000 distinct tokens; 10,000 took ~8.5 MB and, at the soak's token churn,
        // 40 minutes of steady heap growth to fill. A miss costs one signature check.
        cache: 2_000,
        cacheTTL: 60_000,
      }) as Verifier;
      verifiers.set(key.kid, verifier);
    }
    return verifier;
  }

  function kidOf(headerSegment: string): string | null {
    let kid = kidOfHeader.get(headerSegment);
    if (kid === undefined) {
      try {
        const header: unknown = JSON.parse(Buffer.from(headerSegment, 'base64url').toString('utf8'));
        const value = header && typeof header === 'object' ? (header as { kid?: unknown }).kid : undefined;
        kid = typeof value === 'string' && value.length <= 200 ? value : null;
      } catch {
        kid = null;
      }
      // Bounded: forged tokens with endless distinct headers cannot grow it without limit.
      if (kidOfHeader.size >= 1000) kidOfHeader.clear();
      kidOfHeader.set(headerSegment, kid);
    }
    return kid;
  }

  return {
    ttlSeconds: options.ttlSeconds,
    sign({ userId, sessionId, authTime, amr }) {
      return signerFor(keys.current())({ sub: userId, sid: sessionId, jti: newId(), auth_time: authTime, amr });
    },
    async verify(token) {
      const match = token.length > MAX_ACCESS_TOKEN_LENGTH ? null : JWS_COMPACT.exec(token);
      if (
        !match ||
        !isCanonicalBase64url(match[1] as string) ||
        !isCanonicalBase64url(match[2] as string) ||
        !isCanonicalBase64url(match[3] as string)
      ) {
        throw invalid('The access token is malformed.');
      }
      const kid = kidOf(match[1] as string);
      if (kid === null) throw invalid('The access token is invalid.');
      // Every token carries the kid of the key that signed it; an unknown kid never verifies.
      const key = keys.find(kid) ?? (await keys.findAfterReload(kid));
      if (!key) throw invalid('The access token is invalid.');
      let payload: Record<string, unknown>;
      try {
        payload = verifierFor(key)(token);
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
      // Tokens from before step-up existed lack these: they count as a stale sign-in.
      const authTime = typeof payload.auth_time === 'number' && Number.isFinite(payload.auth_time) ? payload.auth_time : 0;
      const amr = Array.isArray(payload.amr) ? payload.amr.filter((m): m is string => typeof m === 'string') : [];
      return { sub, sid, jti, iat, exp, auth_time: authTime, amr };
    },
  };
}
