import type { Kysely } from 'kysely';
import type { DB } from '../../db/database.js';
import { AppError, forbidden, notFound, UniqueViolation, validationFailed } from '../../errors.js';
import type { ClientInfo } from '../../lib/client-info.js';
import { newId, nowIso } from '../../lib/ids.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, type Page, toPage } from '../../lib/pagination.js';
import { hashPassword, passwordProblem } from '../../lib/passwords.js';
import { requireRecentAuthentication } from '../../lib/step-up.js';
import type { AccountMail, PendingMail } from '../auth/account-mail.js';
import { revokeUserSessions } from '../auth/auth.repository.js';
import { recordEvent } from '../events/events.repository.js';
import * as repo from './users.repository.js';
import type { ListUsersQuery, PatchUserBody, User } from './users.schemas.js';

/** Who is asking: set by authentication from the database, never from token claims. */
export interface Actor {
  id: string;
  role: 'user' | 'admin';
  sessionId: string;
  /** When the session last proved a credential (token `auth_time`, seconds; 0: unknown). */
  authTime: number;
}

/** The public view of a user row (no hash, booleans as booleans). */
export function toUser(row: repo.UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    disabled: row.disabled === 1,
    email_verified: row.email_verified === 1,
    mfa_enabled: row.mfa_enabled === 1,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export const emailTaken = () => new AppError('EMAIL_TAKEN', 'That email address is already registered.');
/** Throws VALIDATION_FAILED (at `/field`) when a new password breaks the policy. */
export function checkNewPassword(password: string, field: string, email?: string): void {
  const problem = passwordProblem(password, { email });
  if (problem) throw validationFailed('The password does not meet the policy.', [{ path: `/${field}`, message: problem }]);
}

function newUserRow(
  input: { email: string; name?: string | null },
  passwordHash: string,
  role: Actor['role'],
  verified: boolean,
  now: string,
): repo.UserRow {
  return {
    id: newId(),
    email: input.email,
    name: input.name ?? null,
    password_hash: passwordHash,
    role,
    disabled: 0,
    email_verified: verified ? 1 : 0,
    credential_version: 0,
    mfa_enabled: 0,
    created_at: now,
    updated_at: now,
  };
}

const lastAdmin = () => new AppError('LAST_ADMIN', 'This would leave the service without an active admin.');

export interface UsersServiceDeps {
  /** Mails verification links on sign-up and email change; without it (the CLI) nothing is mailed. */
  accountMail?: AccountMail;
  /** REAUTH_MAX_AGE: changing one's own email and deleting one's own account need a sign-in this recent. */
  reauthMaxAgeSeconds?: number;
}

/** Who made a change through the API; the CLI changes nothing through here. */
const NO_CLIENT: ClientInfo = { ip: '', userAgent: null };

/** User administration rules: self-vs-admin access, email uniqueness and LAST_ADMIN. */
export function createUsersService(db: Kysely<DB>, deps: UsersServiceDeps = {}) {
  const { accountMail, reauthMaxAgeSeconds = 600 } = deps;
  const isAdmin = (actor: Actor) => actor.role === 'admin';

  /**
   * Creates an account; the API only creates "user"s, the CLI may create an admin. Unless it is
   * created verified (by the operator), a verification link is mailed once the row is committed.
   */
  async function createUser(
    input: { email: string; password: string; name?: string | null },
    role: Actor['role'] = 'user',
    options: { emailVerified?: boolean } = {},
  ): Promise<User> {
    checkNewPassword(input.password, 'password', input.email);
    // Cheap pre-check so a taken email costs no Argon2 hash; the unique index decides races.
    if (await repo.findUserByEmail(db, input.email)) throw emailTaken();
    // Hashed before the transaction: a SQLite write lock must not wait on Argon2.
    const passwordHash = await hashPassword(input.password);
    const now = nowIso();
    const verified = options.emailVerified === true;
    try {
      const { row, mail } = await db.transaction().execute(async (trx) => {
        const inserted = await repo.insertUser(trx, newUserRow(input, passwordHash, role, verified, now));
        const pending = !verified && accountMail ? await accountMail.prepareEmailVerification(trx, inserted.id, inserted.email) : null;
        return { row: inserted, mail: pending };
      });
      mail?.();
      return toUser(row);
    } catch (err) {
      if (err instanceof UniqueViolation) throw emailTaken();
      throw err;
    }
  }

  /**
   * Creates an account without telling whether the address was taken: no cheap pre-check, the
   * password is hashed either way and the unique index decides. For enumeration-safe sign-up.
   */
  async function createUserQuietly(input: { email: string; password: string; name?: string | null }): Promise<'created' | 'taken'> {
    checkNewPassword(input.password, 'password', input.email);
    const passwordHash = await hashPassword(input.password);
    const now = nowIso();
    try {
      const mail = await db.transaction().execute(async (trx) => {
        const inserted = await repo.insertUser(trx, newUserRow(input, passwordHash, 'user', false, now));
        return accountMail ? accountMail.prepareEmailVerification(trx, inserted.id, inserted.email) : null;
      });
      mail?.();
      return 'created';
    } catch (err) {
      if (err instanceof UniqueViolation) return 'taken';
      throw err;
    }
  }

  /** Self or admin; anyone else gets 403 whether or not the id exists. */
  async function getUser(actor: Actor, id: string): Promise<User> {
    if (actor.id !== id && !isAdmin(actor)) throw forbidden('You can only view your own account.');
    const row = await repo.findUserById(db, id);
    if (!row) throw notFound('No such user.');
    return toUser(row);
  }

  async function listUsers(query: ListUsersQuery): Promise<Page<User>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const rows = await repo.listUsers(db, { q: query.q, limit, cursor: decodeCursor(query.cursor) });
    return toPage(rows, limit, toUser);
  }

  async function updateUser(actor: Actor, id: string, patch: PatchUserBody, client: ClientInfo = NO_CLIENT): Promise<User> {
    if (actor.id !== id && !isAdmin(actor)) throw forbidden('You can only change your own account.');
    if (!isAdmin(actor) && (patch.role !== undefined || patch.disabled !== undefined)) {
      throw forbidden('Only an admin can change a role or disable an account.');
    }
    // Taking over an account starts with moving its email: one's own needs a recent sign-in.
    // (An admin changing someone else's is an admin action, recorded with the admin as actor.)
    if (actor.id === id && patch.email !== undefined) requireRecentAuthentication(actor.authTime, reauthMaxAgeSeconds);
    try {
      // One transaction, so the LAST_ADMIN count and the change cannot interleave with another.
      const { user, mails } = await db.transaction().execute(async (trx) => {
        const current = await repo.findUserById(trx, id);
        if (!current) throw notFound('No such user.');
        const losesAdmin = current.role === 'admin' && current.disabled === 0 && (patch.role === 'user' || patch.disabled === true);
        if (losesAdmin && (await repo.countOtherActiveAdmins(trx, id)) === 0) throw lastAdmin();
        const now = nowIso();
        // A new address is unproven until its owner follows the link mailed to it.
        const emailChanges = patch.email !== undefined && patch.email !== current.email;
        const updated = await repo.updateUser(trx, id, {
          ...(patch.name !== undefined && { name: patch.name }),
          ...(emailChanges && { email: patch.email, email_verified: 0 }),
          ...(patch.role !== undefined && { role: patch.role }),
          ...(patch.disabled !== undefined && { disabled: patch.disabled ? 1 : 0 }),
          updated_at: now,
        });
        if (!updated) throw notFound('No such user.');
        // A disabled account is refused on every request anyway; revoking its sessions also
        // means re-enabling it does not bring old refresh tokens back to life.
        // Bumping the credential version also ends sessions that sign-ins still checking the
        // password create after this commit (see insertSessionForCredential).
        if (patch.disabled === true && current.disabled === 0) {
          await repo.bumpCredentialVersion(trx, id);
          await revokeUserSessions(trx, id, 'user_disabled', now);
        }
        const event = { userId: id, actorId: actor.id === id ? null : actor.id, sessionId: actor.sessionId, client };
        if (emailChanges) await recordEvent(trx, { ...event, type: 'email.changed', data: {} });
        if (patch.role !== undefined && patch.role !== current.role) {
          await recordEvent(trx, { ...event, type: 'user.role_changed', data: { from: current.role, role: patch.role } });
        }
        if (patch.disabled !== undefined && (patch.disabled ? 1 : 0) !== current.disabled) {
          await recordEvent(trx, { ...event, type: patch.disabled ? 'user.disabled' : 'user.enabled', data: {} });
        }
        const pending: PendingMail[] = [];
        if (emailChanges && accountMail) {
          pending.push(await accountMail.prepareEmailVerification(trx, id, updated.email));
          pending.push(() => accountMail.sendEmailChanged(current.email, updated.email));
        }
        return { user: toUser(updated), mails: pending };
      });
      for (const send of mails) send();
      return user;
    } catch (err) {
      if (err instanceof UniqueViolation) throw emailTaken();
      throw err;
    }
  }

  async function deleteUser(actor: Actor, id: string, client: ClientInfo = NO_CLIENT): Promise<void> {
    if (actor.id !== id && !isAdmin(actor)) throw forbidden('You can only delete your own account.');
    if (actor.id === id) requireRecentAuthentication(actor.authTime, reauthMaxAgeSeconds);
    await db.transaction().execute(async (trx) => {
      const current = await repo.findUserById(trx, id);
      if (!current) throw notFound('No such user.');
      if (current.role === 'admin' && current.disabled === 0 && (await repo.countOtherActiveAdmins(trx, id)) === 0) {
        throw lastAdmin();
      }
      await repo.deleteUser(trx, id);
      // Kept after the account is gone (events have no foreign key): the trace of who deleted it.
      await recordEvent(trx, {
        type: 'user.deleted',
        userId: id,
        actorId: actor.id === id ? null : actor.id,
        sessionId: actor.id === id ? null : actor.sessionId,
        client,
        data: {},
      });
    });
  }

  return { createUser, createUserQuietly, getUser, listUsers, updateUser, deleteUser };
}

export type UsersService = ReturnType<typeof createUsersService>;
