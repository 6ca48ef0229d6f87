import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type SignedIn, signUp, signUpAdmin, type TestContext } from '../../helpers/app.js';

let ctx: TestContext;
let alice: SignedIn;
let bob: SignedIn;
let admin: SignedIn;
beforeAll(async () => {
  ctx = await createTestApp();
  [alice, bob, admin] = [await signUp(ctx.app), await signUp(ctx.app), await signUpAdmin(ctx)];
});
afterAll(async () => ctx.close());

const LIST_KEYS = ['created_at', 'description', 'id', 'item_count', 'name', 'owner_id', 'updated_at'];
const ITEM_KEYS = ['bucketlist_id', 'created_at', 'done', 'id', 'title', 'updated_at'];

async function createList(user: SignedIn, payload: Record<string, unknown> = { name: 'Travel' }) {
  const res = await ctx.app.inject({ method: 'POST', url: '/bucketlists', headers: user.headers, payload });
  if (res.statusCode !== 201) throw new Error(`create bucketlist: ${res.statusCode} ${res.body}`);
  return res.json();
}
async function createItem(user: SignedIn, listId: string, payload: Record<string, unknown> = { title: 'Thing' }) {
  const res = await ctx.app.inject({ method: 'POST', url: `/bucketlists/${listId}/items`, headers: user.headers, payload });
  if (res.statusCode !== 201) throw new Error(`create item: ${res.statusCode} ${res.body}`);
  return res.json();
}
/** The whole stored state of a bucketlist and its items, to prove nothing changed. */
async function snapshot(listId: string) {
  return {
    list: await ctx.db.selectFrom('bucketlists').selectAll().where('id', '=', listId).executeTakeFirst(),
    items: await ctx.db.selectFrom('bucketlist_items').selectAll().where('bucketlist_id', '=', listId).orderBy('id').execute(),
  };
}

describe('bucketlists CRUD', () => {
  it('POST → 201 with Location, owner is the caller, item_count 0, name trimmed', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/bucketlists',
      headers: alice.headers,
      payload: { name: '  Before 40 ', description: 'Things' },
    });
    expect(res.statusCode).toBe(201);
    const list = res.json();
    expect(Object.keys(list).sort()).toEqual(LIST_KEYS);
    expect(list).toMatchObject({ name: 'Before 40', description: 'Things', owner_id: alice.id, item_count: 0 });
    expect(res.headers.location).toBe(`/bucketlists/${list.id}`);
  });

  it('GET, PATCH, DELETE by the owner; item_count follows the items', async () => {
    const list = await createList(alice);
    await createItem(alice, list.id, { title: 'One' });
    await createItem(alice, list.id, { title: 'Two', done: true });
    const got = await ctx.app.inject({ url: `/bucketlists/${list.id}`, headers: alice.headers });
    expect(got.json()).toMatchObject({ id: list.id, item_count: 2 });
    const patched = await ctx.app.inject({
      method: 'PATCH',
      url: `/bucketlists/${list.id}`,
      headers: alice.headers,
      payload: { name: 'Renamed', description: null },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ name: 'Renamed', description: null, item_count: 2 });
    const deleted = await ctx.app.inject({ method: 'DELETE', url: `/bucketlists/${list.id}`, headers: alice.headers });
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    // Deleting a bucketlist deletes its items.
    expect(await snapshot(list.id)).toEqual({ list: undefined, items: [] });
  });

  it("GET /bucketlists lists only the caller's own (admins too), with item counts, ?q= on name", async () => {
    const mine = await createList(bob, { name: 'Bob Secret Plans' });
    await createItem(bob, mine.id);
    const theirs = await createList(alice, { name: 'Alice Secret Plans' });
    const res = await ctx.app.inject({ url: '/bucketlists?q=SECRET', headers: bob.headers });
    expect(res.json().items.map((l: { id: string }) => l.id)).toEqual([mine.id]);
    expect(res.json().items[0].item_count).toBe(1);
    const adminList = await ctx.app.inject({ url: '/bucketlists?q=secret', headers: admin.headers });
    expect(adminList.json().items.map((l: { id: string }) => l.id)).not.toContain(theirs.id);
  });

  it('items: create (201, Location), list, patch, delete', async () => {
    const list = await createList(alice);
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/bucketlists/${list.id}/items`,
      headers: alice.headers,
      payload: { title: ' Climb ' },
    });
    expect(res.statusCode).toBe(201);
    const item = res.json();
    expect(Object.keys(item).sort()).toEqual(ITEM_KEYS);
    expect(item).toMatchObject({ bucketlist_id: list.id, title: 'Climb', done: false });
    expect(res.headers.location).toBe(`/bucketlists/${list.id}/items/${item.id}`);
    const listed = await ctx.app.inject({ url: `/bucketlists/${list.id}/items`, headers: alice.headers });
    expect(listed.json()).toEqual({ items: [item], next_cursor: null });
    const patched = await ctx.app.inject({
      method: 'PATCH',
      url: `/bucketlists/${list.id}/items/${item.id}`,
      headers: alice.headers,
      payload: { done: true },
    });
    expect(patched.json()).toMatchObject({ id: item.id, title: 'Climb', done: true });
    expect(
      (await ctx.app.inject({ method: 'DELETE', url: `/bucketlists/${list.id}/items/${item.id}`, headers: alice.headers })).statusCode,
    ).toBe(204);
    expectProblem(
      await ctx.app.inject({ method: 'DELETE', url: `/bucketlists/${list.id}/items/${item.id}`, headers: alice.headers }),
      404,
      'NOT_FOUND',
    );
  });

  it('an item id under the wrong bucketlist is 404, even for the owner of both', async () => {
    const a = await createList(alice);
    const b = await createList(alice);
    const item = await createItem(alice, a.id);
    expectProblem(
      await ctx.app.inject({
        method: 'PATCH',
        url: `/bucketlists/${b.id}/items/${item.id}`,
        headers: alice.headers,
        payload: { done: true },
      }),
      404,
      'NOT_FOUND',
    );
    expectProblem(
      await ctx.app.inject({ method: 'DELETE', url: `/bucketlists/${b.id}/items/${item.id}`, headers: alice.headers }),
      404,
      'NOT_FOUND',
    );
    expect((await snapshot(a.id)).items[0]?.done).toBe(0);
  });

  it.each([
    ['POST /bucketlists', 'POST', '/bucketlists', { name: 'x', owner_id: 'someone' }],
    ['POST /bucketlists', 'POST', '/bucketlists', { name: 'x', item_count: 5 }],
    ['POST /bucketlists', 'POST', '/bucketlists', { name: '' }],
    ['POST /bucketlists', 'POST', '/bucketlists', { name: 'x'.repeat(201) }],
  ] as const)('%s with %o → 400', async (_label, method, url, payload) => {
    expectProblem(await ctx.app.inject({ method, url, headers: alice.headers, payload }), 400, 'VALIDATION_FAILED');
  });

  it('mass assignment on item and list updates → 400, nothing changes', async () => {
    const list = await createList(alice);
    const item = await createItem(alice, list.id);
    const before = await snapshot(list.id);
    for (const [url, payload] of [
      [`/bucketlists/${list.id}`, { owner_id: bob.id }],
      [`/bucketlists/${list.id}`, { id: 'x' }],
      [`/bucketlists/${list.id}/items/${item.id}`, { bucketlist_id: 'other' }],
      [`/bucketlists/${list.id}/items/${item.id}`, { done: 'yes' }],
      [`/bucketlists/${list.id}/items/${item.id}`, {}],
    ] as const) {
      expectProblem(await ctx.app.inject({ method: 'PATCH', url, headers: alice.headers, payload }), 400, 'VALIDATION_FAILED');
    }
    expectProblem(
      await ctx.app.inject({
        method: 'POST',
        url: `/bucketlists/${list.id}/items`,
        headers: alice.headers,
        payload: { title: 't', id: 'x' },
      }),
      400,
      'VALIDATION_FAILED',
    );
    expect(await snapshot(list.id)).toEqual(before);
  });
});

describe("cross-user matrix: Bob on Alice's bucketlist", () => {
  it("every route answers 404 NOT_FOUND with the same body as a missing id, and Alice's data is unchanged", async () => {
    const list = await createList(alice, { name: 'Private' });
    const item = await createItem(alice, list.id, { title: 'Secret item' });
    const before = await snapshot(list.id);
    const missing = '01900000-0000-7000-8000-000000000000';
    const cases = (id: string, itemId: string) =>
      [
        ['GET', `/bucketlists/${id}`, undefined],
        ['PATCH', `/bucketlists/${id}`, { name: 'pwned' }],
        ['DELETE', `/bucketlists/${id}`, undefined],
        ['GET', `/bucketlists/${id}/items`, undefined],
        ['POST', `/bucketlists/${id}/items`, { title: 'injected' }],
        ['PATCH', `/bucketlists/${id}/items/${itemId}`, { done: true }],
        ['DELETE', `/bucketlists/${id}/items/${itemId}`, undefined],
      ] as const;
    const theirs = cases(list.id, item.id);
    const absent = cases(missing, missing);
    for (const [i, [method, url, payload]] of theirs.entries()) {
      const res = await ctx.app.inject({ method, url, headers: bob.headers, ...(payload && { payload }) });
      expectProblem(res, 404, 'NOT_FOUND');
      const [m2, u2, p2] = absent[i] as (typeof absent)[number];
      const control = await ctx.app.inject({ method: m2, url: u2, headers: bob.headers, ...(p2 && { payload: p2 }) });
      expect(res.body).toBe(control.body);
    }
    expect(await snapshot(list.id)).toEqual(before);
  });

  it('an admin may GET, PATCH and DELETE any bucketlist and its items', async () => {
    const list = await createList(alice, { name: 'Audited' });
    const item = await createItem(alice, list.id);
    expect((await ctx.app.inject({ url: `/bucketlists/${list.id}`, headers: admin.headers })).statusCode).toBe(200);
    expect((await ctx.app.inject({ url: `/bucketlists/${list.id}/items`, headers: admin.headers })).json().items).toHaveLength(1);
    expect(
      (
        await ctx.app.inject({
          method: 'PATCH',
          url: `/bucketlists/${list.id}/items/${item.id}`,
          headers: admin.headers,
          payload: { done: true },
        })
      ).statusCode,
    ).toBe(200);
    const patched = await ctx.app.inject({
      method: 'PATCH',
      url: `/bucketlists/${list.id}`,
      headers: admin.headers,
      payload: { name: 'Audited!' },
    });
    expect(patched.json()).toMatchObject({ name: 'Audited!', owner_id: alice.id });
    expect((await ctx.app.inject({ method: 'DELETE', url: `/bucketlists/${list.id}`, headers: admin.headers })).statusCode).toBe(204);
  });
});

describe('pagination of items', () => {
  it('walks every item once across pages', async () => {
    const list = await createList(alice);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await createItem(alice, list.id, { title: `i${i}` })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/bucketlists/${list.id}/items?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await ctx.app.inject({ url, headers: alice.headers })).json();
      seen.push(...page.items.map((x: { id: string }) => x.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(ids);
  });
});

describe('deleting a user', () => {
  it('deletes their bucketlists and items; their books stay with created_by null', async () => {
    const carol = await signUp(ctx.app);
    const list = await createList(carol);
    await createItem(carol, list.id);
    const book = (
      await ctx.app.inject({ method: 'POST', url: '/books', headers: carol.headers, payload: { title: 'Legacy', author: 'Carol' } })
    ).json();
    expect((await ctx.app.inject({ method: 'DELETE', url: `/users/${carol.id}`, headers: carol.headers })).statusCode).toBe(204);
    expect(await snapshot(list.id)).toEqual({ list: undefined, items: [] });
    const kept = await ctx.app.inject({ url: `/books/${book.id}`, headers: alice.headers });
    expect(kept.statusCode).toBe(200);
    expect(kept.json()).toMatchObject({ title: 'Legacy', created_by: null });
  });
});
