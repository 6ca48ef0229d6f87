import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  hkdfSync,
  type JsonWebKey,
  randomBytes,
} from 'node:crypto';
import type { ClientInfo } from './client-info.js';

export const SIGNING_ALGORITHMS = ['HS256', 'EdDSA', 'ES256', 'RS256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];
export type AsymmetricAlgorithm = Exclude<SigningAlgorithm, 'HS256'>;

/** A public key as published in the JWK Set (RFC 7517), never with private members. */
export interface PublicJwk extends JsonWebKey {
  kty: string;
  kid: string;
  alg: AsymmetricAlgorithm;
  use: 'sig';
}

/** Key material for one kid: what signs (current key only) and what verifies. */
export interface KeyMaterial {
  readonly kid: string;
  readonly algorithm: SigningAlgorithm;
  /** HMAC secret or private key PEM; only the current key has one. */
  readonly signingKey: string | null;
  /** HMAC secret or public key PEM. */
  readonly verificationKey: string;
  readonly publicJwk: PublicJwk | null;
}

/** One key as the admin API shows it (never key material). */
export interface KeyInfo {
  kid: string;
  alg: SigningAlgorithm;
  /** When it was stored; for a key fixed by configuration, when this process loaded it. */
  created_at: string;
  /** Whether new tokens are signed with it (the newest key). */
  signing: boolean;
  /** When it stops verifying (successor's creation + grace); null for the signing key. */
  retires_at: string | null;
}

/** Who rotated the keys (an admin through the API; nobody for the CLI or the schedule). */
export interface RotationActor {
  actorId?: string | null;
  client?: ClientInfo | null;
}

/**
 * The keys this instance signs and verifies with. With HS256 or a configured PEM key it is one
 * fixed key; with the database key store it follows rotations made by any instance.
 */
export interface KeyRing {
  readonly algorithm: SigningAlgorithm;
  /** The key new tokens are signed with. */
  current(): KeyMaterial;
  /** A key that may verify tokens now, by kid. */
  find(kid: string): KeyMaterial | undefined;
  /** Re-reads the key store after an unknown kid (rate-limited), then looks again. */
  findAfterReload(kid: string): Promise<KeyMaterial | undefined>;
  /** Public keys for the JWK Set: current and previous keys still in their grace period. */
  publicJwks(): PublicJwk[];
  /** The keys that verify now, oldest first, for the admin API. */
  list(): KeyInfo[];
  /**
   * Makes a new signing key (key store only; a fixed key throws KEY_ROTATION_UNAVAILABLE). The
   * previous key keeps verifying for the grace period. The `keys.rotated` event names the actor.
   */
  rotate(by?: RotationActor): Promise<KeyMaterial>;
  close(): void;
}

/** Generates a key pair for the algorithm: Ed25519, P-256 or RSA-2048 (RFC 8037, RFC 7518). */
export function generateSigningKeyPair(algorithm: AsymmetricAlgorithm): { privateKeyPem: string; publicJwk: PublicJwk } {
  const pair =
    algorithm === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : algorithm === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return { privateKeyPem, publicJwk: publicJwkFromPrivatePem(privateKeyPem, algorithm) };
}

/** The public JWK of a private key, with its RFC 7638 thumbprint as `kid`. */
export function publicJwkFromPrivatePem(privateKeyPem: string, algorithm: AsymmetricAlgorithm): PublicJwk {
  const jwk = createPublicKey(createPrivateKey(privateKeyPem)).export({ format: 'jwk' });
  assertKeyMatchesAlgorithm(jwk, algorithm);
  return { ...jwk, kty: jwk.kty as string, kid: jwkThumbprint(jwk), alg: algorithm, use: 'sig' };
}

/** The public key of a JWK in PEM (SPKI), as fast-jwt's verifier takes it. */
export function publicPemFromJwk(jwk: JsonWebKey): string {
  return createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'pem', type: 'spki' }).toString();
}

function assertKeyMatchesAlgorithm(jwk: JsonWebKey, algorithm: AsymmetricAlgorithm): void {
  const ok =
    (algorithm === 'EdDSA' && jwk.kty === 'OKP' && jwk.crv === 'Ed25519') ||
    (algorithm === 'ES256' && jwk.kty === 'EC' && jwk.crv === 'P-256') ||
    (algorithm === 'RS256' && jwk.kty === 'RSA');
  if (!ok) throw new Error(`the key (${jwk.kty} ${jwk.crv ?? ''}) does not fit ${algorithm}`);
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) over the required members in lexical order. */
export function jwkThumbprint(jwk: JsonWebKey): string {
  const members =
    jwk.kty === 'OKP'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
      : jwk.kty === 'EC'
        ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
        : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

/** A kid for an HMAC secret that names the key without revealing it. */
export function hmacKid(secret: string): string {
  return createHash('sha256').update(`gatehouse-kid:${secret}`).digest('base64url').slice(0, 16);
}

function encryptionKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'gatehouse', 'signing-key-encryption-v1', 32));
}

/**
 * Encrypts a private key for storage: AES-256-GCM under a key derived (HKDF) from
 * KEY_ENCRYPTION_SECRET, with the kid as associated data so a ciphertext cannot be moved to
 * another row. Format: `v1.<iv>.<tag>.<ciphertext>` (base64url).
 */
export function encryptPrivateKey(privateKeyPem: string, secret: string, kid: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', encryptionKey(secret), iv);
  cipher.setAAD(Buffer.from(kid));
  const ciphertext = Buffer.concat([cipher.update(privateKeyPem, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), ciphertext].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

/** Decrypts what encryptPrivateKey stored; throws if the secret or kid is wrong or data was altered. */
export function decryptPrivateKey(stored: string, secret: string, kid: string): string {
  const [version, iv, tag, ciphertext] = stored.split('.');
  if (version !== 'v1' || !iv || !tag || !ciphertext) throw new Error('unknown private key format');
  const decipher = createDecipheriv('aes-256-gcm', encryptionKey(secret), Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(kid));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}
