import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../../src/db/database.js';
import { hashOpaqueToken } from '../../src/lib/opaque-tokens.js';

/**
 * A live password-reset token stored as POST /auth/password/forgot stores it (hashed, for the
 * user's current address, 10 minutes), without waiting for a mail. Returns the plain token.
 */
export async function storeResetToken(db: Kysely<DB>, user: { id: string; email: string }): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const now = new Date();
  await db
    .insertInto('account_tokens')
    .values({
      token_hash: hashOpaqueToken(token),
      user_id: user.id,
      purpose: 'password_reset',
      email: user.email,
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + 600_000).toISOString(),
      used_at: null,
    })
    .execute();
  return token;
}
