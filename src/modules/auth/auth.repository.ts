import { sql } from 'kysely';
import type { AccountTokenPurpose, AccountTokensTable, RefreshTokensTable, SessionsTable } from '../../db/database.js';
import { isForeignKeyViolation } from '../../db/errors.js';
import type { Executor } from '../../db/executor.js';
import { preparedQuery } from '../../db/prepared-query.js';
import type { UserRow } from '../users/users.repository.js';

export type SessionRow = SessionsTable;

/**
 * Creates a session and its first refresh token, if and only if the user is still active and
 * still has the credential version the sign-in checked: one INSERT … SELECT, so a password
 * change or reset, a disabling or a deletion that committed first leaves nothing behind. (One
 * that commits later ends the session anyway: its version no longer matches.) False when no
 * session was created.
 */
export async function insertSessionForCredential(
  db: Executor,
  session: Omit<SessionRow, 'credential_version' | 'revoked_at' | 'revoked_reason'>,
  refreshToken: RefreshTokensTable,
  credentialVersion: number,
): Promise<boolean> {
  let inserted: bigint;
  try {
    const result = await db
      .insertInto('sessions')
      .columns(['id', 'user_id', 'credential_version', 'created_at', 'expires_at', 'last_used_at', 'ip', 'user_agent', 'auth_time', 'amr'])
      .expression((eb) =>
        eb
          .selectFrom('users')
          .select([
            // Casts: PostgreSQL cannot infer the type of a bare parameter in a select list.
            sql<string>`cast(${session.id} as text)`.as('id'),
            'users.id as user_id',
            'users.credential_version',
            sql<string>`cast(${session.created_at} as text)`.as('created_at'),
            sql<string>`cast(${session.expires_at} as text)`.as('expires_at'),
            sql<string>`cast(${session.last_used_at} as text)`.as('last_used_at'),
            sql<string | null>`cast(${session.ip} as text)`.as('ip'),
            sql<string | null>`cast(${session.user_agent} as text)`.as('user_agent'),
            sql<string>`cast(${session.auth_time} as text)`.as('auth_time'),
            sql<string>`cast(${session.amr} as text)`.as('amr'),
          ])
          .where('users.id', '=', session.user_id)
          .where('users.credential_version', '=', credentialVersion)
          .where('users.disabled', '=', 0),
      )
      .executeTakeFirst();
    inserted = result.numInsertedOrUpdatedRows ?? 0n;
  } catch (err) {
    // PostgreSQL: the user was deleted between the SELECT and the foreign-key check.
    if (isForeignKeyViolation(err)) return false;
    throw err;
  }
  if (inserted !== 1n) return false;
  await db.insertInto('refresh_tokens').values(refreshToken).execute();
  return true;
}

/** Moves one session to the user's new credential version (the caller's own, after a password change). */
export async function setSessionCredentialVersion(db: Executor, sessionId: string, version: number): Promise<void> {
  await db.updateTable('sessions').set({ credential_version: version }).where('id', '=', sessionId).execute();
}

/**
 * What the per-request check reads for a session: its state and its user's (role and disabled
 * flag come from here, never from the token). Decided by `liveSessionActor` in auth.service.ts;
 * the query filters on the session id only, so that one function holds every condition, for
 * the session read alone and for a session read together with a route's row.
 */
export type SessionCheckRow = Pick<SessionRow, 'user_id' | 'revoked_at' | 'expires_at' | 'credential_version'> &
  Pick<UserRow, 'email' | 'role' | 'disabled'> & { user_credential_version: number };

/**
 * The per-request session check as a query, for a repository to extend with the row its route
 * reads (a join), so that an authenticated read is one statement: one round trip on PostgreSQL.
 * Only the columns the check needs (not the password hash), named so that they cannot collide
 * with a joined table's.
 */
export function sessionCheckQuery(db: Executor, sessionId: string) {
  return db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'sessions.user_id',
      'sessions.revoked_at',
      'sessions.expires_at',
      'sessions.credential_version',
      'users.email',
      'users.role',
      'users.disabled',
      'users.credential_version as user_credential_version',
    ])
    .where('sessions.id', '=', sessionId);
}

/** The per-request check's row for a session, if the session and its user exist. */
export function findSessionCheck(db: Executor, sessionId: string): Promise<SessionCheckRow | undefined> {
  return sessionCheck.first(db, sessionId);
}

// Runs on every authenticated request that reads no row with it: compiled once, not per call.
const sessionCheck = preparedQuery(sessionCheckQuery);

/** A refresh token by hash, with the state of its session and whether its credential still holds. */
export function findRefreshToken(db: Executor, tokenHash: string) {
  return db
    .selectFrom('refresh_tokens')
    .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'refresh_tokens.token_hash',
      'refresh_tokens.session_id',
      'refresh_tokens.expires_at',
      'refresh_tokens.used_at',
      'sessions.user_id',
      'sessions.revoked_at',
      'sessions.credential_version',
      'sessions.auth_time',
      'sessions.amr',
      'users.credential_version as user_credential_version',
    ])
    .where('refresh_tokens.token_hash', '=', tokenHash)
    .executeTakeFirst();
}

/**
 * Marks a refresh token used if, and only if, nobody used it before: one conditional UPDATE,
 * so of two concurrent refreshes exactly one sees `true`.
 */
export async function claimRefreshToken(db: Executor, tokenHash: string, now: string): Promise<boolean> {
  const result = await db
    .updateTable('refresh_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/**
 * Adds the successor refresh token and moves the session's expiry with it; records when and
 * from where the session was last used (sessions are written on refresh only, never on reads).
 */
export async function addRefreshToken(
  db: Executor,
  token: RefreshTokensTable,
  seen: Pick<SessionRow, 'last_used_at' | 'ip' | 'user_agent'>,
): Promise<void> {
  await db.insertInto('refresh_tokens').values(token).execute();
  await db
    .updateTable('sessions')
    .set({ expires_at: token.expires_at, ...seen })
    .where('id', '=', token.session_id)
    .execute();
}

/**
 * A fresh proof for a live session of the user's current credential (step-up): false when the
 * session ended or the credential changed meanwhile.
 */
export async function renewSessionAuthentication(
  db: Executor,
  input: {
    sessionId: string;
    userId: string;
    credentialVersion: number;
    now: string;
    amr: string;
    client: { ip: string; userAgent: string | null };
  },
): Promise<boolean> {
  const result = await db
    .updateTable('sessions')
    .set({ auth_time: input.now, amr: input.amr, last_used_at: input.now, ip: input.client.ip, user_agent: input.client.userAgent })
    .where('id', '=', input.sessionId)
    .where('user_id', '=', input.userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', input.now)
    .where('credential_version', '=', input.credentialVersion)
    .where('credential_version', '=', (eb) =>
      eb.selectFrom('users').select('users.credential_version').where('users.id', '=', input.userId),
    )
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Removes a session's unused refresh tokens: superseded, not stolen, so no reuse alarm for them. */
export async function retireSessionRefreshTokens(db: Executor, sessionId: string): Promise<void> {
  await db.deleteFrom('refresh_tokens').where('session_id', '=', sessionId).where('used_at', 'is', null).execute();
}

/** Revokes one session (idempotent). */
export async function revokeSession(db: Executor, sessionId: string, reason: string, now: string): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .execute();
}

/** Revokes every live session of a user, optionally keeping one (the caller's); returns how many ended. */
export async function revokeUserSessions(
  db: Executor,
  userId: string,
  reason: string,
  now: string,
  exceptSessionId?: string,
): Promise<number> {
  let query = db
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (exceptSessionId) query = query.where('id', '!=', exceptSessionId);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Stores a single-use account token (verification or reset) for a known user. */
export async function insertAccountToken(db: Executor, token: AccountTokensTable): Promise<void> {
  await db.insertInto('account_tokens').values(token).execute();
}

/**
 * Stores a password-reset token for the active user with this email, if there is one, in a
 * single INSERT … SELECT: known and unknown emails run the very same statement, so the
 * answer's timing does not tell them apart. True when a token was stored.
 */
export async function insertPasswordResetTokenForEmail(
  db: Executor,
  token: { token_hash: string; created_at: string; expires_at: string },
  email: string,
): Promise<boolean> {
  const result = await db
    .insertInto('account_tokens')
    .columns(['token_hash', 'user_id', 'purpose', 'email', 'created_at', 'expires_at'])
    .expression((eb) =>
      eb
        .selectFrom('users')
        .select([
          // Casts: PostgreSQL cannot infer the type of a bare parameter in a select list.
          sql<string>`cast(${token.token_hash} as text)`.as('token_hash'),
          'users.id',
          sql.lit<AccountTokenPurpose>('password_reset').as('purpose'),
          'users.email',
          sql<string>`cast(${token.created_at} as text)`.as('created_at'),
          sql<string>`cast(${token.expires_at} as text)`.as('expires_at'),
        ])
        .where('users.email', '=', email)
        .where('users.disabled', '=', 0),
    )
    .executeTakeFirst();
  return result.numInsertedOrUpdatedRows === 1n;
}

/** An account token by hash and purpose, with the current email and state of its user. */
export function findAccountToken(db: Executor, tokenHash: string, purpose: AccountTokenPurpose) {
  return db
    .selectFrom('account_tokens')
    .innerJoin('users', 'users.id', 'account_tokens.user_id')
    .select([
      'account_tokens.user_id',
      'account_tokens.email',
      'account_tokens.expires_at',
      'account_tokens.used_at',
      'users.email as user_email',
      'users.disabled as user_disabled',
    ])
    .where('account_tokens.token_hash', '=', tokenHash)
    .where('account_tokens.purpose', '=', purpose)
    .executeTakeFirst();
}

/**
 * Uses up an account token if, and only if, it is unused, unexpired and its user still has the
 * address it was mailed to: one conditional UPDATE, so of two concurrent uses exactly one wins.
 */
export async function claimAccountToken(db: Executor, tokenHash: string, purpose: AccountTokenPurpose, now: string): Promise<boolean> {
  const result = await db
    .updateTable('account_tokens')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .where('email', '=', (eb) => eb.selectFrom('users').select('users.email').whereRef('users.id', '=', 'account_tokens.user_id'))
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Ends every outstanding token of one purpose for a user (older mails stop working). */
export async function retireAccountTokens(db: Executor, userId: string, purpose: AccountTokenPurpose, now: string): Promise<void> {
  await db
    .updateTable('account_tokens')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .execute();
}
