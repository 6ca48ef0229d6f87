import { AppError } from '../errors.js';

/**
 * RFC 9470 step-up: a sensitive change needs a sign-in (or reauthentication) no older than
 * `maxAgeSeconds`. A stolen access token is enough to read an account; it must not be enough to
 * take it over (change its email, delete it). The answer tells the client what to do: the
 * `insufficient_user_authentication` challenge with `max_age`, and POST /auth/reauthenticate.
 */
export function requireRecentAuthentication(authTime: number, maxAgeSeconds: number, now: number = Date.now()): void {
  if (authTime > 0 && now / 1000 - authTime <= maxAgeSeconds) return;
  throw new AppError(
    'REAUTHENTICATION_REQUIRED',
    'This change needs a recent sign-in: confirm your password with POST /auth/reauthenticate, then retry.',
    {
      headers: {
        'www-authenticate': `Bearer realm="gatehouse", error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=${maxAgeSeconds}`,
      },
    },
  );
}
