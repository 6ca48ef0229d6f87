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

const BOOK_KEYS = ['author', 'created_at', 'created_by', 'description', 'id', 'isbn', 'published_year', 'title', 'updated_at'];
const bookRow = (id: string) => ctx.db.selectFrom('books').selectAll().where('id', '=', id).executeTakeFirst();

async function createBook(user: SignedIn, payload: Record<string, unknown>) {
  const res = await ctx.app.inject({ method: 'POST', url: '/books', headers: user.headers, payload });
  if (res.statusCode !== 201) throw new Error(`create book: ${res.statusCode} ${res.body}`);
  return res.json();
}

describe('books CRUD', () => {
  it('POST /books → 201 with Location and the book; fields trimmed, ISBN normalised, created_by is the caller', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/books',
      headers: alice.headers,
      payload: {
        title: '  The Pragmatic Programmer ',
        author: ' Andrew Hunt ',
        isbn: '978-0-201-61622-4',
        published_year: 1999,
        description: 'Classic.',
      },
    });
    expect(res.statusCode).toBe(201);
    const book = res.json();
    expect(Object.keys(book).sort()).toEqual(BOOK_KEYS);
    expect(book).toMatchObject({
      title: 'The Pragmatic Programmer',
      author: 'Andrew Hunt',
      isbn: '9780201616224',
      published_year: 1999,
      description: 'Classic.',
      created_by: alice.id,
    });
    expect(res.headers.location).toBe(`/books/${book.id}`);
    expect(await bookRow(book.id)).toMatchObject({ title: 'The Pragmatic Programmer', created_by: alice.id });
  });

  it('optional fields default to null; ISBN-10 with X check digit is accepted', async () => {
    const book = await createBook(alice, { title: 'Minimal', author: 'Anon' });
    expect(book).toMatchObject({ isbn: null, published_year: null, description: null });
    expect((await createBook(alice, { title: 'Ten', author: 'X', isbn: '0-8044-2957-X' })).isbn).toBe('080442957X');
  });

  it('GET /books/{id}: any signed-in user reads; missing or non-id → 404; no token → 401', async () => {
    const book = await createBook(alice, { title: 'Readable', author: 'A' });
    const res = await ctx.app.inject({ url: `/books/${book.id}`, headers: bob.headers });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(book);
    expectProblem(await ctx.app.inject({ url: '/books/01900000-0000-7000-8000-000000000000', headers: bob.headers }), 404, 'NOT_FOUND');
    expectProblem(await ctx.app.inject({ url: "/books/1'%20OR%20'1'='1", headers: bob.headers }), 404, 'NOT_FOUND');
    expectProblem(await ctx.app.inject({ url: `/books/${book.id}` }), 401, 'TOKEN_MISSING');
  });

  it('PATCH by the creator → 200 with the new fields; null clears optional fields', async () => {
    const book = await createBook(alice, { title: 'Draft', author: 'A', isbn: '0-306-40615-2', published_year: 2000 });
    const res = await ctx.app.inject({
      method: 'PATCH',
      url: `/books/${book.id}`,
      headers: alice.headers,
      payload: { title: 'Final', isbn: null, published_year: null },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: book.id, title: 'Final', isbn: null, published_year: null, author: 'A' });
    expect(res.json().updated_at >= book.updated_at).toBe(true);
    expect(await bookRow(book.id)).toMatchObject({ title: 'Final', isbn: null });
  });

  it('DELETE by the creator → 204, gone', async () => {
    const book = await createBook(alice, { title: 'Ephemeral', author: 'A' });
    const res = await ctx.app.inject({ method: 'DELETE', url: `/books/${book.id}`, headers: alice.headers });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await bookRow(book.id)).toBeUndefined();
    expectProblem(await ctx.app.inject({ method: 'DELETE', url: `/books/${book.id}`, headers: alice.headers }), 404, 'NOT_FOUND');
  });
});

describe('books: who may change what', () => {
  it("another user's PATCH and DELETE → 403 FORBIDDEN, and the book is unchanged", async () => {
    const book = await createBook(alice, { title: 'Mine', author: 'A' });
    const before = await bookRow(book.id);
    expectProblem(
      await ctx.app.inject({ method: 'PATCH', url: `/books/${book.id}`, headers: bob.headers, payload: { title: 'Stolen' } }),
      403,
      'FORBIDDEN',
    );
    expectProblem(await ctx.app.inject({ method: 'DELETE', url: `/books/${book.id}`, headers: bob.headers }), 403, 'FORBIDDEN');
    expect(await bookRow(book.id)).toEqual(before);
  });

  it('an admin may PATCH and DELETE any book', async () => {
    const book = await createBook(alice, { title: 'Moderated', author: 'A' });
    const patched = await ctx.app.inject({
      method: 'PATCH',
      url: `/books/${book.id}`,
      headers: admin.headers,
      payload: { title: 'Moderated!' },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().created_by).toBe(alice.id);
    expect((await ctx.app.inject({ method: 'DELETE', url: `/books/${book.id}`, headers: admin.headers })).statusCode).toBe(204);
  });

  it.each([
    ['created_by', { created_by: 'someone' }],
    ['id', { id: '01900000-0000-7000-8000-000000000000' }],
    ['created_at', { created_at: '2000-01-01T00:00:00.000Z' }],
    ['owner_id', { owner_id: 'x' }],
  ])('mass assignment of %s on create or update → 400 and nothing changes', async (_field, extra) => {
    const count = async () => Number((await ctx.db.selectFrom('books').select(ctx.db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    expectProblem(
      await ctx.app.inject({ method: 'POST', url: '/books', headers: alice.headers, payload: { title: 'T', author: 'A', ...extra } }),
      400,
      'VALIDATION_FAILED',
    );
    expect(await count()).toBe(before);
    const book = await createBook(alice, { title: 'Target', author: 'A' });
    const row = await bookRow(book.id);
    expectProblem(
      await ctx.app.inject({ method: 'PATCH', url: `/books/${book.id}`, headers: alice.headers, payload: extra }),
      400,
      'VALIDATION_FAILED',
    );
    expect(await bookRow(book.id)).toEqual(row);
  });
});

describe('books: validation', () => {
  it.each([
    ['empty title', { title: '   ', author: 'A' }, '/title'],
    ['title over 200', { title: 'x'.repeat(201), author: 'A' }, '/title'],
    ['missing author', { title: 'T' }, '/author'],
    ['bad ISBN checksum', { title: 'T', author: 'A', isbn: '978-0-201-61622-5' }, '/isbn'],
    ['ISBN letters', { title: 'T', author: 'A', isbn: 'abcdefghij' }, '/isbn'],
    ['fractional year', { title: 'T', author: 'A', published_year: 1999.5 }, '/published_year'],
    ['year in the far future', { title: 'T', author: 'A', published_year: 3000 }, '/published_year'],
    ['year as a string', { title: 'T', author: 'A', published_year: '1999' }, '/published_year'],
    ['description over 2000', { title: 'T', author: 'A', description: 'd'.repeat(2001) }, '/description'],
  ])('%s → 400 at %s', async (_label, payload, path) => {
    const res = await ctx.app.inject({ method: 'POST', url: '/books', headers: alice.headers, payload });
    expect(expectProblem(res, 400, 'VALIDATION_FAILED').errors?.[0]?.path).toBe(path);
  });

  it('a duplicate ISBN (in any notation) → 409 ISBN_TAKEN on create and on update', async () => {
    await createBook(alice, { title: 'Original', author: 'A', isbn: '978-1-4028-9462-6' });
    expectProblem(
      await ctx.app.inject({
        method: 'POST',
        url: '/books',
        headers: bob.headers,
        payload: { title: 'Copy', author: 'B', isbn: '9781402894626' },
      }),
      409,
      'ISBN_TAKEN',
    );
    const other = await createBook(bob, { title: 'Other', author: 'B' });
    expectProblem(
      await ctx.app.inject({ method: 'PATCH', url: `/books/${other.id}`, headers: bob.headers, payload: { isbn: '978 1 4028 9462 6' } }),
      409,
      'ISBN_TAKEN',
    );
    expect((await bookRow(other.id))?.isbn).toBeNull();
  });
});

describe('GET /books', () => {
  it('?q= matches title or author case-insensitively, ?author= is exact, and they combine', async () => {
    const tag = `zq${Date.now().toString(36)}`;
    const a = await createBook(alice, { title: `Dune ${tag}`, author: 'Frank Herbert' });
    const b = await createBook(alice, { title: 'Children of Dune', author: `Frank ${tag.toUpperCase()}` });
    await createBook(alice, { title: 'Unrelated', author: 'Someone' });
    const byQ = await ctx.app.inject({ url: `/books?q=${tag.toUpperCase()}`, headers: bob.headers });
    expect(byQ.json().items.map((x: { id: string }) => x.id)).toEqual([a.id, b.id]);
    const byAuthor = await ctx.app.inject({
      url: `/books?author=${encodeURIComponent(`Frank ${tag.toUpperCase()}`)}`,
      headers: bob.headers,
    });
    expect(byAuthor.json().items.map((x: { id: string }) => x.id)).toEqual([b.id]);
    const both = await ctx.app.inject({ url: `/books?author=Frank%20Herbert&q=${tag}`, headers: bob.headers });
    expect(both.json().items.map((x: { id: string }) => x.id)).toEqual([a.id]);
    const literal = await ctx.app.inject({ url: '/books?q=_', headers: bob.headers });
    expect(literal.json().items).toEqual([]);
  });

  it('limit defaults to 20 and is bounded 1..100; bad cursors are 400', async () => {
    for (let i = 0; i < 21; i++) await createBook(bob, { title: `Bulk ${i}`, author: 'Bulk Author' });
    const page = await ctx.app.inject({ url: '/books?author=Bulk%20Author', headers: bob.headers });
    expect(page.json().items).toHaveLength(20);
    expect(page.json().next_cursor).toEqual(expect.any(String));
    for (const q of ['limit=0', 'limit=101', 'limit=1.5', 'cursor=%%%', 'cursor=WyJ4IiwieSJd', 'sort=title']) {
      expectProblem(await ctx.app.inject({ url: `/books?${q}`, headers: bob.headers }), 400, 'VALIDATION_FAILED');
    }
  });

  it('pages have no duplicates or gaps while rows are inserted between page reads', async () => {
    const author = `Pager ${Date.now()}`;
    const initial: string[] = [];
    for (let i = 0; i < 12; i++) initial.push((await createBook(alice, { title: `P${i}`, author })).id);
    const seen: string[] = [];
    const insertedDuring: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/books?limit=5&author=${encodeURIComponent(author)}${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await ctx.app.inject({ url, headers: bob.headers })).json();
      seen.push(...page.items.map((b: { id: string }) => b.id));
      cursor = page.next_cursor;
      // Concurrent writers add rows between page reads.
      insertedDuring.push((await createBook(bob, { title: 'late', author })).id);
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.slice(0, initial.length)).toEqual(initial);
    // Rows added meanwhile appear after the initial ones, in order, never in the middle.
    expect(seen.slice(initial.length)).toEqual(insertedDuring.slice(0, seen.length - initial.length));
  });
});
