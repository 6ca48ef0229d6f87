import type { Kysely } from 'kysely';
import type { DB } from '../../db/database.js';
import type { ClientInfo } from '../../lib/client-info.js';
import { nowIso } from '../../lib/ids.js';
import type { AccountMail } from '../auth/account-mail.js';
import { recordEvent } from '../events/events.repository.js';
import * as repo from './mfa.repository.js';
import { hashRecoveryCode } from './recovery-codes.js';
import { matchTotpStep, openTotpSecret } from './totp.js';

export interface SecondFactorProof {
  code?: string;
  recovery_code?: string;
}

export type SecondFactorMethod = 'totp' | 'recovery_code';

/**
 * The one place a second factor is checked, whichever route asks (the second sign-in step,
 * reauthentication): a TOTP code is accepted once (its step must be later than the last one
 * used, claimed atomically), a recovery code is used up atomically and reported to the owner.
 * Throttling is the caller's: it reserves an attempt before calling.
 */
export function createSecondFactor(deps: { db: Kysely<DB>; encryptionKey: string; accountMail: AccountMail }) {
  const { db, encryptionKey, accountMail } = deps;

  async function check(
    user: { id: string; email: string },
    proof: SecondFactorProof,
    client: ClientInfo,
    sessionId: string | null = null,
  ): Promise<SecondFactorMethod | null> {
    if (proof.code !== undefined) {
      const totp = await repo.findTotp(db, user.id);
      if (!totp || totp.confirmed_at === null) return null;
      const step = matchTotpStep(openTotpSecret(totp.secret, encryptionKey, user.id), proof.code.trim());
      if (step === null) return null;
      return (await repo.claimTotpStep(db, user.id, step)) ? 'totp' : null;
    }
    if (proof.recovery_code !== undefined) {
      const hash = hashRecoveryCode(proof.recovery_code);
      const left = await db.transaction().execute(async (trx) => {
        if (!(await repo.claimRecoveryCode(trx, user.id, hash, nowIso()))) return null;
        const remaining = await repo.countRecoveryCodes(trx, user.id);
        await recordEvent(trx, { type: 'recovery_code.used', userId: user.id, sessionId, client, data: { remaining } });
        return remaining;
      });
      if (left === null) return null;
      accountMail.sendRecoveryCodeUsed(user.email, left);
      return 'recovery_code';
    }
    return null;
  }

  /** Whether the user has TOTP on (the gate for asking a second factor at all). */
  async function isEnabled(userId: string): Promise<boolean> {
    const totp = await repo.findTotp(db, userId);
    return totp?.confirmed_at != null;
  }

  return { check, isEnabled };
}

export type SecondFactor = ReturnType<typeof createSecondFactor>;
