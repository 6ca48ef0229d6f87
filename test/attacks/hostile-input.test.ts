import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type SignedIn, STRONG_PASSWORD, signUp, type TestContext, uniqueEmail } from '../helpers/app.js';
import { expectRefused, snapshotDatabase } from '../helpers/attacks.js';

// Hostile bodies, headers and paths. test/plugins/http-errors.test.ts has the basic cases (one
// malformed body, four media types, prototype keys on register, a 1 MB login password); here
// each attack runs against every route it applies to, and asserts nothing in the database moved.

let ctx: TestContext;
let user: SignedIn;
let other: SignedIn;
const ids = { list: '', item: '', book: '', othersList: '' };

beforeAll(async () => {
  ctx = await createTestApp();
  user = await signUp(ctx.app);
  other = await signUp(ctx.app);
  const post = async (who: SignedIn, url: string, payload: object) =>
    (await ctx.app.inject({ method: 'POST', url, headers: who.headers, payload })).json().id as string;
  ids.list = await post(user, '/bucketlists', { name: 'mine' });
  ids.item = await post(user, `/bucketlists/${ids.list}/items`, { title: 'an item' });
  ids.book = await post(user, '/books', { title: 'A book', author: 'Someone' });
  ids.othersList = await post(other, '/bucketlists', { name: 'not yours' });
});
afterAll(async () => ctx.close());

const JSON_TYPE = { 'content-type': 'application/json' };
const authed = () => ({ ...user.headers, ...JSON_TYPE });

/** Every route that takes a body, with the headers it needs. */
const BODY_ROUTES: [string, () => Omit<InjectOptions, 'payload'>][] = [
  ['POST /auth/register', () => ({ method: 'POST', url: '/auth/register', headers: JSON_TYPE })],
  ['POST /auth/login', () => ({ method: 'POST', url: '/auth/login', headers: JSON_TYPE })],
  ['POST /auth/refresh', () => ({ method: 'POST', url: '/auth/refresh', headers: JSON_TYPE })],
  ['PUT /auth/password', () => ({ method: 'PUT', url: '/auth/password', headers: authed() })],
  ['PATCH /users/{id}', () => ({ method: 'PATCH', url: `/users/${user.id}`, headers: authed() })],
  ['POST /books', () => ({ method: 'POST', url: '/books', headers: authed() })],
  ['PATCH /books/{id}', () => ({ method: 'PATCH', url: `/books/${ids.book}`, headers: authed() })],
  ['POST /bucketlists', () => ({ method: 'POST', url: '/bucketlists', headers: authed() })],
  ['PATCH /bucketlists/{id}', () => ({ method: 'PATCH', url: `/bucketlists/${ids.list}`, headers: authed() })],
  ['POST /bucketlists/{id}/items', () => ({ method: 'POST', url: `/bucketlists/${ids.list}/items`, headers: authed() })],
  [
    'PATCH /bucketlists/{id}/items/{item_id}',
    () => ({ method: 'PATCH', url: `/bucketlists/${ids.list}/items/${ids.item}`, headers: authed() }),
  ],
];

describe('malformed JSON', () => {
  it.each(BODY_ROUTES)('%s with a truncated JSON body → 400 MALFORMED_JSON', async (_name, request) => {
    await expectRefused(ctx, { ...request(), payload: '{"name": "x",' }, 400, 'MALFORMED_JSON');
  });

  it.each([
    ['single quotes', "{'name': 'x'}"],
    ['a trailing comma', '{"name": "x",}'],
    ['a comment', '{"name": "x" /* hi */}'],
    ['NaN', '{"title": "t", "author": "a", "published_year": NaN}'],
    ['two documents', '{"name": "x"}{"name": "y"}'],
    ['a raw control character in a string', '{"name": "a\u0001b"}'],
  ])('JSON with %s → 400 MALFORMED_JSON', async (_label, payload) => {
    await expectRefused(ctx, { method: 'POST', url: '/books', headers: authed(), payload }, 400, 'MALFORMED_JSON');
  });
});

describe('wrong content types', () => {
  it.each([
    'application/jsonp',
    'text/json',
    'application/x-json',
    'application/json-patch+json',
    'application/vnd.api+json',
    'text/plain; application/json',
    'application/xml, application/json',
  ])('a JSON body labelled %j → 415 UNSUPPORTED_MEDIA_TYPE', async (type) => {
    await expectRefused(
      ctx,
      { method: 'POST', url: '/bucketlists', headers: { ...user.headers, 'content-type': type }, payload: '{"name":"x"}' },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('a JSON body with no Content-Type at all → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    await expectRefused(
      ctx,
      { method: 'POST', url: '/bucketlists', headers: user.headers, payload: Buffer.from('{"name":"x"}') },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('a form-encoded login (the CSRF-able shape) → 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    await expectRefused(
      ctx,
      {
        method: 'POST',
        url: '/auth/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `email=${encodeURIComponent(user.email)}&password=${encodeURIComponent(STRONG_PASSWORD)}`,
      },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });
});

describe('deep nesting', () => {
  it('30,000 nested arrays in a field → 400 VALIDATION_FAILED (no stack overflow, no 500)', async () => {
    const deep = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
    await expectRefused(
      ctx,
      { method: 'POST', url: '/bucketlists', headers: authed(), payload: `{"name":${deep}}` },
      400,
      'VALIDATION_FAILED',
    );
  });

  it('10,000 nested objects → 400 VALIDATION_FAILED', async () => {
    const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    await expectRefused(ctx, { method: 'POST', url: '/bucketlists', headers: authed(), payload: deep }, 400, 'VALIDATION_FAILED');
  });

  it('a __proto__ key 5,000 levels deep → 400 MALFORMED_JSON', async () => {
    const deep = `{"name":"x","description":${'{"a":'.repeat(5000)}{"__proto__":{"role":"admin"}}${'}'.repeat(5000)}}`;
    await expectRefused(ctx, { method: 'POST', url: '/bucketlists', headers: authed(), payload: deep }, 400, 'MALFORMED_JSON');
  });
});

describe('prototype pollution keys', () => {
  it.each([
    ['__proto__ on PATCH /users/{id}', '{"name":"x","__proto__":{"role":"admin"}}'],
    ['a unicode-escaped __proto__', '{"name":"x","\\u005f\\u005fproto\\u005f\\u005f":{"role":"admin"}}'],
    ['constructor.prototype', '{"name":"x","constructor":{"prototype":{"role":"admin"}}}'],
    ['__proto__ inside an array', '[{"__proto__":{"role":"admin"}}]'],
  ])('%s → 400 MALFORMED_JSON, the user is not an admin', async (_label, payload) => {
    await expectRefused(ctx, { method: 'PATCH', url: `/users/${user.id}`, headers: authed(), payload }, 400, 'MALFORMED_JSON');
    expect(({} as Record<string, unknown>).role).toBeUndefined();
  });

  it('a bare "constructor" key → 400 VALIDATION_FAILED (an unknown field)', async () => {
    await expectRefused(
      ctx,
      { method: 'PATCH', url: `/users/${user.id}`, headers: authed(), payload: '{"name":"x","constructor":{"name":"y"}}' },
      400,
      'VALIDATION_FAILED',
    );
  });

  it('__proto__ in the query string → 400 VALIDATION_FAILED', async () => {
    await expectRefused(ctx, { method: 'GET', url: '/books?__proto__[role]=admin', headers: user.headers }, 400, 'VALIDATION_FAILED');
  });
});

describe('NUL bytes', () => {
  // U+0000 is refused everywhere with 400 (PostgreSQL text cannot hold it), so no C-string
  // truncation can ever match a prefix: the request is refused before any lookup or hashing.
  it('a NUL after the real password → 400 VALIDATION_FAILED, no session', async () => {
    await expectRefused(
      ctx,
      {
        method: 'POST',
        url: '/auth/login',
        payload: { email: user.email, password: `${STRONG_PASSWORD}\u0000anything` },
        remoteAddress: '10.20.0.1',
      },
      400,
      'VALIDATION_FAILED',
    );
  });

  it('a password with a NUL in it cannot be registered → 400 VALIDATION_FAILED, nothing stored', async () => {
    const email = uniqueEmail('nul');
    await expectRefused(
      ctx,
      { method: 'POST', url: '/auth/register', payload: { email, password: 'first half of it\u0000second half of it' } },
      400,
      'VALIDATION_FAILED',
    );
  });

  it('a NUL in an email → 400 VALIDATION_FAILED', async () => {
    await expectRefused(
      ctx,
      { method: 'POST', url: '/auth/register', payload: { email: `a\u0000${uniqueEmail()}`, password: STRONG_PASSWORD } },
      400,
      'VALIDATION_FAILED',
    );
  });

  it('a NUL in a path id → 400 VALIDATION_FAILED (after authentication)', async () => {
    await expectRefused(ctx, { method: 'DELETE', url: `/bucketlists/${ids.list}%00`, headers: user.headers }, 400, 'VALIDATION_FAILED');
    await expectRefused(ctx, { method: 'DELETE', url: `/bucketlists/${ids.list}%00` }, 401, 'TOKEN_MISSING');
  });
});

describe('huge passwords are refused before any hashing', () => {
  const mib = 'x'.repeat(1024 * 1024);

  it.each([
    ['POST /auth/register', () => ({ method: 'POST', url: '/auth/register', payload: { email: uniqueEmail(), password: mib } })],
    [
      'PUT /auth/password',
      () => ({ method: 'PUT', url: '/auth/password', headers: user.headers, payload: { current_password: mib, new_password: mib } }),
    ],
  ] as [string, () => InjectOptions][])('%s with a 1 MB password → 413 PAYLOAD_TOO_LARGE, quickly', async (_label, request) => {
    const started = performance.now();
    await expectRefused(ctx, request(), 413, 'PAYLOAD_TOO_LARGE');
    // Argon2 over 1 MB would take far longer; generous for a loaded 2-core machine.
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a 60 KB password (under the body limit) → 400 VALIDATION_FAILED quickly, by the schema bound', async () => {
    const started = performance.now();
    await expectRefused(
      ctx,
      { method: 'POST', url: '/auth/login', payload: { email: user.email, password: 'x'.repeat(60_000) }, remoteAddress: '10.20.0.3' },
      400,
      'VALIDATION_FAILED',
    );
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('over real HTTP, 1 MB with Content-Length and 1 MB chunked → 413 problem+json, quickly', async () => {
    const address = await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    const before = await snapshotDatabase(ctx.db);
    const body = JSON.stringify({ email: uniqueEmail(), password: mib });
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const chunked = new ReadableStream<Uint8Array>({
      start: (c) => c.enqueue(new TextEncoder().encode(`{"email":"${uniqueEmail()}","password":"`)),
      pull: (c) => {
        if (sent++ < 16) c.enqueue(chunk);
        else {
          c.enqueue(new TextEncoder().encode('"}'));
          c.close();
        }
      },
    });
    for (const init of [{ body }, { body: chunked, duplex: 'half' }]) {
      const started = performance.now();
      const res = await fetch(`${address}/auth/register`, { method: 'POST', headers: JSON_TYPE, ...init } as RequestInit);
      expect(res.status).toBe(413);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as { code: string }).code).toBe('PAYLOAD_TOO_LARGE');
      expect(performance.now() - started).toBeLessThan(2000);
    }
    expect(await snapshotDatabase(ctx.db)).toEqual(before);
  });
});

describe('overlong and tricky unicode', () => {
  it.each([
    ['an overlong "." (C0 AE)', '%C0%AE%C0%AE'],
    ['an overlong "/" (C0 AF)', '%C0%AF'],
    ['a lone UTF-16 surrogate (ED A0 80)', '%ED%A0%80'],
    ['invalid percent-encoding', '%ZZ'],
  ])('%s in a path id → 400 VALIDATION_FAILED as problem+json', async (_label, segment) => {
    await expectRefused(ctx, { method: 'DELETE', url: `/bucketlists/${segment}`, headers: user.headers }, 400, 'VALIDATION_FAILED');
  });

  it('overlong UTF-8 bytes in a JSON body are decoded to U+FFFD, never to "/" or "."', async () => {
    const payload = Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xc0, 0xaf, 0xc0, 0xae]), Buffer.from('b"}')]);
    const res = await ctx.app.inject({ method: 'POST', url: '/bucketlists', headers: authed(), payload });
    expect(res.statusCode).toBe(201);
    expect(res.json().name).toBe('a\ufffd\ufffd\ufffd\ufffdb');
  });

  it('a name of 101 astral characters (202 UTF-16 units) → 400: limits count code points', async () => {
    await expectRefused(
      ctx,
      { method: 'PATCH', url: `/users/${user.id}`, headers: authed(), payload: { name: '😀'.repeat(101) } },
      400,
      'VALIDATION_FAILED',
    );
  });

  it('a title of 1 letter + 1,000 combining marks → 400 VALIDATION_FAILED', async () => {
    await expectRefused(
      ctx,
      { method: 'POST', url: '/books', headers: authed(), payload: { title: `e${'\u0301'.repeat(1000)}`, author: 'x' } },
      400,
      'VALIDATION_FAILED',
    );
  });

  it('a 129-character password of emoji → 400 VALIDATION_FAILED', async () => {
    await expectRefused(
      ctx,
      { method: 'POST', url: '/auth/register', payload: { email: uniqueEmail(), password: `${'😀🎉'.repeat(64)}x` } },
      400,
      'VALIDATION_FAILED',
    );
  });

  it.each([
    ['a Cyrillic homoglyph', `\u0430${uniqueEmail()}`],
    ['an internationalised domain', `x@ex\u00e4mple.com`],
    ['a right-to-left override', `x\u202e@example.com`],
  ])('an email with %s → 400 VALIDATION_FAILED (no look-alike accounts)', async (_label, email) => {
    await expectRefused(
      ctx,
      { method: 'POST', url: '/auth/register', payload: { email, password: STRONG_PASSWORD } },
      400,
      'VALIDATION_FAILED',
    );
  });
});

describe('SQL injection strings are stored verbatim and harmless', () => {
  const INJECTIONS = ["'); DROP TABLE books;--", "' OR '1'='1", '1; DELETE FROM users', '" OR ""="', "\\'; SELECT sqlite_version();--"];

  it.each(INJECTIONS)('a book titled %j is stored and returned byte for byte; every table is intact', async (title) => {
    const res = await ctx.app.inject({ method: 'POST', url: '/books', headers: authed(), payload: { title, author: title } });
    expect(res.statusCode).toBe(201);
    const row = await ctx.db.selectFrom('books').select(['title', 'author']).where('id', '=', res.json().id).executeTakeFirstOrThrow();
    expect(row).toEqual({ title, author: title });
    const fetched = await ctx.app.inject({ url: `/books/${res.json().id}`, headers: user.headers });
    expect(fetched.json().title).toBe(title);
    expect(await ctx.db.selectFrom('users').select('id').execute()).not.toHaveLength(0);
  });

  it.each(["%' OR 1=1 --", "' OR '1'='1", '%', '_'])('GET /books?q=%j matches only literally', async (q) => {
    const res = await ctx.app.inject({ url: `/books?q=${encodeURIComponent(q)}`, headers: user.headers });
    expect(res.statusCode).toBe(200);
    for (const book of res.json().items as { title: string; author: string }[]) {
      expect(`${book.title}\n${book.author}`.toLowerCase()).toContain(q.toLowerCase());
    }
  });

  it('a well-formed cursor carrying SQL → 200 and an empty page, not a 500', async () => {
    const cursor = Buffer.from(JSON.stringify(['2020-01-01T00:00:00.000Z', "x' OR 1=1 --"])).toString('base64url');
    const res = await ctx.app.inject({ url: `/bucketlists?cursor=${cursor}`, headers: other.headers });
    expect(res.statusCode).toBe(200);
    expect(res.json().items.map((l: { id: string }) => l.id)).toEqual([ids.othersList]);
  });

  it.each(["1' OR '1'='1", '1 OR 1=1', "' UNION SELECT * FROM users --"])('a path id %j → 404 NOT_FOUND', async (id) => {
    await expectRefused(
      ctx,
      { method: 'PATCH', url: `/books/${encodeURIComponent(id)}`, headers: authed(), payload: { title: 'x' } },
      404,
      'NOT_FOUND',
    );
  });

  it('limit=1;DROP TABLE books → 400 VALIDATION_FAILED', async () => {
    await expectRefused(
      ctx,
      { method: 'GET', url: `/books?limit=${encodeURIComponent('1; DROP TABLE books')}`, headers: user.headers },
      400,
      'VALIDATION_FAILED',
    );
  });
});

describe('path traversal in ids', () => {
  it.each([
    ['..%2F..%2Fusers', 'GET'],
    ['..%2F', 'DELETE'],
    ['%2e%2e', 'GET'],
    ['%2e%2e%2f%2e%2e%2fetc%2fpasswd', 'GET'],
    ['..%5C..%5Cwindows%5Cwin.ini', 'DELETE'],
    ['%252e%252e%252f', 'GET'],
  ] as const)('/bucketlists/%s (%s) → 404 NOT_FOUND', async (segment, method) => {
    await expectRefused(ctx, { method, url: `/bucketlists/${segment}`, headers: user.headers }, 404, 'NOT_FOUND');
  });

  it("an encoded traversal from my own list into someone else's → 404 NOT_FOUND", async () => {
    await expectRefused(
      ctx,
      { method: 'DELETE', url: `/bucketlists/${ids.list}%2F..%2F${ids.othersList}`, headers: user.headers },
      404,
      'NOT_FOUND',
    );
  });

  it('an encoded traversal in an item id → 404 NOT_FOUND', async () => {
    await expectRefused(
      ctx,
      { method: 'DELETE', url: `/bucketlists/${ids.list}/items/..%2F..%2F${ids.othersList}`, headers: user.headers },
      404,
      'NOT_FOUND',
    );
  });

  it('a traversal in /users/{id} → 403 FORBIDDEN (not self), never another account', async () => {
    await expectRefused(ctx, { method: 'DELETE', url: `/users/..%2F${other.id}`, headers: user.headers }, 403, 'FORBIDDEN');
  });

  it('an id of 300 characters → 404 NOT_FOUND as problem+json (was a bare 414 echoing the path)', async () => {
    const { res } = await expectRefused(ctx, { method: 'GET', url: `/books/${'a'.repeat(300)}`, headers: user.headers }, 404, 'NOT_FOUND');
    expect(res.body).not.toContain('aaaa');
  });

  it('an upper-cased copy of a real id → 404 NOT_FOUND (ids are exact)', async () => {
    await expectRefused(ctx, { method: 'DELETE', url: `/bucketlists/${ids.list.toUpperCase()}`, headers: user.headers }, 404, 'NOT_FOUND');
    expectProblem(await ctx.app.inject({ url: `/bucketlists/${ids.list}%20`, headers: user.headers }), 404, 'NOT_FOUND');
  });
});
