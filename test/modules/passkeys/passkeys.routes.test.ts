import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { totpCode } from '../../../src/modules/mfa/totp.js';
import { createTestApp, expectProblem, type SignedIn, STRONG_PASSWORD, signUp, type TestContext } from '../../helpers/app.js';
import { SoftAuthenticator } from '../../helpers/soft-authenticator.js';
import { decodeToken } from '../../helpers/tokens.js';

let ctx: TestContext;
let rpId: string;
let origin: string;
beforeAll(async () => {
  ctx = await createTestApp({ LOGIN_MAX_FAILURES_PER_IP: '1000' });
  rpId = ctx.config.webauthn.rpId;
  origin = ctx.config.webauthn.origins[0] as string;
});
afterAll(async () => ctx.close());
afterEach(() => vi.useRealTimers());

const post = (url: string, payload?: object, as?: SignedIn) =>
  ctx.app.inject({ method: 'POST', url, payload, headers: as?.headers, remoteAddress: '10.71.0.1' });

async function register(user: SignedIn, authenticator: SoftAuthenticator, overrides = {}) {
  const options = (await post('/auth/passkeys/registration/options', undefined, user)).json();
  return post('/auth/passkeys/registration', { response: authenticator.create(options, overrides), name: 'Phone' }, user);
}

async function signIn(authenticator: SoftAuthenticator, overrides = {}) {
  const { challenge_id, options } = (await post('/auth/passkeys/authentication/options')).json();
  return post('/auth/passkeys/authentication', { challenge_id, response: authenticator.get(options, overrides) });
}

describe('adding a passkey', () => {
  it('options ask for a discoverable credential with user verification, for this RP', async () => {
    const user = await signUp(ctx.app);
    const res = await post('/auth/passkeys/registration/options', undefined, user);
    expect(res.statusCode).toBe(200);
    const options = res.json();
    expect(options.rp).toEqual({ id: rpId, name: 'Gatehouse' });
    expect(options.user.name).toBe(user.email);
    expect(options.authenticatorSelection).toMatchObject({ residentKey: 'required', userVerification: 'required' });
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  });

  it('a verified response is stored and listed (201); its challenge cannot be used again', async () => {
    const user = await signUp(ctx.app);
    const authenticator = new SoftAuthenticator(rpId, origin);
    const options = (await post('/auth/passkeys/registration/options', undefined, user)).json();
    const response = authenticator.create(options);
    const res = await post('/auth/passkeys/registration', { response, name: 'Phone' }, user);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ name: 'Phone', backed_up: false, transports: ['internal'], last_used_at: null });
    expect(res.headers.location).toBe(`/auth/passkeys/${res.json().id}`);
    const listed = (await ctx.app.inject({ url: '/auth/passkeys', headers: user.headers })).json();
    expect(listed.items.map((p: { id: string }) => p.id)).toEqual([res.json().id]);
    const row = await ctx.db.selectFrom('webauthn_credentials').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.credential_id).toBe(authenticator.id);
    // The same response again: its challenge is used up.
    expectProblem(await post('/auth/passkeys/registration', { response, name: 'Again' }, user), 400, 'VALIDATION_FAILED');
  });

  it('a response made for another origin or another RP id, or without user verification, is refused and stores nothing', async () => {
    const user = await signUp(ctx.app);
    for (const overrides of [{ origin: 'https://evil.example' }, { rpId: 'evil.example' }, { userVerified: false }]) {
      const res = await register(user, new SoftAuthenticator(rpId, origin), overrides);
      expectProblem(res, 400, 'VALIDATION_FAILED');
    }
    expect(await ctx.db.selectFrom('webauthn_credentials').select('id').where('user_id', '=', user.id).execute()).toEqual([]);
  });

  it('a challenge given to someone else, or one never given, is refused', async () => {
    const alice = await signUp(ctx.app);
    const bob = await signUp(ctx.app);
    const options = (await post('/auth/passkeys/registration/options', undefined, alice)).json();
    const response = new SoftAuthenticator(rpId, origin).create(options);
    expectProblem(await post('/auth/passkeys/registration', { response }, bob), 400, 'VALIDATION_FAILED');
    const forged = new SoftAuthenticator(rpId, origin).create({ ...options, challenge: 'bm90LWEtcmVhbC1jaGFsbGVuZ2U' });
    expectProblem(await post('/auth/passkeys/registration', { response: forged }, alice), 400, 'VALIDATION_FAILED');
  });

  it('needs a recent sign-in (options and removal)', async () => {
    const user = await signUp(ctx.app);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 11 * 60_000);
    expectProblem(await post('/auth/passkeys/registration/options', undefined, user), 401, 'REAUTHENTICATION_REQUIRED');
    expectProblem(
      await ctx.app.inject({ method: 'DELETE', url: '/auth/passkeys/0190a5c4-7a1e-7000-8000-000000000000', headers: user.headers }),
      401,
      'REAUTHENTICATION_REQUIRED',
    );
  });
});

describe('signing in with a passkey', () => {
  it('no email typed: the passkey says whose it is; amr hwk user mfa; the counter moves forward', async () => {
    const user = await signUp(ctx.app);
    const authenticator = new SoftAuthenticator(rpId, origin);
    expect((await register(user, authenticator)).statusCode).toBe(201);
    const res = await signIn(authenticator);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.user.id).toBe(user.id);
    expect(decodeToken(body.access_token).payload.amr).toEqual(['hwk', 'user', 'mfa']);
    const row = await ctx.db.selectFrom('webauthn_credentials').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(Number(row.counter)).toBe(1);
    expect(row.last_used_at).not.toBeNull();
  });

  it('a synced passkey (backed up) signs in with amr swk', async () => {
    const user = await signUp(ctx.app);
    const authenticator = new SoftAuthenticator(rpId, origin, { backedUp: true });
    expect((await register(user, authenticator)).json().backed_up).toBe(true);
    expect(decodeToken((await signIn(authenticator)).json().access_token).payload.amr).toEqual(['swk', 'user', 'mfa']);
  });

  it('with TOTP on, a passkey with user verification needs no code', async () => {
    const user = await signUp(ctx.app);
    const { secret } = (await post('/auth/mfa/totp', undefined, user)).json();
    expect((await post('/auth/mfa/totp/confirm', { code: totpCode(secret) }, user)).statusCode).toBe(200);
    const authenticator = new SoftAuthenticator(rpId, origin);
    expect((await register(user, authenticator)).statusCode).toBe(201);
    expect((await post('/auth/login', { email: user.email, password: STRONG_PASSWORD })).json().mfa_required).toBe(true);
    expect((await signIn(authenticator)).json().access_token).toBeDefined();
  });

  it('a used challenge is refused (401 INVALID_CREDENTIALS)', async () => {
    const user = await signUp(ctx.app);
    const authenticator = new SoftAuthenticator(rpId, origin);
    await register(user, authenticator);
    const { challenge_id, options } = (await post('/auth/passkeys/authentication/options')).json();
    expect((await post('/auth/passkeys/authentication', { challenge_id, response: authenticator.get(options) })).statusCode).toBe(200);
    expectProblem(
      await post('/auth/passkeys/authentication', { challenge_id, response: authenticator.get(options) }),
      401,
      'INVALID_CREDENTIALS',
    );
  });

  it('one challenge answered five times at once signs in exactly once', async () => {
    const user = await signUp(ctx.app);
    const authenticator = new SoftAuthenticator(rpId, origin);
    await register(user, authenticator);
    const { challenge_id, options } = (await post('/auth/passkeys/authentication/options')).json();
    // Five signed answers to the same challenge, each with a counter that moves forward.
    const answers = Array.from({ length: 5 }, () => authenticator.get(options));
    const results = await Promise.all(answers.map((response) => post('/auth/passkeys/authentication', { challenge_id, response })));
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401, 401, 401, 401]);
  });

  it('a counter that goes backwards is refused and recorded as an event', async () => {
    const user = await signUp(ctx.app);
    const authenticator = new SoftAuthenticator(rpId, origin);
    await register(user, authenticator);
    expect((await signIn(authenticator, { counter: 5 })).statusCode).toBe(200);
    expectProblem(await signIn(authenticator, { counter: 3 }), 401, 'INVALID_CREDENTIALS');
    const events = await ctx.db
      .selectFrom('security_events')
      .selectAll()
      .where('user_id', '=', user.id)
      .where('type', '=', 'passkey.counter_regressed')
      .execute();
    expect(events.map((e) => JSON.parse(e.data).stored)).toEqual([5]);
  });

  it('another origin, another RP id, no user verification, an unknown passkey or a disabled account: 401, no session', async () => {
    const user = await signUp(ctx.app);
    const authenticator = new SoftAuthenticator(rpId, origin);
    await register(user, authenticator);
    const sessions = async () => (await ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute()).length;
    const before = await sessions();
    for (const overrides of [{ origin: 'https://evil.example' }, { rpId: 'evil.example' }, { userVerified: false }]) {
      expectProblem(await signIn(authenticator, overrides), 401, 'INVALID_CREDENTIALS');
    }
    expectProblem(await signIn(new SoftAuthenticator(rpId, origin)), 401, 'INVALID_CREDENTIALS');
    await ctx.db.updateTable('users').set({ disabled: 1 }).where('id', '=', user.id).execute();
    expectProblem(await signIn(authenticator), 401, 'INVALID_CREDENTIALS');
    expect(await sessions()).toBe(before);
  });
});

describe('removing a passkey', () => {
  it("removes your own (it no longer signs in); someone else's is 404 and stays", async () => {
    const alice = await signUp(ctx.app);
    const bob = await signUp(ctx.app);
    const authenticator = new SoftAuthenticator(rpId, origin);
    const added = (await register(alice, authenticator)).json();
    expectProblem(await ctx.app.inject({ method: 'DELETE', url: `/auth/passkeys/${added.id}`, headers: bob.headers }), 404, 'NOT_FOUND');
    expect((await signIn(authenticator)).statusCode).toBe(200);
    expect((await ctx.app.inject({ method: 'DELETE', url: `/auth/passkeys/${added.id}`, headers: alice.headers })).statusCode).toBe(204);
    expectProblem(await signIn(authenticator), 401, 'INVALID_CREDENTIALS');
    const types = (await ctx.db.selectFrom('security_events').select('type').where('user_id', '=', alice.id).execute()).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['passkey.added', 'passkey.removed']));
  });
});
