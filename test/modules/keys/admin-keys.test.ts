import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, logIn, type SignedIn, signUp, signUpAdmin, type TestContext } from '../../helpers/app.js';
import { decodeToken } from '../../helpers/tokens.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe('admin API for signing keys, with the database key store (EdDSA)', () => {
  let ctx: TestContext;
  let admin: SignedIn;
  let user: SignedIn;

  beforeAll(async () => {
    ctx = await createTestApp({ JWT_ALGORITHM: 'EdDSA', KEY_ENCRYPTION_SECRET: randomBytes(48).toString('base64url') });
    admin = await signUpAdmin(ctx);
    user = await signUp(ctx.app);
  });
  afterAll(async () => ctx.close());

  it('GET /admin/keys lists the signing key, without key material', async () => {
    const res = await ctx.app.inject({ url: '/admin/keys', headers: admin.headers });
    expect(res.statusCode).toBe(200);
    const { items } = res.json();
    expect(items).toEqual([
      {
        kid: decodeToken(admin.accessToken).header.kid,
        alg: 'EdDSA',
        created_at: expect.stringMatching(ISO),
        signing: true,
        retires_at: null,
      },
    ]);
  });

  it('a non-admin gets 403 on both routes, and nothing rotates', async () => {
    expectProblem(await ctx.app.inject({ url: '/admin/keys', headers: user.headers }), 403, 'FORBIDDEN');
    expectProblem(await ctx.app.inject({ method: 'POST', url: '/admin/keys/rotate', headers: user.headers }), 403, 'FORBIDDEN');
    expectProblem(await ctx.app.inject({ method: 'POST', url: '/admin/keys/rotate' }), 401, 'TOKEN_MISSING');
    expect(await ctx.db.selectFrom('signing_keys').select('kid').execute()).toHaveLength(1);
  });

  it('POST /admin/keys/rotate: the new key signs, the old one still verifies, and the event names the admin', async () => {
    const oldKid = decodeToken(user.accessToken).header.kid;
    const res = await ctx.app.inject({ method: 'POST', url: '/admin/keys/rotate', headers: admin.headers, remoteAddress: '203.0.113.9' });
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created).toEqual({
      kid: expect.any(String),
      alg: 'EdDSA',
      created_at: expect.stringMatching(ISO),
      signing: true,
      retires_at: null,
    });
    expect(created.kid).not.toBe(oldKid);

    // A token signed before the rotation keeps working through the grace period.
    expect((await ctx.app.inject({ url: '/auth/me', headers: user.headers })).statusCode).toBe(200);
    // New tokens carry the new kid, verify, and the JWK Set publishes both keys.
    const again = await logIn(ctx.app, user.email, user.password);
    expect(decodeToken(again.accessToken).header.kid).toBe(created.kid);
    expect((await ctx.app.inject({ url: '/auth/me', headers: again.headers })).statusCode).toBe(200);
    const jwks = (await ctx.app.inject({ url: '/.well-known/jwks.json' })).json();
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual([oldKid, created.kid]);

    const { items } = (await ctx.app.inject({ url: '/admin/keys', headers: admin.headers })).json();
    expect(items).toEqual([
      { kid: oldKid, alg: 'EdDSA', created_at: expect.stringMatching(ISO), signing: false, retires_at: expect.stringMatching(ISO) },
      created,
    ]);
    expect(Date.parse(items[0].retires_at)).toBeGreaterThan(Date.now());

    const events = await ctx.db.selectFrom('security_events').selectAll().where('type', '=', 'keys.rotated').execute();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor_id: admin.id, user_id: null, ip: '203.0.113.9' });
    expect(JSON.parse(events[0]?.data ?? '{}')).toEqual({ kid: created.kid, alg: 'EdDSA' });
    // The admin sees it in the event log too.
    const log = (await ctx.app.inject({ url: '/admin/events?type=keys.rotated', headers: admin.headers })).json();
    expect(log.items[0]).toMatchObject({ type: 'keys.rotated', actor_id: admin.id, data: { kid: created.kid, alg: 'EdDSA' } });
  });
});

describe('admin API for signing keys with HS256', () => {
  let ctx: TestContext;
  let admin: SignedIn;

  beforeAll(async () => {
    ctx = await createTestApp();
    admin = await signUpAdmin(ctx);
  });
  afterAll(async () => ctx.close());

  it('lists the one configured key as signing', async () => {
    const res = await ctx.app.inject({ url: '/admin/keys', headers: admin.headers });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      items: [
        {
          kid: decodeToken(admin.accessToken).header.kid,
          alg: 'HS256',
          created_at: expect.stringMatching(ISO),
          signing: true,
          retires_at: null,
        },
      ],
    });
  });

  it('rotation answers 409 KEY_ROTATION_UNAVAILABLE and records nothing', async () => {
    const problem = expectProblem(
      await ctx.app.inject({ method: 'POST', url: '/admin/keys/rotate', headers: admin.headers }),
      409,
      'KEY_ROTATION_UNAVAILABLE',
    );
    expect(problem.detail).toMatch(/JWT_SECRET/);
    expect(await ctx.db.selectFrom('security_events').selectAll().where('type', '=', 'keys.rotated').execute()).toEqual([]);
    expect((await ctx.app.inject({ url: '/auth/me', headers: admin.headers })).statusCode).toBe(200);
  });
});
