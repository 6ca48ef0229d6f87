import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type { Kysely } from 'kysely';
import type { DB } from '../../db/database.js';
import { isUniqueViolation } from '../../db/errors.js';
import { AppError, notFound, validationFailed } from '../../errors.js';
import type { ClientInfo } from '../../lib/client-info.js';
import { isoAfter, newId, nowIso } from '../../lib/ids.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import { requireRecentAuthentication } from '../../lib/step-up.js';
import type { AuthService, TokenResponse } from '../auth/auth.service.js';
import { recordEvent } from '../events/events.repository.js';
import { findUserById } from '../users/users.repository.js';
import type { Actor } from '../users/users.service.js';
import * as repo from './passkeys.repository.js';
import type { Passkey } from './passkeys.schemas.js';

export interface PasskeysServiceDeps {
  db: Kysely<DB>;
  auth: AuthService;
  limiter: RateLimiter;
  webauthn: { rpId: string; rpName: string; origins: readonly string[] };
  reauthMaxAgeSeconds: number;
  /** Passkey sign-in failures per client IP per window (the login per-IP limit). */
  failuresPerIp: number;
}

/** Challenges are single use and live this long (WebAuthn's own timeout is the same). */
const CHALLENGE_TTL_SECONDS = 300;

const signInFailed = () => new AppError('INVALID_CREDENTIALS', 'The passkey could not be verified.');

function toPasskey(row: repo.PasskeyRow): Passkey {
  return {
    id: row.id,
    name: row.name,
    created_at: row.created_at,
    last_used_at: row.last_used_at,
    backed_up: row.backed_up === 1,
    transports: JSON.parse(row.transports) as string[],
  };
}

/** The challenge inside a response's clientDataJSON (what the browser signed), or null. */
function challengeOf(response: { response?: { clientDataJSON?: unknown } }): string | null {
  try {
    const raw = response.response?.clientDataJSON;
    if (typeof raw !== 'string') return null;
    const data = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { challenge?: unknown };
    return typeof data.challenge === 'string' ? data.challenge : null;
  } catch {
    return null;
  }
}

/**
 * Passkeys (WebAuthn): registration and authentication as two symmetrical pairs, options →
 * verify, with the challenge held by the server between them and used up once.
 */
export function createPasskeysService(deps: PasskeysServiceDeps) {
  const { db, auth, limiter, webauthn, reauthMaxAgeSeconds, failuresPerIp } = deps;
  const expected = { expectedOrigin: [...webauthn.origins], expectedRPID: webauthn.rpId };

  /** Options for navigator.credentials.create(): a discoverable credential, user verification required. */
  async function registrationOptions(actor: Actor) {
    requireRecentAuthentication(actor.authTime, reauthMaxAgeSeconds);
    const user = await findUserById(db, actor.id);
    if (!user) throw notFound('No such user.');
    const existing = await repo.listPasskeys(db, user.id);
    const options = await generateRegistrationOptions({
      rpName: webauthn.rpName,
      rpID: webauthn.rpId,
      userName: user.email,
      userDisplayName: user.name ?? user.email,
      userID: new TextEncoder().encode(user.id),
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({ id: p.credential_id, transports: JSON.parse(p.transports) as string[] })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      timeout: CHALLENGE_TTL_SECONDS * 1000,
    });
    const now = nowIso();
    await repo.insertChallenge(db, {
      id: newId(),
      challenge: options.challenge,
      purpose: 'registration',
      user_id: user.id,
      created_at: now,
      expires_at: isoAfter(now, CHALLENGE_TTL_SECONDS),
    });
    return options;
  }

  /** Verifies a registration against a challenge this user was given, and stores the passkey. */
  async function register(actor: Actor, input: { response: Record<string, unknown>; name?: string }, client: ClientInfo): Promise<Passkey> {
    const response = input.response as unknown as RegistrationResponseJSON;
    const challenge = challengeOf(response);
    const refused = (why: string) =>
      validationFailed(`The passkey registration was refused: ${why}`, [{ path: '/response', message: why }]);
    if (!challenge) throw refused('the response carries no challenge');
    // Claimed before verifying: a challenge is good for one ceremony, even a failed one.
    const claimed = await repo.claimChallenge(db, { challenge, purpose: 'registration', userId: actor.id }, nowIso());
    if (!claimed) throw refused('unknown, used or expired challenge; ask for new options');
    let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verification = await verifyRegistrationResponse({ response, expectedChallenge: claimed, ...expected, requireUserVerification: true });
    } catch (err) {
      throw refused(err instanceof Error ? err.message : 'invalid response');
    }
    if (!verification.verified) throw refused('the response did not verify');
    const info = verification.registrationInfo;
    const now = nowIso();
    const row: repo.PasskeyRow = {
      id: newId(),
      user_id: actor.id,
      credential_id: info.credential.id,
      public_key: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: JSON.stringify(info.credential.transports ?? []),
      backed_up: info.credentialBackedUp ? 1 : 0,
      device_type: info.credentialDeviceType,
      name: input.name ?? 'Passkey',
      created_at: now,
      last_used_at: null,
    };
    try {
      await db.transaction().execute(async (trx) => {
        await repo.insertPasskey(trx, row);
        await recordEvent(trx, {
          type: 'passkey.added',
          userId: actor.id,
          sessionId: actor.sessionId,
          client,
          data: { passkey: row.id, name: row.name },
        });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw refused('this passkey is already registered');
      throw err;
    }
    return toPasskey(row);
  }

  async function list(actor: Actor): Promise<{ items: Passkey[] }> {
    return { items: (await repo.listPasskeys(db, actor.id)).map(toPasskey) };
  }

  async function remove(actor: Actor, id: string, client: ClientInfo): Promise<void> {
    requireRecentAuthentication(actor.authTime, reauthMaxAgeSeconds);
    const removed = await db.transaction().execute(async (trx) => {
      if (!(await repo.deletePasskey(trx, actor.id, id))) return false;
      await recordEvent(trx, { type: 'passkey.removed', userId: actor.id, sessionId: actor.sessionId, client, data: { passkey: id } });
      return true;
    });
    if (!removed) throw notFound('No such passkey.');
  }

  /** Options for navigator.credentials.get(): no email asked (discoverable credentials). */
  async function authenticationOptions() {
    const options = await generateAuthenticationOptions({
      rpID: webauthn.rpId,
      userVerification: 'required',
      timeout: CHALLENGE_TTL_SECONDS * 1000,
    });
    const now = nowIso();
    const id = newId();
    await repo.insertChallenge(db, {
      id,
      challenge: options.challenge,
      purpose: 'authentication',
      user_id: null,
      created_at: now,
      expires_at: isoAfter(now, CHALLENGE_TTL_SECONDS),
    });
    return { challenge_id: id, options };
  }

  /**
   * Signs in with a passkey. Failures count against the client IP like password sign-ins
   * (reserved before the check). A counter that does not move forward refuses the sign-in and
   * is recorded: a cloned authenticator may be in use.
   */
  async function authenticate(
    input: { challenge_id: string; response: Record<string, unknown> },
    client: ClientInfo,
  ): Promise<TokenResponse> {
    const attempt = await limiter.reserve([{ key: `login:ip:${client.ip}`, max: failuresPerIp }]);
    if (!attempt.allowed) {
      throw new AppError('RATE_LIMITED', 'Too many failed sign-in attempts; try again later.', {
        headers: { 'retry-after': String(attempt.retryAfterSeconds) },
      });
    }
    const response = input.response as unknown as AuthenticationResponseJSON;
    const challenge = await repo.claimChallenge(db, { id: input.challenge_id, purpose: 'authentication' }, nowIso());
    if (!challenge || typeof response.id !== 'string') throw signInFailed();
    const passkey = await repo.findPasskeyByCredentialId(db, response.id);
    if (!passkey) throw signInFailed();
    const storedCounter = Number(passkey.counter);
    let verification: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      verification = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        ...expected,
        credential: {
          id: passkey.credential_id,
          publicKey: Buffer.from(passkey.public_key, 'base64url'),
          counter: storedCounter,
          transports: JSON.parse(passkey.transports) as never,
        },
        requireUserVerification: true,
      });
    } catch (err) {
      if (err instanceof Error && /counter value/i.test(err.message)) {
        await recordEvent(db, {
          type: 'passkey.counter_regressed',
          userId: passkey.user_id,
          client,
          data: { passkey: passkey.id, stored: storedCounter },
        });
      }
      throw signInFailed();
    }
    const { authenticationInfo: info } = verification;
    if (!verification.verified || !info.userVerified) throw signInFailed();
    if (!(await repo.advanceCounter(db, passkey.id, storedCounter, info.newCounter, nowIso()))) throw signInFailed();
    const user = await findUserById(db, passkey.user_id);
    if (!user || user.disabled === 1) throw signInFailed();
    await attempt.release();
    // RFC 8176: hwk for a device-bound key, swk for a synced one; `user` for the verification
    // the authenticator did (PIN, biometrics), which with possession makes two factors.
    const amr = [info.credentialBackedUp ? 'swk' : 'hwk', 'user', 'mfa'];
    return auth.startSession(user, { authTime: Math.floor(Date.now() / 1000), amr }, client);
  }

  function sweep(): Promise<void> {
    return repo.sweepChallenges(db, nowIso());
  }

  return { registrationOptions, register, list, remove, authenticationOptions, authenticate, sweep };
}

export type PasskeysService = ReturnType<typeof createPasskeysService>;
