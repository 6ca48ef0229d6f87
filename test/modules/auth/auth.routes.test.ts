import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestApp,
  expectProblem,
  logIn,
  STRONG_PASSWORD,
  sessionOf,
  signUp,
  type TestContext,
  uniqueEmail,
} from '../../helpers/app.js';
import { decodeToken } from '../../helpers/tokens.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
});
afterAll(async () => ctx.close());

const USER_KEYS = ['created_at', 'disabled', 'email', 'email_verified', 'id', 'mfa_enabled', 'name', 'role', 'updated_at'];
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('POST /auth/register', () => {
  it('creates a user: 201, Location, user object only, email trimmed and lower-cased, hash stored', async () => {
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: '  Grace.Hopper@Example.COM ', password: STRONG_PASSWORD, name: '  Grace  ' },
    });
    expect(res.statusCode).toBe(201);
    const { user } = res.json();
    expect(Object.keys(res.json())).toEqual(['user']);
    expect(Object.keys(user).sort()).toEqual(USER_KEYS);
    expect(user).toMatchObject({ email: 'grace.hopper@example.com', name: 'Grace', role: 'user', disabled: false, email_verified: false });
    expect(user.id).toMatch(UUIDV7);
    expect(user.created_at).toMatch(RFC3339);
    expect(res.headers.location).toBe(`/users/${user.id}`);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).not.toContain('argon2');

    const row = await ctx.db.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(row.password_hash).not.toContain(STRONG_PASSWORD);
  });

  it('answers 409 EMAIL_TAKEN for an email in use, whatever its case', async () => {
    const email = uniqueEmail();
    await signUp(ctx.app, { email });
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { email: email.toUpperCase(), password: STRONG_PASSWORD },
    });
    expectProblem(res, 409, 'EMAIL_TAKEN');
    const count = await ctx.db
      .selectFrom('users')
      .select(ctx.db.fn.countAll().as('n'))
      .where('email', '=', email)
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(1);
  });

  it.each([
    ['role', { role: 'admin' }],
    ['id', { id: '01900000-0000-7000-8000-000000000000' }],
    ['disabled', { disabled: false }],
    ['created_at', { created_at: '2020-01-01T00:00:00.000Z' }],
  ])('rejects mass assignment of %s with 400 and creates nothing', async (field, extra) => {
    const email = uniqueEmail();
    const res = await ctx.app.inject({ method: 'POST', url: '/auth/register', payload: { email, password: STRONG_PASSWORD, ...extra } });
    const problem = expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(problem.errors).toEqual([{ path: `/${field}`, message: 'must NOT have additional properties' }]);
    expect(await ctx.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()).toBeUndefined();
  });

  it.each([
    ['too short', 'short-pass1', '/password'],
    ['too long', 'x'.repeat(129), '/password'],
    ['common', 'qwerty123456', '/password'],
    ['a common password padded with digits', 'password12345678', '/password'],
  ])('rejects a %s password with 400 VALIDATION_FAILED', async (_label, password, path) => {
    const email = uniqueEmail();
    const res = await ctx.app.inject({ method: 'POST', url: '/auth/register', payload: { email, password } });
    const problem = expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(problem.errors?.[0]?.path).toBe(path);
    expect(await ctx.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst()).toBeUndefined();
  });

  it('counts password length in code points after NFC (12 composed characters pass)', async () => {
    // "é" typed as e + combining accent is two code points; NFC makes it one.
    const decomposed = `${'e\u0301'.repeat(6)}ßøå¿ñü`;
    const res = await ctx.app.inject({ method: 'POST', url: '/auth/register', payload: { email: uniqueEmail(), password: decomposed } });
    expect(res.statusCode).toBe(201);
  });

  it('logs in with the NFC-equivalent form of a password', async () => {
    const email = uniqueEmail();
    await signUp(ctx.app, { email, password: 'Caf\u00e9-au-lait-2026' });
    const signedIn = await logIn(ctx.app, email, 'Cafe\u0301-au-lait-2026');
    expect(signedIn.accessToken).toBeTruthy();
  });

  it('rejects an invalid email and a missing password', async () => {
    expectProblem(
      await ctx.app.inject({ method: 'POST', url: '/auth/register', payload: { email: 'not-an-email', password: STRONG_PASSWORD } }),
      400,
      'VALIDATION_FAILED',
    );
    const res = await ctx.app.inject({ method: 'POST', url: '/auth/register', payload: { email: uniqueEmail() } });
    expect(expectProblem(res, 400, 'VALIDATION_FAILED').errors).toEqual([
      { path: '/password', message: "must have required property 'password'" },
    ]);
  });
});

describe('POST /auth/login', () => {
  it('returns the token pair, expiry and user; the access token has the contract claims and no personal data', async () => {
    const email = uniqueEmail();
    await signUp(ctx.app, { email });
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: ` ${email.toUpperCase()} `, password: STRONG_PASSWORD },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'refresh_expires_in', 'refresh_token', 'token_type', 'user']);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 900, refresh_expires_in: 30 * 86_400 });
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const { header, payload } = decodeToken(body.access_token);
    expect(header).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: expect.any(String) });
    expect(Object.keys(payload).sort()).toEqual(['amr', 'aud', 'auth_time', 'exp', 'iat', 'iss', 'jti', 'sid', 'sub']);
    expect(payload.amr).toEqual(['pwd']);
    expect(Math.abs((payload.auth_time as number) - Date.now() / 1000)).toBeLessThan(30);
    // The issuer defaults to PUBLIC_URL, itself http://localhost:PORT when unset.
    expect(payload).toMatchObject({ iss: 'http://localhost:3000', aud: 'gatehouse-api', sub: body.user.id });
    expect((payload.exp as number) - (payload.iat as number)).toBe(900);
    expect(body.access_token).not.toContain(Buffer.from(email).toString('base64url').slice(0, 10));

    const session = await sessionOf(ctx, body.access_token);
    expect(session).toMatchObject({ user_id: body.user.id, revoked_at: null });
    const tokens = await ctx.db.selectFrom('refresh_tokens').selectAll().where('session_id', '=', session.id).execute();
    expect(tokens).toHaveLength(1);
    expect(tokens[0]?.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(tokens[0]?.token_hash).not.toBe(body.refresh_token);
  });

  it('answers byte-identical 401 bodies for an unknown email and a wrong password', async () => {
    const email = uniqueEmail();
    await signUp(ctx.app, { email });
    const wrongPassword = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password: 'not the right password' },
    });
    const unknownEmail = await ctx.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: uniqueEmail('nobody'), password: 'not the right password' },
    });
    expectProblem(wrongPassword, 401, 'INVALID_CREDENTIALS');
    expect(unknownEmail.statusCode).toBe(401);
    expect(unknownEmail.body).toBe(wrongPassword.body);
    expect(unknownEmail.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
    expect(wrongPassword.headers['www-authenticate']).toBe('Bearer realm="gatehouse"');
  });

  it('answers the same 401 for a disabled account with the right password', async () => {
    const user = await signUp(ctx.app);
    await ctx.db.updateTable('users').set({ disabled: 1 }).where('id', '=', user.id).execute();
    const res = await ctx.app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: user.password } });
    expectProblem(res, 401, 'INVALID_CREDENTIALS');
  });
});

describe('POST /auth/refresh', () => {
  it('rotates: new pair works, the old refresh token is dead, and reusing it revokes the session', async () => {
    const user = await signUp(ctx.app);
    const first = await ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } });
    expect(first.statusCode).toBe(200);
    const rotated = first.json();
    expect(rotated.refresh_token).not.toBe(user.refreshToken);
    expect(rotated.user.id).toBe(user.id);
    const me = await ctx.app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${rotated.access_token}` } });
    expect(me.statusCode).toBe(200);

    const reuse = await ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } });
    expectProblem(reuse, 401, 'TOKEN_INVALID');
    expect(reuse.headers['www-authenticate']).toBe('Bearer realm="gatehouse", error="invalid_token"');

    // Reuse detection killed the session: the newest refresh token and every access token die too.
    const session = await sessionOf(ctx, rotated.access_token);
    expect(session.revoked_reason).toBe('refresh_token_reuse');
    expectProblem(
      await ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: rotated.refresh_token } }),
      401,
      'TOKEN_INVALID',
    );
    expectProblem(
      await ctx.app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${rotated.access_token}` } }),
      401,
      'TOKEN_INVALID',
    );
    expectProblem(await ctx.app.inject({ url: '/auth/me', headers: user.headers }), 401, 'TOKEN_INVALID');
  });

  it('refuses unknown, malformed and expired refresh tokens', async () => {
    expectProblem(
      await ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: 'A'.repeat(43) } }),
      401,
      'TOKEN_INVALID',
    );
    expectProblem(
      await ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: 'not a token' } }),
      401,
      'TOKEN_INVALID',
    );
    const user = await signUp(ctx.app);
    await ctx.db.updateTable('refresh_tokens').set({ expires_at: '2000-01-01T00:00:00.000Z' }).execute();
    expectProblem(
      await ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } }),
      401,
      'TOKEN_INVALID',
    );
  });

  it('refuses to refresh for a disabled user', async () => {
    const user = await signUp(ctx.app);
    await ctx.db.updateTable('users').set({ disabled: 1 }).where('id', '=', user.id).execute();
    expectProblem(
      await ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } }),
      401,
      'TOKEN_INVALID',
    );
  });

  it('of two concurrent refreshes with one token, at most one succeeds and the session ends up revoked', async () => {
    const user = await signUp(ctx.app);
    const results = await Promise.all(
      [1, 2].map(() => ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } })),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401]);
    const winner = results.find((r) => r.statusCode === 200)?.json();
    expectProblem(
      await ctx.app.inject({ url: '/auth/me', headers: { authorization: `Bearer ${winner.access_token}` } }),
      401,
      'TOKEN_INVALID',
    );
  });
});

describe('logout, logout-all, me, password', () => {
  it('GET /auth/me returns the user object at top level', async () => {
    const user = await signUp(ctx.app, { name: 'Me Myself' });
    const res = await ctx.app.inject({ url: '/auth/me', headers: user.headers });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json()).sort()).toEqual(USER_KEYS);
    expect(res.json()).toMatchObject({ id: user.id, email: user.email, name: 'Me Myself', role: 'user' });
  });

  it('POST /auth/logout ends only the current session: its access and refresh tokens stop working', async () => {
    const user = await signUp(ctx.app);
    const other = await logIn(ctx.app, user.email, user.password);
    const res = await ctx.app.inject({ method: 'POST', url: '/auth/logout', headers: user.headers });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expectProblem(await ctx.app.inject({ url: '/auth/me', headers: user.headers }), 401, 'TOKEN_INVALID');
    expectProblem(
      await ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: user.refreshToken } }),
      401,
      'TOKEN_INVALID',
    );
    expect((await ctx.app.inject({ url: '/auth/me', headers: other.headers })).statusCode).toBe(200);
  });

  it('accepts logout with a JSON content type and an empty body', async () => {
    const user = await signUp(ctx.app);
    const res = await ctx.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { ...user.headers, 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(204);
  });

  it('POST /auth/logout-all ends every session of the user, and only theirs', async () => {
    const user = await signUp(ctx.app);
    const second = await logIn(ctx.app, user.email, user.password);
    const bystander = await signUp(ctx.app);
    expect((await ctx.app.inject({ method: 'POST', url: '/auth/logout-all', headers: user.headers })).statusCode).toBe(204);
    for (const s of [user, second]) {
      expectProblem(await ctx.app.inject({ url: '/auth/me', headers: s.headers }), 401, 'TOKEN_INVALID');
      expectProblem(
        await ctx.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: s.refreshToken } }),
        401,
        'TOKEN_INVALID',
      );
    }
    expect((await ctx.app.inject({ url: '/auth/me', headers: bystander.headers })).statusCode).toBe(200);
  });

  it('PUT /auth/password: 204, old password refused, new one works, other sessions end, this one stays', async () => {
    const user = await signUp(ctx.app);
    const other = await logIn(ctx.app, user.email, user.password);
    const newPassword = 'a much better passphrase 42';
    const res = await ctx.app.inject({
      method: 'PUT',
      url: '/auth/password',
      headers: user.headers,
      payload: { current_password: user.password, new_password: newPassword },
    });
    expect(res.statusCode).toBe(204);
    expect((await ctx.app.inject({ url: '/auth/me', headers: user.headers })).statusCode).toBe(200);
    expectProblem(await ctx.app.inject({ url: '/auth/me', headers: other.headers }), 401, 'TOKEN_INVALID');
    expectProblem(
      await ctx.app.inject({ method: 'POST', url: '/auth/login', payload: { email: user.email, password: user.password } }),
      401,
      'INVALID_CREDENTIALS',
    );
    expect((await logIn(ctx.app, user.email, newPassword)).accessToken).toBeTruthy();
  });

  it('PUT /auth/password with a wrong current password: 403 INVALID_CREDENTIALS and nothing changes', async () => {
    const user = await signUp(ctx.app);
    const before = await ctx.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
    const res = await ctx.app.inject({
      method: 'PUT',
      url: '/auth/password',
      headers: user.headers,
      payload: { current_password: 'wrong wrong wrong', new_password: 'a much better passphrase 42' },
    });
    expectProblem(res, 403, 'INVALID_CREDENTIALS');
    const after = await ctx.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(after.password_hash).toBe(before.password_hash);
  });

  it('PUT /auth/password refuses a weak new password with 400', async () => {
    const user = await signUp(ctx.app);
    const res = await ctx.app.inject({
      method: 'PUT',
      url: '/auth/password',
      headers: user.headers,
      payload: { current_password: user.password, new_password: '123456789012' },
    });
    expect(expectProblem(res, 400, 'VALIDATION_FAILED').errors?.[0]?.path).toBe('/new_password');
  });

  it('GET /.well-known/jwks.json is an empty key set with HS256', async () => {
    const res = await ctx.app.inject({ url: '/.well-known/jwks.json' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ keys: [] });
    expect(res.headers['cache-control']).toBe('public, max-age=300');
  });
});
