import type { RefreshTokensTable, SessionsTable } from '../../db/database.js';
import { preparedQuery } from '../../db/prepared-query.js';
import type { Executor, UserRow } from '../users/users.repository.js';

export type SessionRow = SessionsTable;

/** Creates a session together with its first refresh token. */
export async function insertSession(db: Executor, session: SessionRow, refreshToken: RefreshTokensTable): Promise<void> {
  await db.insertInto('sessions').values(session).execute();
  await db.insertInto('refresh_tokens').values(refreshToken).execute();
}

/**
 * The per-request check, in one query: the session is live and its user exists. Returns the
 * user row (role and disabled flag come from here, never from the token).
 */
export function findLiveSessionUser(db: Executor, sessionId: string, userId: string, now: string): Promise<UserRow | undefined> {
  return liveSessionUser.first(db, sessionId, userId, now);
}

// Runs on every authenticated request: compiled once, not per call.
const liveSessionUser = preparedQuery((db, sessionId: string, userId: string, now: string) =>
  db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .selectAll('users')
    .where('sessions.id', '=', sessionId)
    .where('sessions.user_id', '=', userId)
    .where('sessions.revoked_at', 'is', null)
    .where('sessions.expires_at', '>', now),
);

/** A refresh token by hash, with the state of its session. */
export function findRefreshToken(db: Executor, tokenHash: string) {
  return db
    .selectFrom('refresh_tokens')
    .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
    .select([
      'refresh_tokens.token_hash',
      'refresh_tokens.session_id',
      'refresh_tokens.expires_at',
      'refresh_tokens.used_at',
      'sessions.user_id',
      'sessions.revoked_at',
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

/** Adds the successor refresh token and moves the session's expiry with it. */
export async function addRefreshToken(db: Executor, token: RefreshTokensTable): Promise<void> {
  await db.insertInto('refresh_tokens').values(token).execute();
  await db.updateTable('sessions').set({ expires_at: token.expires_at }).where('id', '=', token.session_id).execute();
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

/** Revokes every live session of a user, optionally keeping one (the caller's). */
export async function revokeUserSessions(
  db: Executor,
  userId: string,
  reason: string,
  now: string,
  exceptSessionId?: string,
): Promise<void> {
  let query = db
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (exceptSessionId) query = query.where('id', '!=', exceptSessionId);
  await query.execute();
}
