import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/lib/pagination.js';
import { retireAccountTokens } from '../../src/modules/auth/auth.repository.js';
import { bookWithSessionCheckQuery, listBooks } from '../../src/modules/books/books.repository.js';
import { findBucketlistForOwner, listBucketlistsForOwner, listItems } from '../../src/modules/bucketlists/bucketlists.repository.js';
import { listUsers } from '../../src/modules/users/users.repository.js';
import { createTestApp, TEST_DB, type TestContext } from '../helpers/app.js';

// Every list and lookup path must be answered from an index: no full scans, no temp B-tree sorts.
// Searches (?q=) included: no request may hold the event loop (SQLite) or a connection
// (PostgreSQL) for a read of every row. This file runs on both databases (vitest.config.ts).

let ctx: TestContext;
let ownerId: string;
beforeAll(async () => {
  ctx = await createTestApp();
  if (TEST_DB === 'postgres') {
    ownerId = await seedSearchRows(ctx);
    await sql`analyze`.execute(ctx.db);
  } else {
    await sql`analyze`.execute(ctx.db);
    // Seeded after ANALYZE: the search tests look at plans as the statistics of a young
    // database show them (the migration's tables, no stat rows for the searches yet).
    ownerId = await seedSearchRows(ctx);
  }
});
afterAll(async () => ctx.close());

const SEEDED = 20_000;

/**
 * SEEDED books, users and bucketlists (one owner) whose text all contains "common" and never
 * "quokka": the planner and the search both see a realistic mix of frequent and absent terms.
 */
async function seedSearchRows(context: TestContext): Promise<string> {
  const owner = '01900000-0000-7000-8000-00000000000a';
  const stamp = '2025-01-01T00:00:00.000Z';
  await context.db
    .insertInto('users')
    .values({
      id: owner,
      email: 'owner@example.com',
      name: 'Owner',
      password_hash: 'x',
      role: 'user',
      disabled: 0,
      email_verified: 1,
      credential_version: 0,
      mfa_enabled: 0,
      created_at: stamp,
      updated_at: stamp,
    })
    .execute();
  const pad = (i: number) => String(i).padStart(12, '0');
  for (let start = 0; start < SEEDED; start += 1000) {
    const range = Array.from({ length: 1000 }, (_, k) => start + k);
    const at = (i: number) => new Date(Date.parse(stamp) + i * 1000).toISOString();
    await context.db
      .insertInto('books')
      .values(
        range.map((i) => ({
          id: `01900000-0000-7000-8000-${pad(i)}`,
          title: `Common title ${i}`,
          author: `Author ${i % 500}`,
          created_at: at(i),
          updated_at: at(i),
        })),
      )
      .execute();
    await context.db
      .insertInto('users')
      .values(
        range.map((i) => ({
          id: `01900000-0000-7000-8001-${pad(i)}`,
          email: `common-${i}@example.com`,
          name: `Common ${i}`,
          password_hash: 'x',
          role: 'user' as const,
          disabled: 0,
          email_verified: 1,
          credential_version: 0,
          mfa_enabled: 0,
          created_at: at(i),
          updated_at: at(i),
        })),
      )
      .execute();
    await context.db
      .insertInto('bucketlists')
      .values(
        range.map((i) => ({
          id: `01900000-0000-7000-8002-${pad(i)}`,
          name: `Common list ${i}`,
          owner_id: owner,
          created_at: at(i),
          updated_at: at(i),
        })),
      )
      .execute();
  }
  return owner;
}

const cursor = decodeCursor(encodeCursor({ createdAt: '2024-06-01T00:00:00.000Z', id: '01900000-0000-7000-8000-000000000000' }));
const id = '01900000-0000-7000-8000-000000000000';

type Compiled = { sql: string; parameters: readonly unknown[] };

/** Runs EXPLAIN (QUERY PLAN on SQLite) for a compiled query through the same connection. */
async function explain(compiled: Compiled): Promise<string> {
  // Same SQL and parameters as the repository would send, prefixed with EXPLAIN.
  if (TEST_DB === 'postgres') {
    const result = await ctx.db.executeQuery<{ 'QUERY PLAN': string }>({ ...compiled, sql: `explain ${compiled.sql}` } as never);
    return result.rows.map((r) => r['QUERY PLAN']).join('\n');
  }
  const result = await ctx.db.executeQuery<{ detail: string }>({ ...compiled, sql: `explain query plan ${compiled.sql}` } as never);
  return result.rows.map((r) => r.detail).join('\n');
}

/**
 * Captures the statements a repository function runs: query builder statements are explained
 * instead of run (they answer no rows, so a search walked in slices stops after its first);
 * raw statements (a search's candidate count) run and are explained too. Returns every plan, in
 * order, the page's last.
 */
function capture(fn: (db: typeof ctx.db) => Promise<unknown>) {
  const statements: Compiled[] = [];
  const proxy = new Proxy(ctx.db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === 'getExecutor') return () => recording(target.getExecutor());
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => wrap(value.apply(target, args));
    },
  });
  // A raw `sql` statement runs through the executor: note what it ran.
  function recording(executor: ReturnType<typeof ctx.db.getExecutor>) {
    return new Proxy(executor, {
      get(target, prop) {
        // Read on the executor itself: its getters use private fields.
        const value = Reflect.get(target, prop);
        if (typeof value !== 'function') return value;
        if (prop !== 'executeQuery') return value.bind(target);
        return (query: Compiled, ...rest: unknown[]) => {
          statements.push(query);
          return value.apply(target, [query, ...rest]);
        };
      },
    });
  }
  function wrap(builder: unknown): unknown {
    if (!builder || typeof builder !== 'object' || !('compile' in builder)) return builder;
    return new Proxy(builder as object, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === 'execute' || prop === 'executeTakeFirst' || prop === 'executeTakeFirstOrThrow') {
          return async () => {
            statements.push((target as { compile(): Compiled }).compile());
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
    if (statements.length === 0) throw new Error('no query captured');
    const plans: string[] = [];
    for (const statement of statements) plans.push(await explain(statement));
    return plans;
  };
}

// A full read of a table: SQLite's plan names the table with no index; PostgreSQL's a Seq Scan.
const FULL_SCAN =
  /^SCAN (books|users|bucketlists|bucketlist_items|account_tokens)$|Seq Scan on (books|users|bucketlists|bucketlist_items|account_tokens)\b/m;
// A sort of the result rows: the list must come in index order instead.
const SORT = TEST_DB === 'postgres' ? /\bSort\b/ : /USE TEMP B-TREE/;

describe(`query plans (${TEST_DB === 'postgres' ? 'PostgreSQL EXPLAIN, enable_seqscan off' : 'SQLite EXPLAIN QUERY PLAN'})`, () => {
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
    // On PostgreSQL with seq scans priced out: these tables are nearly empty here, where a
    // scan is cheapest; what matters is that an index can answer in order.
    const [detail] = await withSeqScanOff(() => capture(fn)());
    expect(detail).toContain(index);
    expect(detail).not.toMatch(SORT);
    expect(detail).not.toMatch(FULL_SCAN);
  });
});

describe(`the authenticated read of a book, one statement (${TEST_DB})`, () => {
  it('looks up the session, its user and the book each by primary key', async () => {
    // Sessions of the seeded owner, so that the planner sees a table of some size (an empty
    // one is answered from any index that holds the id).
    const stamp = '2025-01-01T00:00:00.000Z';
    const sessions = Array.from({ length: 2000 }, (_, i) => ({
      id: `01900000-0000-7000-8003-${String(i).padStart(12, '0')}`,
      user_id: ownerId,
      credential_version: 0,
      created_at: stamp,
      expires_at: stamp,
      last_used_at: stamp,
      auth_time: stamp,
      amr: '["pwd"]',
    }));
    await ctx.db.insertInto('sessions').values(sessions).execute();
    await sql`analyze sessions`.execute(ctx.db);
    const plan = await withSeqScanOff(() => explain(bookWithSessionCheckQuery(ctx.db, id, id).compile()));
    expect(plan).not.toMatch(FULL_SCAN);
    expect(plan).not.toMatch(/^SCAN sessions$|Seq Scan on sessions\b/m);
    if (TEST_DB === 'postgres') {
      for (const table of ['sessions', 'users', 'books'])
        expect(plan).toMatch(new RegExp(`Index (Only )?Scan using ${table}_pkey on ${table}\\b`));
    } else {
      for (const table of ['sessions', 'users', 'books']) expect(plan).toMatch(new RegExp(`SEARCH ${table} USING INDEX \\S+ \\(id=\\?\\)`));
    }
  });
});

/** On PostgreSQL, runs `fn` with enable_seqscan off for the session (the test pool has one connection in use at a time). */
async function withSeqScanOff<T>(fn: () => Promise<T>): Promise<T> {
  if (TEST_DB !== 'postgres') return fn();
  await sql`set enable_seqscan = off`.execute(ctx.db);
  try {
    return await fn();
  } finally {
    await sql`reset enable_seqscan`.execute(ctx.db);
  }
}

describe(`search plans over ${SEEDED} rows (${TEST_DB})`, () => {
  const books = (q: string) => (db: TestContext['db']) => listBooks(db, { q, limit: 20, cursor: null });
  const users = (q: string) => (db: TestContext['db']) => listUsers(db, { q, limit: 20, cursor: null });
  const lists = (q: string) => (db: TestContext['db']) => listBucketlistsForOwner(db, ownerId, { q, limit: 20, cursor: null });

  it.each([
    ['books', books, 'books', ['books_title_trgm_idx', 'books_author_trgm_idx']],
    ['users', users, 'users', ['users_email_trgm_idx', 'users_name_trgm_idx']],
    ['bucketlists', lists, 'bucketlists', ['bucketlists_name_trgm_idx']],
  ] as const)('a rare term in %s is looked up in the trigram index', async (_label, search, table, pgIndexes) => {
    // On PostgreSQL with seq scans priced out: at this size a scan of the heap is cheap, and the
    // planner prefers the GIN indexes only for larger tables (see the bench, npm run bench:scale).
    const plans = await withSeqScanOff(() => capture(search('"quokka* AND x'))());
    for (const plan of plans) expect(plan).not.toMatch(FULL_SCAN);
    const main = plans.at(-1) ?? '';
    if (TEST_DB === 'postgres') {
      for (const index of pgIndexes) expect(main).toContain(`Bitmap Index Scan on ${index}`);
    } else {
      // The candidate count, then the candidates by rowid; their sort is bounded by
      // SEARCH_CANDIDATE_LIMIT rows.
      expect(plans).toHaveLength(2);
      expect(plans[0]).toMatch(new RegExp(`SCAN ${table}_search VIRTUAL TABLE INDEX`));
      expect(main).toMatch(new RegExp(`SCAN ${table}_search VIRTUAL TABLE INDEX`));
      expect(main).toMatch(new RegExp(`SEARCH ${table} USING INTEGER PRIMARY KEY \\(rowid=\\?\\)`));
    }
  });

  it('a rare term with an author filter: the candidates drive the query, the author is checked on them', async () => {
    const plans = await withSeqScanOff(() =>
      capture((db) => listBooks(db, { q: 'quokka', author: 'Author 7', limit: 20, cursor: null }))(),
    );
    for (const plan of plans) expect(plan).not.toMatch(FULL_SCAN);
    if (TEST_DB === 'sqlite') {
      expect(plans.at(-1)).toMatch(/SEARCH books USING INTEGER PRIMARY KEY \(rowid=\?\)/);
      expect(plans.at(-1)).not.toContain('books_author_created_at_id_idx');
    }
  });

  it.each([
    ['books', books, 'books_created_at_id_idx'],
    ['users', users, 'users_created_at_id_idx'],
    ['bucketlists', lists, 'bucketlists_owner_created_at_id_idx'],
  ] as const)('a common term in %s walks the ordered index and stops after limit + 1 matches', async (_label, search, index) => {
    // Seq scans priced out for the item counts: bucketlist_items is empty here.
    const plans = await withSeqScanOff(() => capture(search('common'))());
    for (const plan of plans) expect(plan).not.toMatch(FULL_SCAN);
    expect(plans.at(-1)).toContain(index);
    expect(plans.at(-1)).not.toMatch(SORT);
  });

  it.each([
    ['books', books, 'books_created_at_id_idx'],
    ['users', users, 'users_created_at_id_idx'],
    ['bucketlists', lists, 'bucketlists_owner_created_at_id_idx'],
  ] as const)('a two-character term in %s walks the ordered index (no trigrams to look up)', async (_label, search, index) => {
    const plans = await withSeqScanOff(() => capture(search('qz'))());
    // SQLite: the end of the first slice (a covering walk of the index), then the page within it.
    expect(plans).toHaveLength(TEST_DB === 'sqlite' ? 2 : 1);
    for (const plan of plans) {
      expect(plan).toContain(index);
      expect(plan).not.toMatch(FULL_SCAN);
      expect(plan).not.toMatch(SORT);
    }
  });
});
