import type { AccessTokenClaims } from '../../lib/access-tokens.js';
import type { Actor } from '../users/users.service.js';
import type { SessionCheckRow } from './auth.repository.js';

/** The signed-in caller of a request, as `authenticate` sets `request.user`. */
export type AuthenticatedActor = Actor & { email: string };

/**
 * The session check's row read together with a route's row, in one statement (see
 * `sessionCheckQuery`); undefined when the session or its user does not exist.
 */
export type SessionRead<R> = (sessionId: string) => Promise<{ session: SessionCheckRow; row: R } | undefined>;

/**
 * The one decision of the per-request check, for a token whose signature and claims verified:
 * the caller, or undefined when the token no longer stands for a live session. Every path that
 * checks a session (the session read alone, or together with a route's row) applies this, in
 * this order:
 * - the session exists, and belongs to the token's subject (a valid token's `sid` with another
 *   user's `sub` is refused);
 * - it was not ended (logout, reuse of a refresh token, ended from another device) and has not
 *   expired;
 * - the user's credential version is still the session's: a password change, reset or disabling
 *   since the sign-in ends the session, even one whose row was created after the change revoked
 *   the user's sessions;
 * - the user is not disabled (anything but 0 counts as disabled);
 * - the role is the database's, never the token's.
 * `now` is ISO-8601 UTC text, as `expires_at` is stored, so text order is time order.
 */
export function liveSessionActor(
  session: SessionCheckRow | undefined,
  claims: AccessTokenClaims,
  now: string,
): AuthenticatedActor | undefined {
  if (!session || session.user_id !== claims.sub) return undefined;
  if (session.revoked_at !== null || session.expires_at <= now) return undefined;
  if (session.credential_version !== session.user_credential_version) return undefined;
  if (session.disabled !== 0) return undefined;
  return { id: session.user_id, role: session.role, email: session.email, sessionId: claims.sid, authTime: claims.auth_time };
}
