import type { Kysely } from 'kysely';
import type { DB } from '../../db/database.js';
import { skipCommitFlush } from '../../db/dialect.js';
import { AppError } from '../../errors.js';
import type { AccessTokenClaims, AccessTokenService, Authentication } from '../../lib/access-tokens.js';
import type { ClientInfo } from '../../lib/client-info.js';
import { isoAfter, newId, nowIso } from '../../lib/ids.js';
import { generateOpaqueToken, hashOpaqueToken, isOpaqueTokenShape } from '../../lib/opaque-tokens.js';
import { burnPasswordVerification, hashPassword, verifyPassword } from '../../lib/passwords.js';
import type { Limit, RateLimiter, Reservation } from '../../lib/rate-limiter.js';
import { recordEvent } from '../events/events.repository.js';
import { insertMfaChallenge } from '../mfa/mfa.repository.js';
import type { SecondFactor, SecondFactorProof } from '../mfa/second-factor.js';
import { bumpCredentialVersion, findUserByEmail, findUserById, updateUser } from '../users/users.repository.js';
import type { User } from '../users/users.schemas.js';
import { type Actor, checkNewPassword, toUser, type UsersService } from '../users/users.service.js';
import type { AccountMail } from './account-mail.js';
import * as repo from './auth.repository.js';
import { type AuthenticatedActor, liveSessionActor, type SessionRead } from './session-check.js';

export interface AuthServiceDeps {
  db: Kysely<DB>;
  accessTokens: AccessTokenService;
  users: UsersService;
  /** Every limit of this service: reserve-then-check, shared through Redis when configured. */
  limiter: RateLimiter;
  limits: {
    loginFailuresPerEmail: number;
    loginFailuresPerIp: number;
    registerPerIp: number;
    refreshFailuresPerIp: number;
  };
  refreshTokenTtlSeconds: number;
  accountMail: AccountMail;
  account: { requireVerifiedEmail: boolean; maxMailsPerAddress: number; maxAttemptsPerIp: number };
  /** Checks TOTP and recovery codes (the MFA module's one verification path). */
  secondFactor: SecondFactor;
  /** Writes a record that must not delay the answer (a failed sign-in); errors are logged there. */
  background(task: () => Promise<unknown>): void;
}

/** The answer to a right password when a second factor is on: no tokens yet. */
export interface MfaRequired {
  mfa_required: true;
  mfa_token: string;
  expires_in: number;
  methods: ['totp', 'recovery_code'];
}

/** The single-use token between the password and the second factor lives this long. */
export const MFA_TOKEN_TTL_SECONDS = 300;
/** Wrong codes one mfa_token survives. */
export const MFA_TOKEN_MAX_FAILURES = 5;

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  refresh_expires_in: number;
  user: User;
}

const invalidCredentials = () => new AppError('INVALID_CREDENTIALS', 'The email or password is incorrect.');
export const mfaCodeInvalid = (status = 401) => new AppError('MFA_CODE_INVALID', 'The code is wrong or was already used.', { status });
const invalidRefresh = () => new AppError('TOKEN_INVALID', 'The refresh token is invalid, expired or revoked.');
const invalidToken = () => new AppError('TOKEN_INVALID', 'The access token is no longer valid.');
// 400, not 401: the body carried a bad token, no credentials were refused (and no WWW-Authenticate).
const invalidAccountToken = () => new AppError('TOKEN_INVALID', 'The token is invalid, expired or already used.', { status: 400 });
const rateLimited = (detail: string, decision: { retryAfterSeconds: number }) =>
  new AppError('RATE_LIMITED', detail, { headers: { 'retry-after': String(decision.retryAfterSeconds) } });

/** Reserves an attempt on every limit, or throws 429 with Retry-After before any work is done. */
async function reserveOrThrow(limiter: RateLimiter, limits: Limit[], detail: string): Promise<Extract<Reservation, { allowed: true }>> {
  const reservation = await limiter.reserve(limits);
  if (!reservation.allowed) throw rateLimited(detail, reservation);
  return reservation;
}

/** The one answer to every forgot-password request, whether or not the account exists. */
export const FORGOT_PASSWORD_ACCEPTED = 'If an account uses that address, a link to reset its password is on its way.';

/** Sign-up, sign-in, session lifecycle and the per-request token check. */
export function createAuthService(deps: AuthServiceDeps) {
  const { db, accessTokens, users, limiter, limits, refreshTokenTtlSeconds, accountMail, account, background, secondFactor } = deps;
  // The keys of every limit. Sign-in and the current-password check share theirs: a stolen
  // access token must not give a second, separate budget of password guesses.
  const loginLimits = (email: string, ip: string): Limit[] => [
    { key: `login:email:${email}`, max: limits.loginFailuresPerEmail },
    { key: `login:ip:${ip}`, max: limits.loginFailuresPerIp },
  ];
  const mailKey = (email: string): Limit => ({ key: `account:mail:${email}`, max: account.maxMailsPerAddress });
  const ipKey = (ip: string): Limit => ({ key: `account:ip:${ip}`, max: account.maxAttemptsPerIp });
  const LOGIN_LIMITED = 'Too many failed sign-in attempts; try again later.';
  // Wrong one-time codes per user, whichever route checks them (shares the per-email budget size).
  const mfaUserLimit = (userId: string): Limit => ({ key: `mfa:user:${userId}`, max: limits.loginFailuresPerEmail });

  /** Counts one mail to an address; false when the address was mailed enough this window. */
  async function mayMail(email: string): Promise<boolean> {
    return (await limiter.reserve([mailKey(email)])).allowed;
  }

  /**
   * Sign-up, limited per client IP. With REQUIRE_VERIFIED_EMAIL the answer does not tell whether
   * the address was taken: the same 202 after the same work (the password is hashed either way);
   * the owner of a taken address gets a notice instead of a link, and nothing is created.
   */
  async function register(
    input: { email: string; password: string; name?: string | null },
    client: ClientInfo,
  ): Promise<{ created: true; user: User } | { created: false }> {
    await reserveOrThrow(
      limiter,
      [{ key: `register:ip:${client.ip}`, max: limits.registerPerIp }],
      'Too many sign-ups from this client; try again later.',
    );
    if (!account.requireVerifiedEmail) return { created: true, user: await users.createUser(input) };
    const outcome = await users.createUserQuietly(input);
    if (outcome === 'taken' && (await mayMail(input.email))) accountMail.sendSignUpAttempted(input.email);
    return { created: false };
  }

  function issueTokens(
    userRow: Parameters<typeof toUser>[0],
    sessionId: string,
    refreshToken: string,
    auth: Authentication,
  ): TokenResponse {
    return {
      access_token: accessTokens.sign({ userId: userRow.id, sessionId, ...auth }),
      token_type: 'Bearer',
      expires_in: accessTokens.ttlSeconds,
      refresh_token: refreshToken,
      refresh_expires_in: refreshTokenTtlSeconds,
      user: toUser(userRow),
    };
  }

  /**
   * Unknown email, wrong password and disabled account all give the same answer after the same
   * Argon2 work, so the response reveals nothing about which accounts exist.
   */
  async function login(input: { email: string; password: string }, client: ClientInfo): Promise<TokenResponse | MfaRequired> {
    // Counted before the check: however many requests arrive at once, at most the limit of
    // them reach Argon2; a success gives its own attempt back, failures keep theirs.
    const reservation = await limiter.reserve(loginLimits(input.email, client.ip));
    if (!reservation.allowed) {
      recordThrottled(input.email, client);
      throw rateLimited(LOGIN_LIMITED, reservation);
    }
    const user = await findUserByEmail(db, input.email);
    const ok = user ? await verifyPassword(user.password_hash, input.password) : await burnPasswordVerification(input.password);
    if (!user || !ok || user.disabled === 1) {
      if (user) recordFailure(user.id, client, !ok ? 'password' : 'disabled');
      throw invalidCredentials();
    }
    await reservation.release();
    if (account.requireVerifiedEmail && user.email_verified !== 1) {
      // The password was right, so this is the owner: mail a fresh link (the first may have
      // expired), unless this address was mailed enough already. The answer is the same either way.
      if (await mayMail(user.email)) (await accountMail.prepareEmailVerification(db, user.id, user.email))();
      throw new AppError('EMAIL_NOT_VERIFIED', 'Verify your email address before signing in: follow the link mailed to you.');
    }
    if (user.mfa_enabled === 1) return startMfaChallenge(user);
    return startSession(user, { authTime: Math.floor(Date.now() / 1000), amr: ['pwd'] }, client);
  }

  /**
   * The password was right and TOTP is on: a single-use token for the second step, tied to the
   * credential version that was checked (a password change in between voids it).
   */
  async function startMfaChallenge(user: { id: string; credential_version: number }): Promise<MfaRequired> {
    const token = generateOpaqueToken();
    const now = nowIso();
    await insertMfaChallenge(db, {
      token_hash: hashOpaqueToken(token),
      user_id: user.id,
      credential_version: user.credential_version,
      created_at: now,
      expires_at: isoAfter(now, MFA_TOKEN_TTL_SECONDS),
    });
    return { mfa_required: true, mfa_token: token, expires_in: MFA_TOKEN_TTL_SECONDS, methods: ['totp', 'recovery_code'] };
  }

  /**
   * Creates a session for a user whose credentials were just checked (password, second factor,
   * passkey), if and only if the account is still active at the credential version that was
   * checked; records the sign-in in the same transaction.
   */
  async function startSession(
    user: Parameters<typeof toUser>[0],
    auth: Authentication,
    client: ClientInfo,
    credentialVersion: number = user.credential_version,
  ): Promise<TokenResponse> {
    const now = nowIso();
    const authTime = new Date(auth.authTime * 1000).toISOString();
    const sessionId = newId();
    const refreshToken = generateOpaqueToken();
    const expiresAt = isoAfter(now, refreshTokenTtlSeconds);
    const created = await db.transaction().execute(async (trx) => {
      const inserted = await repo.insertSessionForCredential(
        trx,
        {
          id: sessionId,
          user_id: user.id,
          created_at: now,
          expires_at: expiresAt,
          last_used_at: now,
          ip: client.ip,
          user_agent: client.userAgent,
          auth_time: authTime,
          amr: JSON.stringify(auth.amr),
        },
        { token_hash: hashOpaqueToken(refreshToken), session_id: sessionId, created_at: now, expires_at: expiresAt, used_at: null },
        credentialVersion,
      );
      if (inserted)
        await recordEvent(trx, { type: 'login.succeeded', userId: user.id, sessionId, client, data: { amr: auth.amr.join(' ') } });
      return inserted;
    });
    // The password (or the account) changed while it was being checked: what was verified is
    // no longer the credential, so this is a failed sign-in.
    if (!created) throw invalidCredentials();
    return issueTokens(user, sessionId, refreshToken, auth);
  }

  /**
   * A failed sign-in of an existing account. Written in the background: awaiting it would make a
   * wrong password slower than an unknown email (which has no account to record it for). The
   * throttle bounds how many there are: at most the per-email limit per account and window.
   */
  function recordFailure(userId: string, client: ClientInfo, reason: 'password' | 'disabled' | 'code'): void {
    background(() => recordEvent(db, { type: 'login.failed', userId, client, data: { reason } }));
  }

  /**
   * A refused sign-in, recorded once per email and window (a flood of 429s writes one row) and
   * only for an existing account. In the background, for the same timing reason.
   */
  function recordThrottled(email: string, client: ClientInfo): void {
    background(async () => {
      if (!(await limiter.reserve([{ key: `event:throttled:${email}`, max: 1 }])).allowed) return;
      const user = await findUserByEmail(db, email);
      if (user) await recordEvent(db, { type: 'login.throttled', userId: user.id, client, data: {} });
    });
  }

  /**
   * Rotates a refresh token. The old one is claimed with a conditional UPDATE; if it was already
   * used (a replay, or a stolen copy racing the owner) the whole session is revoked.
   */
  async function refresh(refreshToken: string, client: ClientInfo): Promise<TokenResponse> {
    const attempt = await reserveOrThrow(
      limiter,
      [{ key: `refresh:ip:${client.ip}`, max: limits.refreshFailuresPerIp }],
      'Too many invalid refresh tokens from this client; try again later.',
    );
    if (!isOpaqueTokenShape(refreshToken)) throw invalidRefresh();
    const tokenHash = hashOpaqueToken(refreshToken);
    const outcome = await db.transaction().execute(async (trx) => {
      const now = nowIso();
      const found = await repo.findRefreshToken(trx, tokenHash);
      if (!found) return { kind: 'invalid' as const };
      if (found.revoked_at !== null || found.expires_at <= now) return { kind: 'invalid' as const };
      // The password changed, or the account was disabled, since this session signed in.
      if (found.credential_version !== found.user_credential_version) return { kind: 'invalid' as const };
      if (found.used_at !== null || !(await repo.claimRefreshToken(trx, tokenHash, now))) {
        await repo.revokeSession(trx, found.session_id, 'refresh_token_reuse', now);
        await recordEvent(trx, {
          type: 'refresh.reuse_detected',
          userId: found.user_id,
          sessionId: found.session_id,
          client,
          data: { reason: 'a used refresh token was presented again; the session was ended' },
        });
        return { kind: 'reused' as const };
      }
      const user = await findUserById(trx, found.user_id);
      if (!user || user.disabled === 1) return { kind: 'invalid' as const };
      const next = generateOpaqueToken();
      await repo.addRefreshToken(
        trx,
        {
          token_hash: hashOpaqueToken(next),
          session_id: found.session_id,
          created_at: now,
          expires_at: isoAfter(now, refreshTokenTtlSeconds),
          used_at: null,
        },
        { last_used_at: now, ip: client.ip, user_agent: client.userAgent },
      );
      // A refresh keeps the session's proof: auth_time and amr come from the sign-in, not from now.
      const auth: Authentication = { authTime: Math.floor(Date.parse(found.auth_time) / 1000), amr: parseAmr(found.amr) };
      return { kind: 'ok' as const, user, sessionId: found.session_id, next, auth };
    });
    if (outcome.kind !== 'ok') throw invalidRefresh();
    await attempt.release();
    return issueTokens(outcome.user, outcome.sessionId, outcome.next, outcome.auth);
  }

  async function logout(actor: Actor, client: ClientInfo): Promise<void> {
    await db.transaction().execute(async (trx) => {
      await repo.revokeSession(trx, actor.sessionId, 'logout', nowIso());
      await recordEvent(trx, { type: 'logout', userId: actor.id, sessionId: actor.sessionId, client, data: { scope: 'this' } });
    });
  }

  async function logoutAll(actor: Actor, client: ClientInfo): Promise<void> {
    await db.transaction().execute(async (trx) => {
      const count = await repo.revokeUserSessions(trx, actor.id, 'logout_all', nowIso());
      await recordEvent(trx, { type: 'logout', userId: actor.id, sessionId: actor.sessionId, client, data: { scope: 'all', count } });
    });
  }

  /**
   * Proves the password again for the current session (RFC 9470 step-up): the same session gets
   * a fresh auth_time, its outstanding refresh tokens die and a new pair is issued. Throttled with
   * the sign-in counters.
   */
  async function reauthenticate(actor: Actor, input: { password: string } & SecondFactorProof, client: ClientInfo): Promise<TokenResponse> {
    const user = await findUserById(db, actor.id);
    if (!user) throw invalidToken();
    const attempt = await reserveOrThrow(limiter, loginLimits(user.email, client.ip), LOGIN_LIMITED);
    if (!(await verifyPassword(user.password_hash, input.password))) {
      recordFailure(user.id, client, 'password');
      throw invalidCredentials();
    }
    await attempt.release();
    const amr = ['pwd'];
    if (user.mfa_enabled === 1) {
      // With TOTP on, a password alone is not a recent sign-in: the second factor is asked too.
      const second = await reserveOrThrow(limiter, [mfaUserLimit(user.id)], 'Too many wrong codes; try again later.');
      if ((await secondFactor.check(user, input, client, actor.sessionId)) === null) {
        recordFailure(user.id, client, 'code');
        throw mfaCodeInvalid();
      }
      await second.release();
      amr.push('otp', 'mfa');
    }
    const now = nowIso();
    const auth: Authentication = { authTime: Math.floor(Date.parse(now) / 1000), amr };
    const refreshToken = generateOpaqueToken();
    const expiresAt = isoAfter(now, refreshTokenTtlSeconds);
    const renewed = await db.transaction().execute(async (trx) => {
      const ok = await repo.renewSessionAuthentication(trx, {
        sessionId: actor.sessionId,
        userId: user.id,
        credentialVersion: user.credential_version,
        now,
        amr: JSON.stringify(auth.amr),
        client,
      });
      if (!ok) return false;
      await repo.retireSessionRefreshTokens(trx, actor.sessionId);
      await repo.addRefreshToken(
        trx,
        { token_hash: hashOpaqueToken(refreshToken), session_id: actor.sessionId, created_at: now, expires_at: expiresAt, used_at: null },
        { last_used_at: now, ip: client.ip, user_agent: client.userAgent },
      );
      await recordEvent(trx, { type: 'reauthenticated', userId: user.id, sessionId: actor.sessionId, client, data: { amr: 'pwd' } });
      return true;
    });
    // The session ended, or the password changed, while the password was being checked.
    if (!renewed) throw invalidToken();
    return issueTokens(user, actor.sessionId, refreshToken, auth);
  }

  /**
   * Changes the password after re-checking the current one; other sessions end. The change is
   * conditional on the credential version the current password was checked against, so of two
   * racing changes (or a change racing a reset) only the first applies.
   */
  async function changePassword(
    actor: Actor,
    input: { current_password: string; new_password: string },
    client: ClientInfo,
  ): Promise<void> {
    const user = await findUserById(db, actor.id);
    if (!user) throw invalidToken();
    // A stolen access token must not become an oracle for guessing the password.
    const attempt = await reserveOrThrow(limiter, loginLimits(user.email, client.ip), 'Too many failed attempts; try again later.');
    if (!(await verifyPassword(user.password_hash, input.current_password))) {
      recordFailure(user.id, client, 'password');
      throw new AppError('INVALID_CREDENTIALS', 'The current password is incorrect.', { status: 403 });
    }
    await attempt.release();
    checkNewPassword(input.new_password, 'new_password', user.email);
    const passwordHash = await hashPassword(input.new_password);
    const now = nowIso();
    const changed = await db.transaction().execute(async (trx) => {
      if (!(await bumpCredentialVersion(trx, user.id, user.credential_version))) return false;
      await updateUser(trx, user.id, { password_hash: passwordHash, updated_at: now });
      const ended = await repo.revokeUserSessions(trx, user.id, 'password_changed', now, actor.sessionId);
      // The caller's session moves to the new version: the one session that stays.
      await repo.setSessionCredentialVersion(trx, actor.sessionId, user.credential_version + 1);
      // A reset link mailed earlier must not undo the change.
      await repo.retireAccountTokens(trx, user.id, 'password_reset', now);
      await recordEvent(trx, {
        type: 'password.changed',
        userId: user.id,
        sessionId: actor.sessionId,
        client,
        data: { sessions_ended: ended },
      });
      return true;
    });
    if (!changed) throw new AppError('INVALID_CREDENTIALS', 'The password was changed by another request; try again.', { status: 403 });
  }

  /**
   * Mails a single-use reset link if an active account has this email. Known and unknown emails
   * get the same answer after the same work: a token is always generated and hashed, one
   * INSERT … SELECT stores it only for a known account, and the mail is queued, not awaited.
   * Every request counts against the address and the client IP, known or not.
   */
  async function forgotPassword(input: { email: string }, client: ClientInfo): Promise<void> {
    await reserveOrThrow(limiter, [mailKey(input.email), ipKey(client.ip)], 'Too many password reset requests; try again later.');
    const token = generateOpaqueToken();
    const now = nowIso();
    const stored = await db.transaction().execute(async (trx) => {
      // Without this, PostgreSQL's commit would wait for a WAL flush only when a row was
      // written, i.e. only for known emails. A reset token lost in a crash is simply asked again.
      await skipCommitFlush(trx);
      return repo.insertPasswordResetTokenForEmail(
        trx,
        { token_hash: hashOpaqueToken(token), created_at: now, expires_at: isoAfter(now, accountMail.passwordResetTtlSeconds) },
        input.email,
      );
    });
    if (stored) accountMail.sendPasswordReset(input.email, token);
  }

  /**
   * Checks an account token before any work. Every check is counted against the client IP
   * first; a usable token gives its attempt back, a bad one keeps it.
   */
  async function findUsableAccountToken(token: string, purpose: 'password_reset' | 'email_verification', ip: string) {
    const attempt = await reserveOrThrow(limiter, [ipKey(ip)], 'Too many invalid tokens; try again later.');
    const tokenHash = hashOpaqueToken(token);
    const found = isOpaqueTokenShape(token) ? await repo.findAccountToken(db, tokenHash, purpose) : undefined;
    const usable =
      found !== undefined &&
      found.used_at === null &&
      found.expires_at > nowIso() &&
      // Mailed to an address the account no longer has: that mailbox proves nothing now.
      found.email === found.user_email &&
      found.user_disabled === 0;
    if (!usable) throw invalidAccountToken();
    await attempt.release();
    return { tokenHash, userId: found.user_id, email: found.user_email };
  }

  /**
   * Sets a new password with a mailed token. One transaction claims the token (conditional
   * UPDATE: of two concurrent uses one wins), stores the hash, ends every session and every
   * other reset link, and marks the email verified (the mail reached its owner).
   */
  async function resetPassword(input: { token: string; new_password: string }, client: ClientInfo): Promise<void> {
    const found = await findUsableAccountToken(input.token, 'password_reset', client.ip);
    checkNewPassword(input.new_password, 'new_password', found.email);
    const passwordHash = await hashPassword(input.new_password);
    const claimed = await db.transaction().execute(async (trx) => {
      const now = nowIso();
      if (!(await repo.claimAccountToken(trx, found.tokenHash, 'password_reset', now))) return false;
      await updateUser(trx, found.userId, { password_hash: passwordHash, email_verified: 1, updated_at: now });
      // Ends every session, including those of sign-ins still checking the old password.
      await bumpCredentialVersion(trx, found.userId);
      const ended = await repo.revokeUserSessions(trx, found.userId, 'password_reset', now);
      await repo.retireAccountTokens(trx, found.userId, 'password_reset', now);
      await recordEvent(trx, { type: 'password.reset', userId: found.userId, client, data: { sessions_ended: ended } });
      return true;
    });
    // Used by a concurrent request a moment ago: as invalid as any used token.
    if (!claimed) throw invalidAccountToken();
    // The owner proved control of the mailbox and set a password no guess was aimed at: the
    // failed sign-ins counted for the address no longer lock them out.
    await limiter.clear(`login:email:${found.email}`);
  }

  /** Marks the email verified with a mailed token (single use, only for the address it was sent to). */
  async function verifyEmail(input: { token: string }, client: ClientInfo): Promise<void> {
    const found = await findUsableAccountToken(input.token, 'email_verification', client.ip);
    const claimed = await db.transaction().execute(async (trx) => {
      const now = nowIso();
      if (!(await repo.claimAccountToken(trx, found.tokenHash, 'email_verification', now))) return false;
      await updateUser(trx, found.userId, { email_verified: 1, updated_at: now });
      await repo.retireAccountTokens(trx, found.userId, 'email_verification', now);
      await recordEvent(trx, { type: 'email.verified', userId: found.userId, client, data: {} });
      return true;
    });
    if (!claimed) throw invalidAccountToken();
  }

  /** Mails a new verification link to the signed-in user's current address (limited per address). */
  async function resendVerification(actor: Actor): Promise<{ message: string }> {
    const user = await findUserById(db, actor.id);
    if (!user) throw invalidToken();
    if (user.email_verified === 1) return { message: 'Your email address is already verified; nothing was sent.' };
    await reserveOrThrow(limiter, [mailKey(user.email)], 'Too many mails to this address; try again later.');
    (await accountMail.prepareEmailVerification(db, user.id, user.email))();
    return { message: 'A new verification link is on its way.' };
  }

  /**
   * The `token_required` check done properly: strict JWT verification, then one query that the
   * session is live and the user exists; the role comes from that row, not from the token.
   */
  async function authenticate(authorization: string | undefined): Promise<AuthenticatedActor> {
    return (await verifyLiveToken(bearerToken(authorization))).actor;
  }

  /**
   * `authenticate` for a route that reads its row in the statement of the session check (one
   * round trip): the same verification and the same decision (`liveSessionActor`), then the
   * row. A token that fails either is refused before anything about the row is known, so a bad
   * token for a missing row is 401, never 404.
   */
  async function authenticateWith<R>(
    authorization: string | undefined,
    read: SessionRead<R>,
  ): Promise<{ actor: AuthenticatedActor; row: R }> {
    const claims = await accessTokens.verify(bearerToken(authorization));
    const now = nowIso();
    const found = await read(claims.sid);
    const actor = liveSessionActor(found?.session, claims, now);
    if (!actor || !found) throw invalidToken();
    return { actor, row: found.row };
  }

  /**
   * The check behind `authenticate`, for a bare token: its claims and its user while the token
   * verifies and its session is live (token introspection answers from this too); else throws
   * TOKEN_INVALID or TOKEN_EXPIRED.
   */
  async function verifyLiveToken(token: string): Promise<{ claims: AccessTokenClaims; actor: AuthenticatedActor }> {
    const claims = await accessTokens.verify(token);
    const now = nowIso();
    const actor = liveSessionActor(await repo.findSessionCheck(db, claims.sid), claims, now);
    if (!actor) throw invalidToken();
    return { claims, actor };
  }

  return {
    register,
    login,
    refresh,
    logout,
    logoutAll,
    reauthenticate,
    startSession,
    recordFailure,
    mfaUserLimit,
    changePassword,
    forgotPassword,
    resetPassword,
    verifyEmail,
    resendVerification,
    authenticate,
    authenticateWith,
    verifyLiveToken,
  };
}

/** The session's stored `amr` (a JSON array); anything unreadable counts as no method. */
function parseAmr(raw: string): string[] {
  try {
    const value: unknown = JSON.parse(raw);
    return Array.isArray(value) ? value.filter((m): m is string => typeof m === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Extracts the token of an RFC 6750 `Authorization: Bearer <token>` header. The scheme is
 * case-insensitive (RFC 7235); no header or another scheme is "missing", a Bearer header
 * with a malformed value is "invalid".
 */
export function bearerToken(authorization: string | undefined): string {
  const parts = (authorization ?? '').trim().split(/ +/);
  if (parts[0]?.toLowerCase() !== 'bearer' || parts.length < 2) {
    throw new AppError('TOKEN_MISSING', 'This route needs an Authorization: Bearer <access_token> header.');
  }
  if (parts.length > 2) throw new AppError('TOKEN_INVALID', 'The Authorization header is malformed.');
  return parts[1] as string;
}

export type AuthService = ReturnType<typeof createAuthService>;
