import { sql } from 'kysely';
import type { SessionsTable } from '../../db/database.js';
import type { Executor } from '../../db/executor.js';
import type { Cursor } from '../../lib/pagination.js';

export type SessionListRow = Pick<SessionsTable, 'id' | 'created_at' | 'last_used_at' | 'expires_at' | 'ip' | 'user_agent'>;

/**
 * A keyset page of a user's live sessions, newest first: not revoked, not expired, and still of
 * the user's current credential version (the same rule as the per-request check).
 */
export function listLiveSessions(
  db: Executor,
  userId: string,
  now: string,
  options: { limit: number; cursor: Cursor | null },
): Promise<SessionListRow[]> {
  let query = db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.id', 'sessions.created_at', 'sessions.last_used_at', 'sessions.expires_at', 'sessions.ip', 'sessions.user_agent'])
    .where('sessions.user_id', '=', userId)
    .where('sessions.revoked_at', 'is', null)
    .where('sessions.expires_at', '>', now)
    .whereRef('sessions.credential_version', '=', 'users.credential_version');
  if (options.cursor) {
    query = query.where(sql<boolean>`(sessions.created_at, sessions.id) < (${options.cursor.createdAt}, ${options.cursor.id})`);
  }
  return query
    .orderBy('sessions.created_at', 'desc')
    .orderBy('sessions.id', 'desc')
    .limit(options.limit + 1)
    .execute();
}

/** Ends one live session of this user; false when it is someone else's, unknown or already ended. */
export async function revokeLiveSession(db: Executor, userId: string, sessionId: string, reason: string, now: string): Promise<boolean> {
  const result = await db
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('id', '=', sessionId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}
