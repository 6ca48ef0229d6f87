import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

// A software WebAuthn authenticator for API tests: ES256 (P-256), "none" attestation, a
// signature counter, and the flags a real platform authenticator sets. The browser tests use
// Chromium's virtual authenticator instead; this one lets the API be tested on its own, and
// lets a test do what no honest authenticator does (roll its counter back, answer for another
// origin or RP id, skip user verification).

const b64url = (bytes: Uint8Array | Buffer) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

export interface CeremonyOverrides {
  origin?: string;
  rpId?: string;
  userVerified?: boolean;
  counter?: number;
  challenge?: string;
}

export class SoftAuthenticator {
  readonly credentialId = randomBytes(16);
  private readonly keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  private userHandle = '';
  counter = 0;

  constructor(
    private readonly rpId: string,
    private readonly origin: string,
    private readonly options: { backedUp?: boolean } = {},
  ) {}

  get id(): string {
    return b64url(this.credentialId);
  }

  private coseKey(): Uint8Array {
    const jwk = this.keys.publicKey.export({ format: 'jwk' });
    return isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x as string, 'base64url')],
        [-3, Buffer.from(jwk.y as string, 'base64url')],
      ]),
    );
  }

  private authData(rpId: string, counter: number, userVerified: boolean, attested: boolean): Buffer {
    // Flags: UP (present), UV (verified), BE/BS (backup eligible / backed up), AT (attested data).
    let flags = 0x01 | (userVerified ? 0x04 : 0) | (this.options.backedUp ? 0x08 | 0x10 : 0) | (attested ? 0x40 : 0);
    flags &= 0xff;
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    const parts = [sha256(rpId), Buffer.from([flags]), count];
    if (attested) {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(this.credentialId.length);
      parts.push(Buffer.alloc(16), length, this.credentialId, Buffer.from(this.coseKey()));
    }
    return Buffer.concat(parts);
  }

  private clientData(type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** navigator.credentials.create(), answering PublicKeyCredentialCreationOptionsJSON. */
  create(options: { challenge: string; user: { id: string } }, overrides: CeremonyOverrides = {}) {
    this.userHandle = options.user.id;
    const authData = this.authData(overrides.rpId ?? this.rpId, this.counter, overrides.userVerified ?? true, true);
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]) as never,
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(
          this.clientData('webauthn.create', overrides.challenge ?? options.challenge, overrides.origin ?? this.origin),
        ),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /**
   * This passkey as Chromium's virtual authenticator takes it (DevTools `WebAuthn.addCredential`),
   * so a browser test can sign in with a passkey that was registered through the API.
   */
  asVirtualCredential() {
    return {
      credentialId: this.credentialId.toString('base64'),
      isResidentCredential: true,
      rpId: this.rpId,
      privateKey: this.keys.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
      userHandle: Buffer.from(this.userHandle, 'base64url').toString('base64'),
      signCount: this.counter,
    };
  }

  /** navigator.credentials.get(), answering PublicKeyCredentialRequestOptionsJSON. */
  get(options: { challenge: string }, overrides: CeremonyOverrides = {}) {
    this.counter = overrides.counter ?? this.counter + 1;
    const authData = this.authData(overrides.rpId ?? this.rpId, this.counter, overrides.userVerified ?? true, false);
    const clientDataJSON = this.clientData('webauthn.get', overrides.challenge ?? options.challenge, overrides.origin ?? this.origin);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), this.keys.privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: this.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
