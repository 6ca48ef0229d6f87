import type { Kysely } from 'kysely';
import type { DB } from '../../db/database.js';
import { notFound } from '../../errors.js';
import { newId, nowIso } from '../../lib/ids.js';
import { DEFAULT_PAGE_SIZE, decodeCursor, type Page, toPage } from '../../lib/pagination.js';
import type { Actor } from '../users/users.service.js';
import * as repo from './bucketlists.repository.js';
import type {
  Bucketlist,
  CreateBucketlistBody,
  CreateItemBody,
  Item,
  ListBucketlistsQuery,
  ListItemsQuery,
  PatchBucketlistBody,
  PatchItemBody,
} from './bucketlists.schemas.js';

/** The public view of a bucketlist row (drivers return COUNT as number, string or bigint). */
export function toBucketlist(row: repo.BucketlistRow): Bucketlist {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    owner_id: row.owner_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
    item_count: Number(row.item_count),
  };
}

/** The public view of an item row. */
export function toItem(row: repo.ItemRow): Item {
  return {
    id: row.id,
    bucketlist_id: row.bucketlist_id,
    title: row.title,
    done: row.done === 1,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

// One answer for "missing" and "someone else's", so ids of private lists cannot be probed.
const noSuchBucketlist = () => notFound('No such bucketlist.');
const noSuchItem = () => notFound('No such item.');

/** Private bucketlists and their items: the owner's, or any for an admin. */
export function createBucketlistsService(db: Kysely<DB>) {
  const scopeOf = (actor: Actor): repo.OwnerScope => ({ ownerId: actor.role === 'admin' ? null : actor.id });

  async function accessible(actor: Actor, id: string): Promise<repo.BucketlistRow> {
    const row = await repo.findBucketlistForOwner(db, id, scopeOf(actor));
    if (!row) throw noSuchBucketlist();
    return row;
  }

  async function listBucketlists(actor: Actor, query: ListBucketlistsQuery): Promise<Page<Bucketlist>> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    // Only the caller's own, admins included: "any" access is by id, not a global listing.
    const rows = await repo.listBucketlistsForOwner(db, actor.id, { q: query.q, limit, cursor: decodeCursor(query.cursor) });
    return toPage(rows, limit, toBucketlist);
  }

  async function createBucketlist(actor: Actor, input: CreateBucketlistBody): Promise<Bucketlist> {
    const now = nowIso();
    const row = {
      id: newId(),
      name: input.name,
      description: input.description ?? null,
      owner_id: actor.id,
      created_at: now,
      updated_at: now,
    };
    await repo.insertBucketlist(db, row);
    return toBucketlist({ ...row, item_count: 0 });
  }

  async function getBucketlist(actor: Actor, id: string): Promise<Bucketlist> {
    return toBucketlist(await accessible(actor, id));
  }

  async function updateBucketlist(actor: Actor, id: string, patch: PatchBucketlistBody): Promise<Bucketlist> {
    const changed = await repo.updateBucketlistForOwner(db, id, scopeOf(actor), {
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.description !== undefined && { description: patch.description }),
      updated_at: nowIso(),
    });
    if (!changed) throw noSuchBucketlist();
    return getBucketlist(actor, id);
  }

  async function deleteBucketlist(actor: Actor, id: string): Promise<void> {
    if (!(await repo.deleteBucketlistForOwner(db, id, scopeOf(actor)))) throw noSuchBucketlist();
  }

  async function listItems(actor: Actor, id: string, query: ListItemsQuery): Promise<Page<Item>> {
    await accessible(actor, id);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    return toPage(await repo.listItems(db, id, { limit, cursor: decodeCursor(query.cursor) }), limit, toItem);
  }

  async function createItem(actor: Actor, id: string, input: CreateItemBody): Promise<Item> {
    await accessible(actor, id);
    const now = nowIso();
    const row = { id: newId(), bucketlist_id: id, title: input.title, done: input.done ? 1 : 0, created_at: now, updated_at: now };
    await repo.insertItem(db, row);
    return toItem(row);
  }

  async function updateItem(actor: Actor, id: string, itemId: string, patch: PatchItemBody): Promise<Item> {
    await accessible(actor, id);
    const changed = await repo.updateItem(db, id, itemId, {
      ...(patch.title !== undefined && { title: patch.title }),
      ...(patch.done !== undefined && { done: patch.done ? 1 : 0 }),
      updated_at: nowIso(),
    });
    const row = changed ? await repo.findItem(db, id, itemId) : undefined;
    if (!row) throw noSuchItem();
    return toItem(row);
  }

  async function deleteItem(actor: Actor, id: string, itemId: string): Promise<void> {
    await accessible(actor, id);
    if (!(await repo.deleteItem(db, id, itemId))) throw noSuchItem();
  }

  return {
    listBucketlists,
    createBucketlist,
    getBucketlist,
    updateBucketlist,
    deleteBucketlist,
    listItems,
    createItem,
    updateItem,
    deleteItem,
  };
}

export type BucketlistsService = ReturnType<typeof createBucketlistsService>;
