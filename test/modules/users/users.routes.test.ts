import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type SignedIn, signUp, signUpAdmin, type TestContext, uniqueEmail } from '../../helpers/app.js';

let ctx: TestContext;
let admin: SignedIn;
beforeAll(async () => {
  ctx = await createTestApp();
  admin = await signUpAdmin(ctx);
});
afterAll(async () => ctx.close());

const userRow = (id: string) => ctx.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();

describe('GET /users (admin)', () => {
  it('a non-admin gets 403 FORBIDDEN', async () => {
    const user = await signUp(ctx.app);
    expectProblem(await ctx.app.inject({ url: '/users', headers: user.headers }), 403, 'FORBIDDEN');
  });

  it('without a token: 401 TOKEN_MISSING', async () => {
    expectProblem(await ctx.app.inject({ url: '/users' }), 401, 'TOKEN_MISSING');
  });

  it('pages through every user exactly once, in creation order', async () => {
    for (let i = 0; i < 5; i++) await signUp(ctx.app, { email: uniqueEmail('pager') });
    const all = await ctx.db.selectFrom('users').select('id').orderBy('created_at').orderBy('id').execute();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await ctx.app.inject({ url, headers: admin.headers });
      expect(res.statusCode).toBe(200);
      const page = res.json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      for (const item of page.items) expect(item).not.toHaveProperty('password_hash');
      seen.push(...page.items.map((u: { id: string }) => u.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all.map((u) => u.id));
  });

  it('?q= matches email or name, case-insensitively, with LIKE wildcards taken literally', async () => {
    const target = await signUp(ctx.app, { email: uniqueEmail('findme'), name: 'Zebedee Quux' });
    const byName = await ctx.app.inject({ url: '/users?q=zEbEdEe', headers: admin.headers });
    expect(byName.json().items.map((u: { id: string }) => u.id)).toEqual([target.id]);
    const byEmail = await ctx.app.inject({
      url: `/users?q=${encodeURIComponent(target.email.slice(0, 12).toUpperCase())}`,
      headers: admin.headers,
    });
    expect(byEmail.json().items.map((u: { id: string }) => u.id)).toContain(target.id);
    const wildcard = await ctx.app.inject({ url: '/users?q=%25', headers: admin.headers });
    expect(wildcard.json().items).toEqual([]);
  });

  it.each(['limit=0', 'limit=101', 'limit=abc', 'cursor=not-a-cursor', 'cursor=eyJmb28iOjF9', 'unknown=1'])(
    'bad query %s → 400',
    async (query) => {
      expectProblem(await ctx.app.inject({ url: `/users?${query}`, headers: admin.headers }), 400, 'VALIDATION_FAILED');
    },
  );
});

describe('GET /users/{id}', () => {
  it('self: 200', async () => {
    const user = await signUp(ctx.app);
    const res = await ctx.app.inject({ url: `/users/${user.id}`, headers: user.headers });
    expect(res.statusCode).toBe(200);
    expect(res.json().id).toBe(user.id);
  });

  it('another user: 403 FORBIDDEN (existing or not)', async () => {
    const a = await signUp(ctx.app);
    const b = await signUp(ctx.app);
    expectProblem(await ctx.app.inject({ url: `/users/${b.id}`, headers: a.headers }), 403, 'FORBIDDEN');
    expectProblem(await ctx.app.inject({ url: '/users/01900000-0000-7000-8000-000000000000', headers: a.headers }), 403, 'FORBIDDEN');
  });

  it('admin: any user, 404 NOT_FOUND for a missing or malformed id', async () => {
    const user = await signUp(ctx.app);
    expect((await ctx.app.inject({ url: `/users/${user.id}`, headers: admin.headers })).statusCode).toBe(200);
    expectProblem(await ctx.app.inject({ url: '/users/01900000-0000-7000-8000-000000000000', headers: admin.headers }), 404, 'NOT_FOUND');
    expectProblem(await ctx.app.inject({ url: '/users/..%2F..%2Fetc%2Fpasswd', headers: admin.headers }), 404, 'NOT_FOUND');
  });
});

describe('PATCH /users/{id}', () => {
  it('self can change name and email (normalised); the response is the user', async () => {
    const user = await signUp(ctx.app);
    const email = uniqueEmail('renamed');
    const res = await ctx.app.inject({
      method: 'PATCH',
      url: `/users/${user.id}`,
      headers: user.headers,
      payload: { name: ' New Name ', email: ` ${email.toUpperCase()} ` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: user.id, name: 'New Name', email });
    expect((await userRow(user.id))?.email).toBe(email);
  });

  it.each([{ role: 'admin' }, { disabled: true }])('a non-admin sending %o gets 403 and nothing changes', async (patch) => {
    const user = await signUp(ctx.app);
    const before = await userRow(user.id);
    expectProblem(
      await ctx.app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: user.headers, payload: patch }),
      403,
      'FORBIDDEN',
    );
    expect(await userRow(user.id)).toEqual(before);
  });

  it('another user: 403 and unchanged', async () => {
    const a = await signUp(ctx.app);
    const b = await signUp(ctx.app);
    const before = await userRow(b.id);
    expectProblem(
      await ctx.app.inject({ method: 'PATCH', url: `/users/${b.id}`, headers: a.headers, payload: { name: 'pwned' } }),
      403,
      'FORBIDDEN',
    );
    expect(await userRow(b.id)).toEqual(before);
  });

  it('unknown and server fields are rejected: id, created_at, password_hash → 400', async () => {
    const user = await signUp(ctx.app);
    for (const payload of [{ id: 'x' }, { created_at: '2000-01-01T00:00:00.000Z' }, { password_hash: 'x' }, {}]) {
      expectProblem(
        await ctx.app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: user.headers, payload }),
        400,
        'VALIDATION_FAILED',
      );
    }
  });

  it('email in use → 409 EMAIL_TAKEN', async () => {
    const a = await signUp(ctx.app);
    const b = await signUp(ctx.app);
    expectProblem(
      await ctx.app.inject({ method: 'PATCH', url: `/users/${a.id}`, headers: a.headers, payload: { email: b.email } }),
      409,
      'EMAIL_TAKEN',
    );
  });

  it("admin promotes a user; the new role applies on the user's very next request (read from the database)", async () => {
    const user = await signUp(ctx.app);
    expectProblem(await ctx.app.inject({ url: '/users', headers: user.headers }), 403, 'FORBIDDEN');
    const res = await ctx.app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: admin.headers, payload: { role: 'admin' } });
    expect(res.json().role).toBe('admin');
    expect((await ctx.app.inject({ url: '/users', headers: user.headers })).statusCode).toBe(200);
    await ctx.app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: admin.headers, payload: { role: 'user' } });
    expectProblem(await ctx.app.inject({ url: '/users', headers: user.headers }), 403, 'FORBIDDEN');
  });

  it('admin disables a user: their tokens stop working and their sessions are revoked', async () => {
    const user = await signUp(ctx.app);
    const res = await ctx.app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: admin.headers, payload: { disabled: true } });
    expect(res.json().disabled).toBe(true);
    expectProblem(await ctx.app.inject({ url: '/auth/me', headers: user.headers }), 401, 'TOKEN_INVALID');
    await ctx.app.inject({ method: 'PATCH', url: `/users/${user.id}`, headers: admin.headers, payload: { disabled: false } });
    // Re-enabling does not resurrect the old session.
    expectProblem(
      await ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } }),
      401,
      'TOKEN_INVALID',
    );
  });
});

describe('LAST_ADMIN', () => {
  it('the only active admin cannot demote, disable or delete themselves; with a second admin they can', async () => {
    const solo = await createTestApp();
    try {
      const only = await signUpAdmin(solo);
      for (const payload of [{ role: 'user' }, { disabled: true }]) {
        expectProblem(
          await solo.app.inject({ method: 'PATCH', url: `/users/${only.id}`, headers: only.headers, payload }),
          409,
          'LAST_ADMIN',
        );
      }
      expectProblem(await solo.app.inject({ method: 'DELETE', url: `/users/${only.id}`, headers: only.headers }), 409, 'LAST_ADMIN');
      expect((await solo.db.selectFrom('users').selectAll().where('id', '=', only.id).executeTakeFirst())?.role).toBe('admin');

      // A disabled admin does not count as the "other" admin.
      const disabledAdmin = await signUpAdmin(solo);
      await solo.db.updateTable('users').set({ disabled: 1 }).where('id', '=', disabledAdmin.id).execute();
      expectProblem(
        await solo.app.inject({ method: 'PATCH', url: `/users/${only.id}`, headers: only.headers, payload: { role: 'user' } }),
        409,
        'LAST_ADMIN',
      );

      const second = await signUpAdmin(solo);
      const res = await solo.app.inject({ method: 'PATCH', url: `/users/${only.id}`, headers: only.headers, payload: { role: 'user' } });
      expect(res.statusCode).toBe(200);
      expectProblem(await solo.app.inject({ method: 'DELETE', url: `/users/${second.id}`, headers: second.headers }), 409, 'LAST_ADMIN');
    } finally {
      await solo.close();
    }
  });
});

describe('DELETE /users/{id}', () => {
  it('self: 204, the user and their sessions are gone, their tokens stop working', async () => {
    const user = await signUp(ctx.app);
    const res = await ctx.app.inject({ method: 'DELETE', url: `/users/${user.id}`, headers: user.headers });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(await userRow(user.id)).toBeUndefined();
    expect(await ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute()).toEqual([]);
    expectProblem(await ctx.app.inject({ url: '/auth/me', headers: user.headers }), 401, 'TOKEN_INVALID');
  });

  it('another user: 403 and still there; admin: 204', async () => {
    const a = await signUp(ctx.app);
    const b = await signUp(ctx.app);
    expectProblem(await ctx.app.inject({ method: 'DELETE', url: `/users/${b.id}`, headers: a.headers }), 403, 'FORBIDDEN');
    expect(await userRow(b.id)).toBeDefined();
    expect((await ctx.app.inject({ method: 'DELETE', url: `/users/${b.id}`, headers: admin.headers })).statusCode).toBe(204);
    expect(await userRow(b.id)).toBeUndefined();
  });

  it('admin deleting a missing user: 404', async () => {
    expectProblem(
      await ctx.app.inject({ method: 'DELETE', url: '/users/01900000-0000-7000-8000-000000000000', headers: admin.headers }),
      404,
      'NOT_FOUND',
    );
  });
});
