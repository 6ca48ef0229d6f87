import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/lib/pagination.js';
import { retireAccountTokens } from '../../src/modules/auth/auth.repository.js';
import { listBooks } from '../../src/modules/books/books.repository.js';
import { findBucketlistForOwner, listBucketlistsForOwner, listItems } from '../../src/modules/bucketlists/bucketlists.repository.js';
import { listUsers } from '../../src/modules/users/users.repository.js';
import { createTestApp, type TestContext } from '../helpers/app.js';

// Every list and lookup path must be answered from an index: no full scans, no temp B-tree sorts.

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
  await sql`analyze`.execute(ctx.db);
});
afterAll(async () => ctx.close());

const cursor = decodeCursor(encodeCursor({ createdAt: '2026-01-01T00:00:00.000Z', id: '01900000-0000-7000-8000-000000000000' }));
const id = '01900000-0000-7000-8000-000000000000';

/** Runs EXPLAIN QUERY PLAN for a Kysely query through the same connection. */
async function explain(query: { compile(): { sql: string; parameters: readonly unknown[] } }): Promise<string> {
  const compiled = query.compile();
  // Same SQL and parameters as the repository would send, prefixed with EXPLAIN QUERY PLAN.
  const result = await ctx.db.executeQuery<{ detail: string }>({ ...compiled, sql: `explain query plan ${compiled.sql}` } as never);
  return result.rows.map((r) => r.detail).join('\n');
}

/** Captures the query a repository function would run, without running it. */
function capture(fn: (db: typeof ctx.db) => Promise<unknown>) {
  let captured: { compile(): { sql: string; parameters: readonly unknown[] } } | undefined;
  const proxy = new Proxy(ctx.db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => wrap(value.apply(target, args));
    },
  });
  function wrap(builder: unknown): unknown {
    if (!builder || typeof builder !== 'object' || !('compile' in builder)) return builder;
    return new Proxy(builder as object, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === 'execute' || prop === 'executeTakeFirst' || prop === 'executeTakeFirstOrThrow') {
          return async () => {
            captured = target as never;
            return prop === 'execute' ? [] : undefined;
          };
        }
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => wrap(value.apply(target, args));
      },
    });
  }
  return async () => {
    await fn(proxy as typeof ctx.db);
    if (!captured) throw new Error('no query captured');
    return explain(captured);
  };
}

describe('query plans (SQLite EXPLAIN QUERY PLAN)', () => {
  it.each([
    ['books page', (db: TestContext['db']) => listBooks(db, { limit: 20, cursor }), 'books_created_at_id_idx'],
    ['books by author', (db: TestContext['db']) => listBooks(db, { author: 'A', limit: 20, cursor }), 'books_author_created_at_id_idx'],
    ['users page', (db: TestContext['db']) => listUsers(db, { limit: 20, cursor }), 'users_created_at_id_idx'],
    [
      "owner's bucketlists",
      (db: TestContext['db']) => listBucketlistsForOwner(db, id, { limit: 20, cursor }),
      'bucketlists_owner_created_at_id_idx',
    ],
    [
      'items of a bucketlist',
      (db: TestContext['db']) => listItems(db, id, { limit: 20, cursor }),
      'bucketlist_items_list_created_at_id_idx',
    ],
    [
      'bucketlist by id for owner (with item_count)',
      (db: TestContext['db']) => findBucketlistForOwner(db, id, { ownerId: id }),
      'bucketlist_items_list_created_at_id_idx',
    ],
    [
      "a user's outstanding reset tokens (retired on reset)",
      (db: TestContext['db']) => retireAccountTokens(db, id, 'password_reset', '2026-01-01T00:00:00.000Z'),
      'account_tokens_user_purpose_idx',
    ],
  ])('%s uses an index and no temp sort', async (_label, fn, index) => {
    const detail = await capture(fn)();
    expect(detail).toContain(index);
    expect(detail).not.toMatch(/USE TEMP B-TREE/);
    expect(detail).not.toMatch(/^SCAN (books|users|bucketlists|bucketlist_items|account_tokens)$/m);
  });
});
