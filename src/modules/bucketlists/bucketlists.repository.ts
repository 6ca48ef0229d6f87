import { type Insertable, sql, type Updateable } from 'kysely';
import type { BucketlistItemsTable, BucketlistsTable } from '../../db/database.js';
import type { Executor } from '../../db/executor.js';
import {
  afterCursor,
  containsAnyInsensitive,
  type SearchableTable,
  scanInSlices,
  sliceEndAlong,
  throughCursor,
  withoutIndex,
} from '../../db/sql-helpers.js';
import type { Cursor } from '../../lib/pagination.js';

export type BucketlistRow = BucketlistsTable & { item_count: number | string | bigint };
export type ItemRow = BucketlistItemsTable;

/**
 * Who may see a bucketlist: its owner, or anyone when `ownerId` is null (an admin).
 * Ownership is part of every query, so another user's list is indistinguishable from none.
 */
export type OwnerScope = { ownerId: string | null };

function bucketlistsWithCount(db: Executor) {
  // item_count by a correlated COUNT on the (bucketlist_id, …) index: one query, no N+1.
  return db
    .selectFrom('bucketlists')
    .selectAll('bucketlists')
    .select((eb) =>
      eb
        .selectFrom('bucketlist_items')
        .select((e) => e.fn.countAll<number>().as('n'))
        .whereRef('bucketlist_items.bucketlist_id', '=', 'bucketlists.id')
        .as('item_count'),
    );
}

/** A bucketlist by id, within the caller's scope. */
export function findBucketlistForOwner(db: Executor, id: string, scope: OwnerScope): Promise<BucketlistRow | undefined> {
  let query = bucketlistsWithCount(db).where('bucketlists.id', '=', id);
  if (scope.ownerId !== null) query = query.where('bucketlists.owner_id', '=', scope.ownerId);
  return query.executeTakeFirst() as Promise<BucketlistRow | undefined>;
}

const BUCKETLISTS_SEARCH: SearchableTable = { table: 'bucketlists', searchTable: 'bucketlists_search', columns: ['name'] };

/** The caller's own bucketlists, a keyset page; `q` matches the name. */
export async function listBucketlistsForOwner(
  db: Executor,
  ownerId: string,
  options: { q?: string; limit: number; cursor: Cursor | null },
): Promise<BucketlistRow[]> {
  const search = options.q ? await containsAnyInsensitive(db, BUCKETLISTS_SEARCH, options.q) : null;
  const owner = search?.byCandidates ? withoutIndex('bucketlists.owner_id') : sql.ref('bucketlists.owner_id');
  const keys = (after: Cursor | null, through?: Cursor) => {
    let query = db.selectFrom('bucketlists').where(owner, '=', ownerId);
    if (after) query = query.where(afterCursor('bucketlists', after));
    if (through) query = query.where(throughCursor('bucketlists', through));
    return query.orderBy('bucketlists.created_at').orderBy('bucketlists.id');
  };
  const page = (after: Cursor | null, through: Cursor | undefined, want: number) => {
    let query = bucketlistsWithCount(db).where(owner, '=', ownerId);
    if (search) query = query.where(search.where);
    if (after) query = query.where(afterCursor('bucketlists', after));
    if (through) query = query.where(throughCursor('bucketlists', through));
    return query.orderBy('bucketlists.created_at').orderBy('bucketlists.id').limit(want).execute() as Promise<BucketlistRow[]>;
  };
  if (!search?.walksIndex) return page(options.cursor, undefined, options.limit + 1);
  return scanInSlices(options.limit, options.cursor, sliceEndAlong(keys), page);
}

/** Inserts a bucketlist. */
export async function insertBucketlist(db: Executor, row: Insertable<BucketlistsTable>): Promise<void> {
  await db.insertInto('bucketlists').values(row).execute();
}

/** Updates a bucketlist within scope; false if nothing matched. */
export async function updateBucketlistForOwner(
  db: Executor,
  id: string,
  scope: OwnerScope,
  patch: Updateable<BucketlistsTable>,
): Promise<boolean> {
  let query = db.updateTable('bucketlists').set(patch).where('id', '=', id);
  if (scope.ownerId !== null) query = query.where('owner_id', '=', scope.ownerId);
  const result = await query.executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Deletes a bucketlist (its items go by ON DELETE CASCADE) within scope; false if nothing matched. */
export async function deleteBucketlistForOwner(db: Executor, id: string, scope: OwnerScope): Promise<boolean> {
  let query = db.deleteFrom('bucketlists').where('id', '=', id);
  if (scope.ownerId !== null) query = query.where('owner_id', '=', scope.ownerId);
  const result = await query.executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** An item of a bucketlist (the bucketlist's scope is checked by the caller first). */
export function findItem(db: Executor, bucketlistId: string, itemId: string): Promise<ItemRow | undefined> {
  return db
    .selectFrom('bucketlist_items')
    .selectAll()
    .where('id', '=', itemId)
    .where('bucketlist_id', '=', bucketlistId)
    .executeTakeFirst();
}

/** A keyset page of a bucketlist's items. */
export function listItems(db: Executor, bucketlistId: string, options: { limit: number; cursor: Cursor | null }): Promise<ItemRow[]> {
  let query = db.selectFrom('bucketlist_items').selectAll().where('bucketlist_id', '=', bucketlistId);
  if (options.cursor) query = query.where(afterCursor('bucketlist_items', options.cursor));
  return query
    .orderBy('created_at')
    .orderBy('id')
    .limit(options.limit + 1)
    .execute();
}

/** Inserts an item. */
export async function insertItem(db: Executor, row: Insertable<BucketlistItemsTable>): Promise<void> {
  await db.insertInto('bucketlist_items').values(row).execute();
}

/** Updates an item of a bucketlist; false if nothing matched. */
export async function updateItem(
  db: Executor,
  bucketlistId: string,
  itemId: string,
  patch: Updateable<BucketlistItemsTable>,
): Promise<boolean> {
  const result = await db
    .updateTable('bucketlist_items')
    .set(patch)
    .where('id', '=', itemId)
    .where('bucketlist_id', '=', bucketlistId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Deletes an item of a bucketlist; false if nothing matched. */
export async function deleteItem(db: Executor, bucketlistId: string, itemId: string): Promise<boolean> {
  const result = await db
    .deleteFrom('bucketlist_items')
    .where('id', '=', itemId)
    .where('bucketlist_id', '=', bucketlistId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
