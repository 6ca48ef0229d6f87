import type { WebauthnChallengesTable, WebauthnCredentialsTable } from '../../db/database.js';
import type { Executor } from '../../db/executor.js';

export type PasskeyRow = WebauthnCredentialsTable;

/** Stores a server-held challenge (single use, short-lived). */
export async function insertChallenge(db: Executor, row: Omit<WebauthnChallengesTable, 'used_at'>): Promise<void> {
  await db
    .insertInto('webauthn_challenges')
    .values({ ...row, used_at: null })
    .execute();
}

/**
 * Uses a challenge up if it is live and of this purpose (and user, for a registration): one
 * conditional UPDATE, so a challenge answers one ceremony even when replayed at once.
 */
export async function claimChallenge(
  db: Executor,
  where: { challenge?: string; id?: string; purpose: WebauthnChallengesTable['purpose']; userId?: string },
  now: string,
): Promise<string | null> {
  let query = db
    .updateTable('webauthn_challenges')
    .set({ used_at: now })
    .where('purpose', '=', where.purpose)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now);
  if (where.challenge !== undefined) query = query.where('challenge', '=', where.challenge);
  if (where.id !== undefined) query = query.where('id', '=', where.id);
  if (where.userId !== undefined) query = query.where('user_id', '=', where.userId);
  const claimed = await query.returning('challenge').executeTakeFirst();
  return claimed?.challenge ?? null;
}

/** Deletes challenges past their expiry. */
export async function sweepChallenges(db: Executor, now: string): Promise<void> {
  await db.deleteFrom('webauthn_challenges').where('expires_at', '<', now).execute();
}

export async function insertPasskey(db: Executor, row: PasskeyRow): Promise<void> {
  await db.insertInto('webauthn_credentials').values(row).execute();
}

/** A user's passkeys, oldest first. */
export function listPasskeys(db: Executor, userId: string): Promise<PasskeyRow[]> {
  return db.selectFrom('webauthn_credentials').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute();
}

/** A passkey by the authenticator's credential id (sign-in: the user is not known yet). */
export function findPasskeyByCredentialId(db: Executor, credentialId: string): Promise<PasskeyRow | undefined> {
  return db.selectFrom('webauthn_credentials').selectAll().where('credential_id', '=', credentialId).executeTakeFirst();
}

/**
 * Moves the signature counter forward from the value the check used: of two sign-ins with one
 * counter value (a cloned authenticator racing the real one), one wins.
 */
export async function advanceCounter(db: Executor, id: string, from: number, to: number, now: string): Promise<boolean> {
  const result = await db
    .updateTable('webauthn_credentials')
    .set({ counter: to, last_used_at: now })
    .where('id', '=', id)
    .where('counter', '=', from)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Deletes one of the user's passkeys; false when it is someone else's or unknown. */
export async function deletePasskey(db: Executor, userId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('webauthn_credentials').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return result.numDeletedRows === 1n;
}
