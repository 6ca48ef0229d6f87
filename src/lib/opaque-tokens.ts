import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits, base64url (43 characters): an unguessable bearer secret. */
export function generateOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * SHA-256 of an opaque token, hex. A fast hash is enough here (unlike passwords) because the
 * token has 256 bits of entropy; storing only the hash means a database leak yields no tokens.
 */
export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** True when a string has the shape of a token we issued; cheap filter before any lookup. */
export function isOpaqueTokenShape(token: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(token);
}
