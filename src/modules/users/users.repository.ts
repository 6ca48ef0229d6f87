import { sql, type Updateable } from 'kysely';
import type { UsersTable } from '../../db/database.js';
import { isPostgres } from '../../db/dialect.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { Executor } from '../../db/executor.js';
import {
  afterCursor,
  containsAnyInsensitive,
  type SearchableTable,
  scanInSlices,
  sliceEndAlong,
  throughCursor,
} from '../../db/sql-helpers.js';
import { UniqueViolation } from '../../errors.js';
import type { Cursor } from '../../lib/pagination.js';

export type UserRow = UsersTable;

/** Finds a user by id. */
export function findUserById(db: Executor, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Finds a user by normalised (lower-case) email. */
export function findUserByEmail(db: Executor, email: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
}

/** Inserts a user; a taken email raises UniqueViolation('users.email'). */
export async function insertUser(db: Executor, row: UserRow): Promise<UserRow> {
  try {
    await db.insertInto('users').values(row).execute();
    return row;
  } catch (err) {
    if (isUniqueViolation(err)) throw new UniqueViolation('users.email');
    throw err;
  }
}

/** Updates a user and returns the new row (undefined if it no longer exists). */
export async function updateUser(db: Executor, id: string, patch: Updateable<UsersTable>): Promise<UserRow | undefined> {
  try {
    await db.updateTable('users').set(patch).where('id', '=', id).execute();
  } catch (err) {
    if (isUniqueViolation(err)) throw new UniqueViolation('users.email');
    throw err;
  }
  return findUserById(db, id);
}

/**
 * Ends every session of the user at once, on every instance: the sessions' recorded version no
 * longer matches (see the credential-version migration). With `expected`, only if the version is
 * still the one the caller checked the password against: false means another change came first.
 */
export async function bumpCredentialVersion(db: Executor, id: string, expected?: number): Promise<boolean> {
  let query = db.updateTable('users').set({ credential_version: sql<number>`credential_version + 1` }).where('id', '=', id);
  if (expected !== undefined) query = query.where('credential_version', '=', expected);
  const result = await query.executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Deletes a user; sessions (and owned rows) go with it through ON DELETE CASCADE. */
export async function deleteUser(db: Executor, id: string): Promise<boolean> {
  const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Active admins other than `exceptId`: the LAST_ADMIN rule counts these. Call inside the
 * transaction that changes the admin. On PostgreSQL the admin rows are locked (FOR UPDATE):
 * under READ COMMITTED two concurrent demotions would otherwise each still see the other admin
 * and both succeed. SQLite already serialises writing transactions.
 */
export async function countOtherActiveAdmins(db: Executor, exceptId: string): Promise<number> {
  let query = db.selectFrom('users').select('id').where('role', '=', 'admin').where('disabled', '=', 0);
  if (isPostgres(db)) query = query.forUpdate();
  const admins = await query.execute();
  return admins.filter((admin) => admin.id !== exceptId).length;
}

const USERS_SEARCH: SearchableTable = { table: 'users', searchTable: 'users_search', columns: ['email', 'name'] };

/** A keyset page of users ordered by (created_at, id); `q` matches email or name; `limit + 1` rows signal a next page. */
export async function listUsers(db: Executor, options: { q?: string; limit: number; cursor: Cursor | null }): Promise<UserRow[]> {
  const search = options.q ? await containsAnyInsensitive(db, USERS_SEARCH, options.q) : null;
  const range = (after: Cursor | null, through?: Cursor) => {
    let query = db.selectFrom('users');
    if (after) query = query.where(afterCursor('users', after));
    if (through) query = query.where(throughCursor('users', through));
    return query.orderBy('created_at').orderBy('id');
  };
  const page = (after: Cursor | null, through: Cursor | undefined, want: number) => {
    const query = range(after, through).selectAll();
    return (search ? query.where(search.where) : query).limit(want).execute();
  };
  if (!search?.walksIndex) return page(options.cursor, undefined, options.limit + 1);
  return scanInSlices(options.limit, options.cursor, sliceEndAlong(range), page);
}
