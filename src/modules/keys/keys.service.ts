import type { Kysely } from 'kysely';
import type { Config } from '../../config.js';
import type { DB } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { nowIso } from '../../lib/ids.js';
import {
  type AsymmetricAlgorithm,
  decryptPrivateKey,
  encryptPrivateKey,
  generateSigningKeyPair,
  hmacKid,
  type KeyInfo,
  type KeyMaterial,
  type KeyRing,
  type PublicJwk,
  publicJwkFromPrivatePem,
  publicPemFromJwk,
  type RotationActor,
  type SigningAlgorithm,
} from '../../lib/signing-keys.js';
import { recordEvent } from '../events/events.repository.js';
import * as repo from './keys.repository.js';

export interface KeyRingLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

// A fixed key has no stored creation time: the admin API shows when this process loaded it.
const staticRing = (algorithm: SigningAlgorithm, key: KeyMaterial, loadedAt = nowIso()): KeyRing => ({
  algorithm,
  current: () => key,
  find: (kid) => (kid === key.kid ? key : undefined),
  findAfterReload: async (kid) => (kid === key.kid ? key : undefined),
  publicJwks: () => (key.publicJwk ? [key.publicJwk] : []),
  list: () => [{ kid: key.kid, alg: algorithm, created_at: loadedAt, signing: true, retires_at: null }],
  rotate: async () => {
    throw new AppError(
      'KEY_ROTATION_UNAVAILABLE',
      algorithm === 'HS256'
        ? 'HS256 signs with JWT_SECRET; to rotate, use EdDSA/ES256/RS256 with the database key store.'
        : 'The signing key comes from JWT_PRIVATE_KEY(_FILE); replace it there, or unset it to use the rotating key store.',
    );
  },
  close: () => {},
});

/** Builds the key ring the configuration asks for (and creates the first stored key if needed). */
export async function createKeyRing(config: Config, db: Kysely<DB>, log: KeyRingLogger): Promise<KeyRing> {
  const { jwt } = config;
  if (jwt.algorithm === 'HS256') {
    return staticRing('HS256', {
      kid: hmacKid(jwt.secret),
      algorithm: 'HS256',
      signingKey: jwt.secret,
      verificationKey: jwt.secret,
      publicJwk: null,
    });
  }
  if (jwt.privateKeyPem) {
    const publicJwk = publicJwkFromPrivatePem(jwt.privateKeyPem, jwt.algorithm);
    return staticRing(jwt.algorithm, {
      kid: publicJwk.kid,
      algorithm: jwt.algorithm,
      signingKey: jwt.privateKeyPem,
      verificationKey: publicPemFromJwk(publicJwk),
      publicJwk,
    });
  }
  const ring = new StoredKeyRing(db, jwt.algorithm, jwt.keyEncryptionSecret, log, {
    // A token signed with the previous key just before another instance noticed the rotation
    // lives for one access TTL after that: keep verifying it that long (plus skew).
    graceMs: (jwt.accessTokenTtlSeconds + jwt.clockToleranceSeconds + jwt.keyReloadIntervalSeconds) * 1000,
    rotationIntervalMs: jwt.keyRotationIntervalSeconds * 1000,
  });
  await ring.reload();
  ring.startReloading(jwt.keyReloadIntervalSeconds * 1000);
  return ring;
}

interface StoredKey extends KeyMaterial {
  /** When this key stops verifying (successor's creation + grace); Infinity for the current key. */
  readonly notAfter: number;
  readonly createdAt: string;
}

/** The database key store: newest key signs, older keys verify until their grace ends. */
class StoredKeyRing implements KeyRing {
  private keys: StoredKey[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastUnknownKidReload = 0;
  private pendingReload: Promise<number> | undefined;
  private readonly decrypted = new Map<string, string>();

  constructor(
    private readonly db: Kysely<DB>,
    readonly algorithm: AsymmetricAlgorithm,
    private readonly encryptionSecret: string,
    private readonly log: KeyRingLogger,
    private readonly options: { graceMs: number; rotationIntervalMs: number },
  ) {}

  current(): KeyMaterial {
    const key = this.keys[this.keys.length - 1];
    if (!key) throw new Error('no signing key loaded');
    return key;
  }

  find(kid: string): KeyMaterial | undefined {
    const now = Date.now();
    return this.keys.find((k) => k.kid === kid && now < k.notAfter);
  }

  async findAfterReload(kid: string): Promise<KeyMaterial | undefined> {
    // Another instance may have rotated a moment ago: re-read the store, but through one shared
    // reload at most once a second, so random kids in forged tokens cannot flood the database.
    // A reload that began before this request arrived may predate the key, so wait for the next.
    const askedAt = Date.now();
    for (let attempt = 0; attempt < 2; attempt++) {
      const startedAt = await this.sharedReload();
      const key = this.find(kid);
      if (key || startedAt >= askedAt) return key;
    }
    return this.find(kid);
  }

  /** One reload for every waiting request, spaced at least a second apart; resolves to its start time. */
  private sharedReload(): Promise<number> {
    this.pendingReload ??= (async () => {
      // Clamped: a clock that jumped must not turn the spacing into a long sleep.
      const wait = Math.min(1000, Math.max(0, this.lastUnknownKidReload + 1000 - Date.now()));
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const startedAt = Date.now();
      this.lastUnknownKidReload = startedAt;
      await this.reload().catch((err) => this.log.warn({ err }, 'could not reload signing keys'));
      return startedAt;
    })().finally(() => {
      this.pendingReload = undefined;
    });
    return this.pendingReload;
  }

  publicJwks(): PublicJwk[] {
    const now = Date.now();
    return this.keys.filter((k) => now < k.notAfter && k.publicJwk).map((k) => k.publicJwk as PublicJwk);
  }

  /** Re-reads the store; creates the first key, or the next one when the interval is due. */
  async reload(): Promise<void> {
    let rows = (await repo.listSigningKeys(this.db)).filter((r) => r.algorithm === this.algorithm);
    const newest = rows[rows.length - 1];
    const due =
      this.options.rotationIntervalMs > 0 && newest && Date.now() - Date.parse(newest.created_at) >= this.options.rotationIntervalMs;
    if (!newest || due) {
      await this.insertNewKey();
      rows = (await repo.listSigningKeys(this.db)).filter((r) => r.algorithm === this.algorithm);
    }
    this.keys = rows.map((row, i) => {
      const next = rows[i + 1];
      const publicJwk = JSON.parse(row.public_jwk) as PublicJwk;
      return {
        kid: row.kid,
        algorithm: this.algorithm,
        // Only the newest key ever signs, so only its private key is decrypted (once).
        signingKey: next ? null : this.privateKeyOf(row),
        verificationKey: publicPemFromJwk(publicJwk),
        publicJwk,
        notAfter: next ? Date.parse(next.created_at) + this.options.graceMs : Number.POSITIVE_INFINITY,
        createdAt: row.created_at,
      };
    });
  }

  list(): KeyInfo[] {
    const now = Date.now();
    const signing = this.keys[this.keys.length - 1];
    return this.keys
      .filter((k) => now < k.notAfter)
      .map((k) => ({
        kid: k.kid,
        alg: this.algorithm,
        created_at: k.createdAt,
        signing: k === signing,
        retires_at: Number.isFinite(k.notAfter) ? new Date(k.notAfter).toISOString() : null,
      }));
  }

  async rotate(by: RotationActor = {}): Promise<KeyMaterial> {
    const kid = await this.insertNewKey(by);
    await this.reload();
    // Keys past their grace verify nothing any more; keep the table small.
    const now = Date.now();
    await repo.deleteSigningKeys(
      this.db,
      this.keys.filter((k) => k.notAfter < now).map((k) => k.kid),
    );
    this.log.info({ kid }, 'signing key rotated');
    return this.current();
  }

  startReloading(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.reload().catch((err) => this.log.warn({ err }, 'could not reload signing keys; keeping the loaded ones'));
    }, intervalMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  private privateKeyOf(row: repo.SigningKeyRow): string {
    let pem = this.decrypted.get(row.kid);
    if (!pem) {
      pem = decryptPrivateKey(row.private_key, this.encryptionSecret, row.kid);
      this.decrypted.set(row.kid, pem);
    }
    return pem;
  }

  /** Stores a new key; a rotation (not the first key) is recorded as an event in the same transaction. */
  private async insertNewKey(rotation?: RotationActor): Promise<string> {
    const { privateKeyPem, publicJwk } = generateSigningKeyPair(this.algorithm);
    await this.db.transaction().execute(async (trx) => {
      await repo.insertSigningKey(trx, {
        kid: publicJwk.kid,
        algorithm: this.algorithm,
        public_jwk: JSON.stringify(publicJwk),
        private_key: encryptPrivateKey(privateKeyPem, this.encryptionSecret, publicJwk.kid),
        created_at: nowIso(),
      });
      if (rotation) {
        await recordEvent(trx, {
          type: 'keys.rotated',
          actorId: rotation.actorId ?? null,
          client: rotation.client ?? null,
          data: { kid: publicJwk.kid, alg: this.algorithm },
        });
      }
    });
    return publicJwk.kid;
  }
}
