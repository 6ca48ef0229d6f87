import { sql } from 'kysely';
import type { MfaChallengesTable, MfaTotpTable } from '../../db/database.js';
import type { Executor } from '../../db/executor.js';
import { newId } from '../../lib/ids.js';

/** The TOTP row of a user (pending or confirmed). */
export function findTotp(db: Executor, userId: string): Promise<MfaTotpTable | undefined> {
  return db.selectFrom('mfa_totp').selectAll().where('user_id', '=', userId).executeTakeFirst();
}

/** Starts (or restarts) an enrolment: a new, unconfirmed seed replaces an unconfirmed one. */
export async function upsertPendingTotp(db: Executor, row: { user_id: string; secret: string; created_at: string }): Promise<void> {
  await db
    .insertInto('mfa_totp')
    .values({ ...row, confirmed_at: null, last_used_step: null })
    .onConflict((oc) =>
      oc.column('user_id').doUpdateSet({ secret: row.secret, created_at: row.created_at, confirmed_at: null, last_used_step: null }),
    )
    .execute();
}

/**
 * Accepts a code's step if, and only if, it is later than the last accepted one: one
 * conditional UPDATE, so of two concurrent uses of one code exactly one wins (no replay).
 */
export async function claimTotpStep(db: Executor, userId: string, step: number): Promise<boolean> {
  const result = await db
    .updateTable('mfa_totp')
    .set({ last_used_step: step })
    .where('user_id', '=', userId)
    .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Turns a pending enrolment on (only if it is still the same pending seed). */
export async function confirmTotp(db: Executor, userId: string, secret: string, now: string): Promise<boolean> {
  const result = await db
    .updateTable('mfa_totp')
    .set({ confirmed_at: now })
    .where('user_id', '=', userId)
    .where('secret', '=', secret)
    .where('confirmed_at', 'is', null)
    .executeTakeFirst();
  if (result.numUpdatedRows !== 1n) return false;
  await db.updateTable('users').set({ mfa_enabled: 1, updated_at: now }).where('id', '=', userId).execute();
  return true;
}

/** Removes TOTP and every recovery code of a user; returns whether TOTP was on. */
export async function removeMfa(db: Executor, userId: string, now: string): Promise<boolean> {
  const removed = await db.deleteFrom('mfa_totp').where('user_id', '=', userId).executeTakeFirst();
  await db.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
  const user = await db
    .updateTable('users')
    .set({ mfa_enabled: 0, updated_at: now })
    .where('id', '=', userId)
    .where('mfa_enabled', '=', 1)
    .executeTakeFirst();
  return user.numUpdatedRows === 1n || removed.numDeletedRows > 0n;
}

/** Replaces every recovery code of a user with these (hashed). */
export async function replaceRecoveryCodes(db: Executor, userId: string, hashes: string[], now: string): Promise<void> {
  await db.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
  await db
    .insertInto('mfa_recovery_codes')
    .values(hashes.map((code_hash) => ({ id: newId(), user_id: userId, code_hash, used_at: null, created_at: now })))
    .execute();
}

/** Uses up a recovery code: one conditional UPDATE, so a code works once even when sent twice at once. */
export async function claimRecoveryCode(db: Executor, userId: string, codeHash: string, now: string): Promise<boolean> {
  const result = await db
    .updateTable('mfa_recovery_codes')
    .set({ used_at: now })
    .where('user_id', '=', userId)
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Unused recovery codes left. */
export async function countRecoveryCodes(db: Executor, userId: string): Promise<number> {
  const row = await db
    .selectFrom('mfa_recovery_codes')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Stores the single-use token between the password and the second factor. */
export async function insertMfaChallenge(db: Executor, row: Omit<MfaChallengesTable, 'failures' | 'used_at'>): Promise<void> {
  await db
    .insertInto('mfa_challenges')
    .values({ ...row, failures: 0, used_at: null })
    .execute();
}

/** A live challenge (unused, unexpired, fewer than `maxFailures` wrong codes). */
export function findLiveMfaChallenge(db: Executor, tokenHash: string, now: string, maxFailures: number) {
  return db
    .selectFrom('mfa_challenges')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .where('failures', '<', maxFailures)
    .executeTakeFirst();
}

/**
 * Reserves one code check on a challenge before the code is checked: at most `maxFailures`
 * checks ever run for one token, however many requests carry it at once.
 */
export async function reserveMfaCheck(db: Executor, tokenHash: string, now: string, maxFailures: number): Promise<boolean> {
  const result = await db
    .updateTable('mfa_challenges')
    .set({ failures: sql<number>`failures + 1` })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .where('failures', '<', maxFailures)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Uses the challenge up (the right code): the reserved check is given back, the token dies. */
export async function claimMfaChallenge(db: Executor, tokenHash: string, now: string): Promise<boolean> {
  const result = await db
    .updateTable('mfa_challenges')
    .set({ used_at: now, failures: sql<number>`failures - 1` })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Deletes challenges that expired before `now`. */
export async function sweepMfaChallenges(db: Executor, now: string): Promise<void> {
  await db.deleteFrom('mfa_challenges').where('expires_at', '<', now).execute();
}
