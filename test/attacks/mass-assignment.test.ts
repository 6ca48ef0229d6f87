import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type SignedIn, STRONG_PASSWORD, signUp, type TestContext, uniqueEmail } from '../helpers/app.js';
import { expectRefused } from '../helpers/attacks.js';

// Mass assignment on every write route: a client adds a server-owned field to an otherwise valid
// body. Unknown fields are errors (never stripped, never stored), so each attempt is 400 naming the
// field, except role/disabled on PATCH /users/{id}, which are real fields a non-admin may not
// send (403). Nothing changes in either case.

let ctx: TestContext;
let user: SignedIn;
let victim: SignedIn;
const ids = { list: '', item: '', book: '' };

beforeAll(async () => {
  ctx = await createTestApp();
  user = await signUp(ctx.app);
  victim = await signUp(ctx.app);
  const post = async (url: string, payload: object) =>
    (await ctx.app.inject({ method: 'POST', url, headers: user.headers, payload })).json().id as string;
  ids.list = await post('/bucketlists', { name: 'mine' });
  ids.item = await post(`/bucketlists/${ids.list}/items`, { title: 'an item' });
  ids.book = await post('/books', { title: 'A book', author: 'Someone' });
});
afterAll(async () => ctx.close());

interface WriteRoute {
  name: string;
  request: () => Omit<InjectOptions, 'payload'>;
  body: () => Record<string, unknown>;
  /** Server fields of this route's object, beyond the five everyone tries. */
  serverFields: string[];
}

const authed = (method: InjectOptions['method'], url: string) => () => ({ method, url, headers: user.headers });

const WRITE_ROUTES: WriteRoute[] = [
  {
    name: 'POST /auth/register',
    request: () => ({ method: 'POST', url: '/auth/register' }),
    body: () => ({ email: uniqueEmail('mass'), password: STRONG_PASSWORD }),
    serverFields: ['created_at', 'updated_at', 'password_hash'],
  },
  {
    name: 'POST /auth/login',
    request: () => ({ method: 'POST', url: '/auth/login' }),
    body: () => ({ email: user.email, password: STRONG_PASSWORD }),
    serverFields: ['sid', 'session_id', 'expires_in'],
  },
  {
    name: 'POST /auth/refresh',
    request: () => ({ method: 'POST', url: '/auth/refresh' }),
    body: () => ({ refresh_token: user.refreshToken }),
    serverFields: ['sub', 'session_id', 'expires_at'],
  },
  {
    name: 'PUT /auth/password',
    request: authed('PUT', '/auth/password'),
    body: () => ({ current_password: STRONG_PASSWORD, new_password: 'another long passphrase 2026' }),
    serverFields: ['password_hash', 'user_id', 'updated_at'],
  },
  {
    name: 'PATCH /users/{id}',
    request: () => authed('PATCH', `/users/${user.id}`)(),
    body: () => ({ name: 'New name' }),
    serverFields: ['created_at', 'updated_at', 'password_hash'],
  },
  {
    name: 'POST /books',
    request: authed('POST', '/books'),
    body: () => ({ title: 'Planted', author: 'Nobody' }),
    serverFields: ['created_at', 'updated_at'],
  },
  {
    name: 'PATCH /books/{id}',
    request: () => authed('PATCH', `/books/${ids.book}`)(),
    body: () => ({ title: 'Renamed' }),
    serverFields: ['created_at', 'updated_at'],
  },
  {
    name: 'POST /bucketlists',
    request: authed('POST', '/bucketlists'),
    body: () => ({ name: 'Planted' }),
    serverFields: ['created_at', 'updated_at', 'item_count'],
  },
  {
    name: 'PATCH /bucketlists/{id}',
    request: () => authed('PATCH', `/bucketlists/${ids.list}`)(),
    body: () => ({ name: 'Renamed' }),
    serverFields: ['created_at', 'updated_at', 'item_count'],
  },
  {
    name: 'POST /bucketlists/{id}/items',
    request: () => authed('POST', `/bucketlists/${ids.list}/items`)(),
    body: () => ({ title: 'Planted' }),
    serverFields: ['created_at', 'updated_at', 'bucketlist_id'],
  },
  {
    name: 'PATCH /bucketlists/{id}/items/{item_id}',
    request: () => authed('PATCH', `/bucketlists/${ids.list}/items/${ids.item}`)(),
    body: () => ({ title: 'Renamed' }),
    serverFields: ['created_at', 'updated_at', 'bucketlist_id'],
  },
];

/** Plausible values an attacker would send: another user's id, the admin role, etc. */
const attackerValue = (field: string): unknown =>
  ({ role: 'admin', id: victim.id, owner_id: victim.id, created_by: victim.id, disabled: false })[field] ?? '2000-01-01T00:00:00.000Z';

const MATRIX = WRITE_ROUTES.flatMap((route) =>
  ['role', 'id', 'owner_id', 'created_by', 'disabled'].map((field) => [route.name, field, route] as const),
);

describe('server-owned fields on every write route', () => {
  it.each(MATRIX)('%s with %s → refused, nothing changed', async (name, field, route) => {
    const payload = { ...route.body(), [field]: attackerValue(field) };
    // role and disabled exist on PATCH /users/{id}, for admins: a user sending them is forbidden.
    const adminOnly = name === 'PATCH /users/{id}' && (field === 'role' || field === 'disabled');
    const { body } = await expectRefused(
      ctx,
      { ...route.request(), payload },
      adminOnly ? 403 : 400,
      adminOnly ? 'FORBIDDEN' : 'VALIDATION_FAILED',
    );
    if (!adminOnly) expect(body.errors).toEqual([{ path: `/${field}`, message: 'must NOT have additional properties' }]);
  });

  it.each(WRITE_ROUTES.map((route) => [route.name, route] as const))(
    '%s with its own timestamps, counters or hashes → 400 VALIDATION_FAILED, nothing changed',
    async (_name, route) => {
      for (const field of route.serverFields) {
        const { body } = await expectRefused(
          ctx,
          { ...route.request(), payload: { ...route.body(), [field]: 1 } },
          400,
          'VALIDATION_FAILED',
        );
        expect(body.errors?.[0]?.path).toBe(`/${field}`);
      }
    },
  );

  it.each([
    ['nested under "user"', { user: { role: 'admin' } }],
    ['nested under "data"', { data: { owner_id: 'x' } }],
    ['in a different case', { Role: 'admin' }],
    ['with a trailing space', { 'role ': 'admin' }],
  ])('PATCH /users/{id} with the role %s → 400 VALIDATION_FAILED', async (_label, extra) => {
    await expectRefused(
      ctx,
      { method: 'PATCH', url: `/users/${user.id}`, headers: user.headers, payload: { name: 'x', ...extra } },
      400,
      'VALIDATION_FAILED',
    );
  });

  it('the user is still a plain user owning only their own rows', async () => {
    const row = await ctx.db.selectFrom('users').select(['role', 'disabled']).where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ role: 'user', disabled: 0 });
    const lists = await ctx.db.selectFrom('bucketlists').select('owner_id').execute();
    expect(lists.every((l) => l.owner_id === user.id)).toBe(true);
  });
});
