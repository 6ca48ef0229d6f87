import type { Kysely } from 'kysely';
import type { DB } from '../../db/database.js';
import { AppError, notFound, validationFailed } from '../../errors.js';
import type { ClientInfo } from '../../lib/client-info.js';
import { nowIso } from '../../lib/ids.js';
import { hashOpaqueToken, isOpaqueTokenShape } from '../../lib/opaque-tokens.js';
import type { RateLimiter } from '../../lib/rate-limiter.js';
import { requireRecentAuthentication } from '../../lib/step-up.js';
import { revokeUserSessions } from '../auth/auth.repository.js';
import { type AuthService, MFA_TOKEN_MAX_FAILURES, mfaCodeInvalid, type TokenResponse } from '../auth/auth.service.js';
import { recordEvent } from '../events/events.repository.js';
import { bumpCredentialVersion, findUserById } from '../users/users.repository.js';
import type { Actor } from '../users/users.service.js';
import * as repo from './mfa.repository.js';
import { generateRecoveryCodes, hashRecoveryCode } from './recovery-codes.js';
import type { SecondFactor, SecondFactorProof } from './second-factor.js';
import { generateTotpSecret, matchTotpStep, openTotpSecret, sealTotpSecret, totpEnrolment } from './totp.js';

export interface MfaServiceDeps {
  db: Kysely<DB>;
  auth: AuthService;
  secondFactor: SecondFactor;
  limiter: RateLimiter;
  encryptionKey: string;
  /** Shown in authenticator apps next to the account. */
  issuerName: string;
  reauthMaxAgeSeconds: number;
}

const invalidMfaToken = () => new AppError('TOKEN_INVALID', 'The mfa_token is invalid, expired or already used; sign in again.');
const alreadyEnabled = () => new AppError('MFA_ALREADY_ENABLED', 'Two-factor sign-in with an authenticator app is already on.');
const rateLimited = (retryAfterSeconds: number) =>
  new AppError('RATE_LIMITED', 'Too many wrong codes; try again later.', { headers: { 'retry-after': String(retryAfterSeconds) } });

/** TOTP enrolment, recovery codes, the second sign-in step and an admin's MFA reset. */
export function createMfaService(deps: MfaServiceDeps) {
  const { db, auth, secondFactor, limiter, encryptionKey, issuerName, reauthMaxAgeSeconds } = deps;

  async function reserveCodeCheck(userId: string) {
    const reservation = await limiter.reserve([auth.mfaUserLimit(userId)]);
    if (!reservation.allowed) throw rateLimited(reservation.retryAfterSeconds);
    return reservation;
  }

  /** Starts (or restarts) an enrolment; the seed is stored encrypted and only returned now. */
  async function startTotp(actor: Actor): Promise<{ secret: string; otpauth_uri: string; qr_svg: string }> {
    // Never store a seed unencrypted: without the secret, TOTP stays off.
    if (encryptionKey === '') {
      throw new AppError(
        'MFA_UNAVAILABLE',
        'Two-factor sign-in with an authenticator app is not available on this server: its operator must set KEY_ENCRYPTION_SECRET.',
      );
    }
    requireRecentAuthentication(actor.authTime, reauthMaxAgeSeconds);
    const user = await findUserById(db, actor.id);
    if (!user) throw notFound('No such user.');
    if (user.mfa_enabled === 1) throw alreadyEnabled();
    const secret = generateTotpSecret();
    await repo.upsertPendingTotp(db, { user_id: user.id, secret: sealTotpSecret(secret, encryptionKey, user.id), created_at: nowIso() });
    const { otpauthUri, qrSvg } = await totpEnrolment(secret, user.email, issuerName);
    return { secret, otpauth_uri: otpauthUri, qr_svg: qrSvg };
  }

  /** Turns TOTP on with a first code from the app; returns the ten recovery codes (shown once). */
  async function confirmTotp(actor: Actor, code: string, client: ClientInfo): Promise<{ recovery_codes: string[] }> {
    const user = await findUserById(db, actor.id);
    if (!user) throw notFound('No such user.');
    if (user.mfa_enabled === 1) throw alreadyEnabled();
    const pending = await repo.findTotp(db, user.id);
    if (!pending || pending.confirmed_at !== null) {
      throw validationFailed('Start the enrolment first: POST /auth/mfa/totp.', [{ path: '/code', message: 'no enrolment in progress' }]);
    }
    const attempt = await reserveCodeCheck(user.id);
    const step = matchTotpStep(openTotpSecret(pending.secret, encryptionKey, user.id), code);
    if (step === null) throw mfaCodeInvalid(400);
    await attempt.release();
    const codes = generateRecoveryCodes();
    const now = nowIso();
    const confirmed = await db.transaction().execute(async (trx) => {
      if (!(await repo.confirmTotp(trx, user.id, pending.secret, now))) return false;
      await repo.claimTotpStep(trx, user.id, step);
      await repo.replaceRecoveryCodes(trx, user.id, codes.map(hashRecoveryCode), now);
      await recordEvent(trx, { type: 'mfa.enabled', userId: user.id, sessionId: actor.sessionId, client, data: { method: 'totp' } });
      return true;
    });
    // A concurrent confirmation (or a restarted enrolment) came first.
    if (!confirmed) throw mfaCodeInvalid(400);
    return { recovery_codes: codes };
  }

  /** Turns TOTP off and deletes the recovery codes. */
  async function disableTotp(actor: Actor, client: ClientInfo): Promise<void> {
    requireRecentAuthentication(actor.authTime, reauthMaxAgeSeconds);
    await db.transaction().execute(async (trx) => {
      if (await repo.removeMfa(trx, actor.id, nowIso())) {
        await recordEvent(trx, { type: 'mfa.disabled', userId: actor.id, sessionId: actor.sessionId, client, data: { method: 'totp' } });
      }
    });
  }

  /** A new set of recovery codes; the old ones die. */
  async function regenerateRecoveryCodes(actor: Actor, client: ClientInfo): Promise<{ recovery_codes: string[] }> {
    requireRecentAuthentication(actor.authTime, reauthMaxAgeSeconds);
    const codes = generateRecoveryCodes();
    const done = await db.transaction().execute(async (trx) => {
      const user = await findUserById(trx, actor.id);
      if (user?.mfa_enabled !== 1) return false;
      await repo.replaceRecoveryCodes(trx, actor.id, codes.map(hashRecoveryCode), nowIso());
      await recordEvent(trx, { type: 'recovery_codes.regenerated', userId: actor.id, sessionId: actor.sessionId, client, data: {} });
      return true;
    });
    if (!done) throw validationFailed('Turn two-factor sign-in on first: recovery codes belong to it.');
    return { recovery_codes: codes };
  }

  /**
   * The second sign-in step. Each check is reserved before the code is looked at, twice: on the
   * token (it dies after 5 wrong codes, however many arrive at once) and per user (so new
   * tokens from new password sign-ins do not buy new guesses).
   */
  async function verify(input: { mfa_token: string } & SecondFactorProof, client: ClientInfo): Promise<TokenResponse> {
    if ((input.code === undefined) === (input.recovery_code === undefined)) {
      throw validationFailed('Send exactly one of code and recovery_code.', [
        { path: '/code', message: 'exactly one of code, recovery_code' },
      ]);
    }
    if (!isOpaqueTokenShape(input.mfa_token)) throw invalidMfaToken();
    const tokenHash = hashOpaqueToken(input.mfa_token);
    const challenge = await repo.findLiveMfaChallenge(db, tokenHash, nowIso(), MFA_TOKEN_MAX_FAILURES);
    if (!challenge) throw invalidMfaToken();
    const attempt = await reserveCodeCheck(challenge.user_id);
    if (!(await repo.reserveMfaCheck(db, tokenHash, nowIso(), MFA_TOKEN_MAX_FAILURES))) throw invalidMfaToken();
    const user = await findUserById(db, challenge.user_id);
    if (!user || user.disabled === 1) throw invalidMfaToken();
    const method = await secondFactor.check(user, input, client);
    if (method === null) {
      auth.recordFailure(user.id, client, 'code');
      throw mfaCodeInvalid();
    }
    await attempt.release();
    // Single use: of two right answers sent at once, one signs in.
    if (!(await repo.claimMfaChallenge(db, tokenHash, nowIso()))) throw invalidMfaToken();
    // RFC 8176: a one-time code after the password; `mfa` for the two factors.
    return auth.startSession(
      user,
      { authTime: Math.floor(Date.now() / 1000), amr: ['pwd', 'otp', 'mfa'] },
      client,
      challenge.credential_version,
    );
  }

  /**
   * Admin: removes a user's TOTP and recovery codes (a lost phone) and ends their sessions. A
   * credential change: it bumps the credential version, so it wins every race too.
   */
  async function adminReset(actor: Actor, userId: string, client: ClientInfo): Promise<void> {
    const found = await db.transaction().execute(async (trx) => {
      if (!(await findUserById(trx, userId))) return false;
      const now = nowIso();
      await repo.removeMfa(trx, userId, now);
      await bumpCredentialVersion(trx, userId);
      const ended = await revokeUserSessions(trx, userId, 'mfa_reset', now);
      await recordEvent(trx, {
        type: 'mfa.disabled',
        userId,
        actorId: actor.id,
        sessionId: actor.sessionId,
        client,
        data: { method: 'totp', reason: 'admin_reset', sessions_ended: ended },
      });
      return true;
    });
    if (!found) throw notFound('No such user.');
  }

  /** Deletes mfa_tokens past their expiry. */
  function sweep(): Promise<void> {
    return repo.sweepMfaChallenges(db, nowIso());
  }

  return { startTotp, confirmTotp, disableTotp, regenerateRecoveryCodes, verify, adminReset, sweep };
}

export type MfaService = ReturnType<typeof createMfaService>;
