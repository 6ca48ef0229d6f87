import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type SignedIn, signUp, signUpAdmin, type TestContext } from '../helpers/app.js';
import { expectRefused } from '../helpers/attacks.js';
import { decodeToken, forgeToken } from '../helpers/tokens.js';

// Broken object-level (BOLA/IDOR) and function-level authorisation: Mallory, an ordinary signed-in
// user, aims at every owned route with Alice's ids and at every admin action. Every attempt gets
// exactly the contract's answer and leaves every row as it was.

let ctx: TestContext;
let alice: SignedIn;
let mallory: SignedIn;
let admin: SignedIn;
const ids = { aliceList: '', aliceItem: '', aliceBook: '', malloryList: '', malloryItem: '', adminBook: '' };

async function create(who: SignedIn, url: string, payload: object): Promise<string> {
  const res = await ctx.app.inject({ method: 'POST', url, headers: who.headers, payload });
  if (res.statusCode !== 201) throw new Error(`setup ${url}: ${res.statusCode} ${res.body}`);
  return res.json().id;
}

beforeAll(async () => {
  ctx = await createTestApp();
  alice = await signUp(ctx.app, { name: 'Alice' });
  mallory = await signUp(ctx.app, { name: 'Mallory' });
  admin = await signUpAdmin(ctx);
  ids.aliceList = await create(alice, '/bucketlists', { name: 'Alice private plans', description: 'secret' });
  ids.aliceItem = await create(alice, `/bucketlists/${ids.aliceList}/items`, { title: 'Alice private item' });
  ids.aliceBook = await create(alice, '/books', { title: "Alice's book", author: 'A. Author' });
  ids.malloryList = await create(mallory, '/bucketlists', { name: 'Mallory list' });
  ids.malloryItem = await create(mallory, `/bucketlists/${ids.malloryList}/items`, { title: 'Mallory item' });
  ids.adminBook = await create(admin, '/books', { title: "The admin's book", author: 'Root' });
});
afterAll(async () => ctx.close());

const as = (who: SignedIn, method: InjectOptions['method'], url: string, payload?: object): InjectOptions => ({
  method,
  url,
  headers: who.headers,
  ...(payload && { payload }),
});
const MISSING = '01900000-0000-7000-8000-000000000000';

describe("BOLA/IDOR on private bucketlists: someone else's is indistinguishable from a missing one", () => {
  const cases: [string, InjectOptions['method'], () => string, object | undefined][] = [
    ['GET /bucketlists/{id}', 'GET', () => `/bucketlists/${ids.aliceList}`, undefined],
    ['PATCH /bucketlists/{id}', 'PATCH', () => `/bucketlists/${ids.aliceList}`, { name: 'owned by Mallory' }],
    ['DELETE /bucketlists/{id}', 'DELETE', () => `/bucketlists/${ids.aliceList}`, undefined],
    ['GET /bucketlists/{id}/items', 'GET', () => `/bucketlists/${ids.aliceList}/items`, undefined],
    ['POST /bucketlists/{id}/items', 'POST', () => `/bucketlists/${ids.aliceList}/items`, { title: 'planted' }],
    ['PATCH /bucketlists/{id}/items/{item_id}', 'PATCH', () => `/bucketlists/${ids.aliceList}/items/${ids.aliceItem}`, { done: true }],
    ['DELETE /bucketlists/{id}/items/{item_id}', 'DELETE', () => `/bucketlists/${ids.aliceList}/items/${ids.aliceItem}`, undefined],
    [
      "PATCH Alice's item under Mallory's own list",
      'PATCH',
      () => `/bucketlists/${ids.malloryList}/items/${ids.aliceItem}`,
      { title: 'moved' },
    ],
    ["DELETE Alice's item under Mallory's own list", 'DELETE', () => `/bucketlists/${ids.malloryList}/items/${ids.aliceItem}`, undefined],
  ];

  it.each(cases)('%s → 404 NOT_FOUND, same body as a missing id, nothing changed', async (_label, method, url, payload) => {
    const { body } = await expectRefused(ctx, as(mallory, method, url(), payload), 404, 'NOT_FOUND');
    const missingUrl = url().replace(ids.aliceList, MISSING).replace(ids.aliceItem, MISSING);
    const missing = await ctx.app.inject(as(mallory, method, missingUrl, payload));
    expect(missing.json()).toEqual(body);
  });

  it("listing and searching never show Alice's lists to Mallory", async () => {
    for (const url of ['/bucketlists', '/bucketlists?q=Alice', "/bucketlists?q=' OR '1'='1", '/bucketlists?q=%25', '/bucketlists?q=_']) {
      const res = await ctx.app.inject(as(mallory, 'GET', url));
      expect(res.statusCode).toBe(200);
      const items: { id: string; owner_id: string }[] = res.json().items;
      expect(
        items.every((l) => l.owner_id === mallory.id && l.id !== ids.aliceList),
        url,
      ).toBe(true);
    }
    expect((await ctx.app.inject(as(mallory, 'GET', '/bucketlists'))).json().items).toHaveLength(1);
  });
});

describe("BOLA on other users' accounts and books: 403", () => {
  it.each([
    ['GET /users/{id}', 'GET', () => `/users/${alice.id}`, undefined],
    ['PATCH /users/{id}', 'PATCH', () => `/users/${alice.id}`, { name: 'Hacked' }],
    ['PATCH /users/{id} (take over the email)', 'PATCH', () => `/users/${alice.id}`, { email: 'mallory-owns@example.com' }],
    ['DELETE /users/{id}', 'DELETE', () => `/users/${alice.id}`, undefined],
    ['PATCH /books/{id}', 'PATCH', () => `/books/${ids.aliceBook}`, { title: 'Defaced' }],
    ['DELETE /books/{id}', 'DELETE', () => `/books/${ids.aliceBook}`, undefined],
  ] as [string, InjectOptions['method'], () => string, object | undefined][])(
    "%s on someone else's → 403 FORBIDDEN, nothing changed",
    async (_label, method, url, payload) => {
      await expectRefused(ctx, as(mallory, method, url(), payload), 403, 'FORBIDDEN');
    },
  );
});

describe('function-level: a non-admin on every admin action', () => {
  it.each([
    ['GET /users', 'GET', () => '/users', undefined],
    ['GET /users?q= (search every account)', 'GET', () => '/users?q=example.com', undefined],
    ['GET /users/{id} of the admin', 'GET', () => `/users/${admin.id}`, undefined],
    ['PATCH /users/{self} {role: admin}', 'PATCH', () => `/users/${mallory.id}`, { role: 'admin' }],
    ['PATCH /users/{self} {role: admin, name} (no partial update)', 'PATCH', () => `/users/${mallory.id}`, { name: 'Root', role: 'admin' }],
    ['PATCH /users/{self} {disabled: false} (even a no-op)', 'PATCH', () => `/users/${mallory.id}`, { disabled: false }],
    ['PATCH /users/{other} {disabled: true}', 'PATCH', () => `/users/${alice.id}`, { disabled: true }],
    ['PATCH /users/{admin} {role: user} (demote the admin)', 'PATCH', () => `/users/${admin.id}`, { role: 'user' }],
    ['DELETE /users/{admin}', 'DELETE', () => `/users/${admin.id}`, undefined],
    ["PATCH /books/{id} of the admin's book", 'PATCH', () => `/books/${ids.adminBook}`, { title: 'Defaced' }],
    ["DELETE /books/{id} of the admin's book", 'DELETE', () => `/books/${ids.adminBook}`, undefined],
  ] as [string, InjectOptions['method'], () => string, object | undefined][])(
    '%s → 403 FORBIDDEN, nothing changed',
    async (_label, method, url, payload) => {
      await expectRefused(ctx, as(mallory, method, url(), payload), 403, 'FORBIDDEN');
    },
  );

  it('a token carrying role/admin claims (signed with our key) is still a user: GET /users → 403', async () => {
    const { header, payload } = decodeToken(mallory.accessToken);
    const now = Math.floor(Date.now() / 1000);
    const token = forgeToken(
      header,
      { ...payload, iat: now, exp: now + 600, role: 'admin', admin: true, scope: 'admin' },
      ctx.config.jwt.secret,
    );
    await expectRefused(ctx, { method: 'GET', url: '/users', headers: { authorization: `Bearer ${token}` } }, 403, 'FORBIDDEN');
  });

  it.each([
    { role: 'ADMIN' },
    { role: ['admin'] },
    { role: 'superuser' },
    { role: { $ne: 'user' } },
    { disabled: 'false' },
    { disabled: 0 },
  ])('PATCH /users/{self} %j → 400 VALIDATION_FAILED (no coercion, no operator injection)', async (patch) => {
    await expectRefused(ctx, as(mallory, 'PATCH', `/users/${mallory.id}`, patch), 400, 'VALIDATION_FAILED');
  });

  it('a demoted admin loses admin access on the very next request', async () => {
    const former = await signUpAdmin(ctx);
    expect((await ctx.app.inject(as(former, 'GET', '/users'))).statusCode).toBe(200);
    const demoted = await ctx.app.inject(as(admin, 'PATCH', `/users/${former.id}`, { role: 'user' }));
    expect(demoted.json().role).toBe('user');
    expectProblem(await ctx.app.inject(as(former, 'GET', '/users')), 403, 'FORBIDDEN');
  });
});
