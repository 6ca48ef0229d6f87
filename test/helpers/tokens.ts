import { createHmac } from 'node:crypto';

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Hand-builds a JWS so tests can forge exactly the token an attacker would send. */
export function forgeToken(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: string | null,
  hash: 'sha256' | 'sha384' | 'sha512' = 'sha256',
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  if (key === null) return `${input}.`;
  return `${input}.${createHmac(hash, key).update(input).digest('base64url')}`;
}

/** Splits a compact JWS into its decoded header and payload. */
export function decodeToken(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString()),
    payload: JSON.parse(Buffer.from(p ?? '', 'base64url').toString()),
  };
}
