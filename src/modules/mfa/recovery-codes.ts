import { createHash, randomBytes } from 'node:crypto';

// Crockford-style base32 without look-alikes (no I, L, O, U): easy to read off paper.
const ALPHABET = 'ABCDEFGHJKMNPQRSTVWXYZ0123456789';
export const RECOVERY_CODE_COUNT = 10;

/**
 * Ten codes of 16 characters (80 bits each), shown as XXXX-XXXX-XXXX-XXXX. High entropy, so a
 * fast hash is enough to store them (like refresh tokens), and guessing one is hopeless.
 */
export function generateRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const bytes = randomBytes(16);
    const chars = [...bytes].map((b) => ALPHABET[b % 32]).join('');
    return chars.match(/.{4}/g)?.join('-') ?? chars;
  });
}

/** Case, spaces and dashes do not matter when a code is typed back. */
export function normalizeRecoveryCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '');
}

/** SHA-256 of the normalised code, hex. */
export function hashRecoveryCode(code: string): string {
  return createHash('sha256')
    .update(`gatehouse-recovery:${normalizeRecoveryCode(code)}`)
    .digest('hex');
}
