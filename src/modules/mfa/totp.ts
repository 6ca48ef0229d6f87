import * as OTPAuth from 'otpauth';
import QRCode from 'qrcode';
import { decryptPrivateKey, encryptPrivateKey } from '../../lib/signing-keys.js';

/** RFC 6238 as every authenticator app implements it: SHA-1, 6 digits, 30-second steps. */
const PERIOD = 30;
const DIGITS = 6;
/** ±1 step of clock drift between the phone and the server (RFC 6238 §5.2). */
const WINDOW = 1;

function totpFor(secretBase32: string, label = 'account'): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    issuer: 'Gatehouse',
    label,
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD,
    secret: OTPAuth.Secret.fromBase32(secretBase32),
  });
}

/** A new 160-bit seed (RFC 4226 §4 recommends 160 bits), base32 as authenticator apps take it. */
export function generateTotpSecret(): string {
  return new OTPAuth.Secret({ size: 20 }).base32;
}

/** The `otpauth://` URI and the same as a QR code (SVG, made here: no external service sees the seed). */
export async function totpEnrolment(secretBase32: string, accountName: string, issuer: string) {
  const totp = totpFor(secretBase32, accountName);
  totp.issuer = issuer;
  const otpauthUri = totp.toString();
  const qrSvg = await QRCode.toString(otpauthUri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { otpauthUri, qrSvg };
}

/**
 * The 30-second step a code belongs to (within ±1 step of `now`), or null. The caller accepts
 * the code only if that step is later than the last one used (one use per code).
 */
export function matchTotpStep(secretBase32: string, code: string, now: number = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totpFor(secretBase32).validate({ token: code, timestamp: now, window: WINDOW });
  return delta === null ? null : Math.floor(now / 1000 / PERIOD) + delta;
}

/** The current code for a seed (tests and tools). */
export function totpCode(secretBase32: string, now: number = Date.now()): string {
  return totpFor(secretBase32).generate({ timestamp: now });
}

// The seed is encrypted like the key store's private keys (AES-256-GCM under KEY_ENCRYPTION_SECRET),
// bound to its user by the associated data, so a ciphertext copied to another row does not open.
export const sealTotpSecret = (secretBase32: string, key: string, userId: string) => encryptPrivateKey(secretBase32, key, `totp:${userId}`);
export const openTotpSecret = (sealed: string, key: string, userId: string) => decryptPrivateKey(sealed, key, `totp:${userId}`);
