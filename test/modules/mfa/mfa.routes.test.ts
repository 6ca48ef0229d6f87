import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { totpCode } from '../../../src/modules/mfa/totp.js';
import {
  createTestApp,
  expectProblem,
  logIn,
  type SignedIn,
  STRONG_PASSWORD,
  signUp,
  signUpAdmin,
  type TestContext,
} from '../../helpers/app.js';
import { decodeToken } from '../../helpers/tokens.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp({ LOGIN_MAX_FAILURES_PER_IP: '1000' });
});
afterAll(async () => ctx.close());
afterEach(() => vi.useRealTimers());

const post = (url: string, payload?: object, as?: SignedIn) =>
  ctx.app.inject({ method: 'POST', url, payload, headers: as?.headers, remoteAddress: '10.70.0.1' });
const login = (user: { email: string }, password = STRONG_PASSWORD) => post('/auth/login', { email: user.email, password });
const verify = (mfaToken: string, proof: { code?: string; recovery_code?: string }) =>
  post('/auth/mfa/verify', { mfa_token: mfaToken, ...proof });
const userRow = (id: string) => ctx.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const PERIOD_MS = 30_000;

/** A user with TOTP on: its seed and recovery codes. */
async function enrolled(): Promise<{ user: SignedIn; secret: string; codes: string[] }> {
  const user = await signUp(ctx.app);
  const started = await post('/auth/mfa/totp', undefined, user);
  expect(started.statusCode).toBe(200);
  const { secret } = started.json();
  // A code from the previous step: the sign-ins that follow in a test use the current one.
  const confirmed = await post('/auth/mfa/totp/confirm', { code: totpCode(secret, Date.now() - PERIOD_MS) }, user);
  expect(confirmed.statusCode, confirmed.body).toBe(200);
  return { user, secret, codes: confirmed.json().recovery_codes };
}

async function mfaToken(user: { email: string }): Promise<string> {
  const res = await login(user);
  expect(res.statusCode).toBe(200);
  const body = res.json();
  expect(body).toEqual({ mfa_required: true, mfa_token: expect.any(String), expires_in: 300, methods: ['totp', 'recovery_code'] });
  return body.mfa_token;
}

describe('TOTP enrolment', () => {
  it('gives a seed, its otpauth URI and a QR code; stores the seed encrypted; nothing changes until confirmed', async () => {
    const user = await signUp(ctx.app);
    const res = await post('/auth/mfa/totp', undefined, user);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(body.otpauth_uri).toMatch(/^otpauth:\/\/totp\/Gatehouse:/);
    expect(body.otpauth_uri).toContain(`secret=${body.secret}`);
    expect(body.otpauth_uri).toContain('algorithm=SHA1&digits=6&period=30');
    expect(body.qr_svg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    const row = await ctx.db.selectFrom('mfa_totp').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.secret).not.toContain(body.secret);
    expect(row.confirmed_at).toBeNull();
    expect((await userRow(user.id)).mfa_enabled).toBe(0);
    expect((await login(user)).json().access_token).toBeDefined();
  });

  it('a wrong code is 400 MFA_CODE_INVALID; the right one turns TOTP on and answers ten distinct recovery codes, stored hashed', async () => {
    const user = await signUp(ctx.app);
    const { secret } = (await post('/auth/mfa/totp', undefined, user)).json();
    const wrong = String((Number(totpCode(secret)) + 1) % 1_000_000).padStart(6, '0');
    expectProblem(await post('/auth/mfa/totp/confirm', { code: wrong }, user), 400, 'MFA_CODE_INVALID');
    expect((await userRow(user.id)).mfa_enabled).toBe(0);
    const res = await post('/auth/mfa/totp/confirm', { code: totpCode(secret) }, user);
    expect(res.statusCode).toBe(200);
    const codes: string[] = res.json().recovery_codes;
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    const stored = await ctx.db.selectFrom('mfa_recovery_codes').select('code_hash').where('user_id', '=', user.id).execute();
    expect(stored).toHaveLength(10);
    for (const code of codes) expect(JSON.stringify(stored)).not.toContain(code.replaceAll('-', ''));
    expect((await ctx.app.inject({ url: '/auth/me', headers: user.headers })).json().mfa_enabled).toBe(true);
    expectProblem(await post('/auth/mfa/totp', undefined, user), 409, 'MFA_ALREADY_ENABLED');
    expect(
      (await ctx.db.selectFrom('security_events').select('type').where('user_id', '=', user.id).execute()).map((e) => e.type),
    ).toContain('mfa.enabled');
  });

  it('confirming without an enrolment in progress is 400; enrolment, disabling and new codes need a recent sign-in', async () => {
    const user = await signUp(ctx.app);
    expectProblem(await post('/auth/mfa/totp/confirm', { code: '123456' }, user), 400, 'VALIDATION_FAILED');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 11 * 60_000);
    expectProblem(await post('/auth/mfa/totp', undefined, user), 401, 'REAUTHENTICATION_REQUIRED');
    expectProblem(
      await ctx.app.inject({ method: 'DELETE', url: '/auth/mfa/totp', headers: user.headers }),
      401,
      'REAUTHENTICATION_REQUIRED',
    );
    expectProblem(await post('/auth/mfa/recovery-codes', undefined, user), 401, 'REAUTHENTICATION_REQUIRED');
  });
});

describe('signing in with TOTP on', () => {
  it('the password answers mfa_required and creates no session; the code signs in with amr pwd otp mfa', async () => {
    const { user, secret } = await enrolled();
    const before = await ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute();
    const token = await mfaToken(user);
    expect(await ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute()).toHaveLength(before.length);
    const res = await verify(token, { code: totpCode(secret) });
    expect(res.statusCode).toBe(200);
    expect(decodeToken(res.json().access_token).payload.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(res.json().user.mfa_enabled).toBe(true);
  });

  it('a code works once: the same code again is 401 MFA_CODE_INVALID', async () => {
    const { user, secret } = await enrolled();
    const code = totpCode(secret);
    expect((await verify(await mfaToken(user), { code })).statusCode).toBe(200);
    expectProblem(await verify(await mfaToken(user), { code }), 401, 'MFA_CODE_INVALID');
  });

  it('one code sent with three mfa_tokens at once signs in exactly once', async () => {
    const { user, secret } = await enrolled();
    const tokens = [await mfaToken(user), await mfaToken(user), await mfaToken(user)];
    const code = totpCode(secret);
    const results = await Promise.all(tokens.map((token) => verify(token, { code })));
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401, 401]);
    expect(results.filter((r) => r.statusCode === 401).map((r) => r.json().code)).toEqual(['MFA_CODE_INVALID', 'MFA_CODE_INVALID']);
  });

  it('a code from three steps ago (beyond ±1 of drift) is refused; one step either side is accepted', async () => {
    const { user, secret } = await enrolled();
    expectProblem(await verify(await mfaToken(user), { code: totpCode(secret, Date.now() - 3 * PERIOD_MS) }), 401, 'MFA_CODE_INVALID');
    expect((await verify(await mfaToken(user), { code: totpCode(secret, Date.now() + PERIOD_MS) })).statusCode).toBe(200);
  });

  it('an mfa_token is single use, and dies after 5 minutes', async () => {
    const { user, secret } = await enrolled();
    const token = await mfaToken(user);
    expect((await verify(token, { code: totpCode(secret) })).statusCode).toBe(200);
    expectProblem(await verify(token, { code: totpCode(secret, Date.now() + PERIOD_MS) }), 401, 'TOKEN_INVALID');
    const late = await mfaToken(user);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 301_000);
    expectProblem(await verify(late, { code: totpCode(secret) }), 401, 'TOKEN_INVALID');
    expectProblem(await verify('A'.repeat(43), { code: totpCode(secret) }), 401, 'TOKEN_INVALID');
  });

  it('five wrong codes kill the token: the right code after them is refused', async () => {
    const { user, secret } = await enrolled();
    const token = await mfaToken(user);
    for (let i = 0; i < 5; i++) expectProblem(await verify(token, { code: '000000' }), 401, 'MFA_CODE_INVALID');
    const after = await verify(token, { code: totpCode(secret) });
    expect([401, 429]).toContain(after.statusCode);
    expect(after.json().access_token).toBeUndefined();
  });

  it('a burst of 30 simultaneous wrong codes on one token: at most 5 are checked', async () => {
    const { user } = await enrolled();
    const token = await mfaToken(user);
    const answers = await Promise.all(Array.from({ length: 30 }, () => verify(token, { code: '000000' })));
    const codes = answers.map((a) => a.json().code);
    expect(codes.filter((c) => c === 'MFA_CODE_INVALID')).toHaveLength(5);
    expect(codes.every((c) => ['MFA_CODE_INVALID', 'TOKEN_INVALID', 'RATE_LIMITED'].includes(c))).toBe(true);
    const row = await ctx.db.selectFrom('mfa_challenges').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.failures).toBe(5);
  });

  it('wrong codes are limited per user across tokens (429 after 5)', async () => {
    const { user, secret } = await enrolled();
    for (let i = 0; i < 5; i++) expectProblem(await verify(await mfaToken(user), { code: '000000' }), 401, 'MFA_CODE_INVALID');
    const limited = await verify(await mfaToken(user), { code: totpCode(secret) });
    expectProblem(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('a recovery code works once (any case and dashes), is recorded and mailed; the second use is refused', async () => {
    const { user, codes } = await enrolled();
    const code = codes[0] as string;
    const res = await verify(await mfaToken(user), { recovery_code: code.toLowerCase().replaceAll('-', ' ') });
    expect(res.statusCode).toBe(200);
    expect(decodeToken(res.json().access_token).payload.amr).toEqual(['pwd', 'otp', 'mfa']);
    expectProblem(await verify(await mfaToken(user), { recovery_code: code }), 401, 'MFA_CODE_INVALID');
    const used = await ctx.db
      .selectFrom('security_events')
      .selectAll()
      .where('user_id', '=', user.id)
      .where('type', '=', 'recovery_code.used')
      .execute();
    expect(used.map((e) => JSON.parse(e.data))).toEqual([{ remaining: 9 }]);
  });

  it('one recovery code sent twice at once signs in once', async () => {
    const { user, codes } = await enrolled();
    const [a, b] = [await mfaToken(user), await mfaToken(user)];
    const answers = await Promise.all([verify(a, { recovery_code: codes[1] as string }), verify(b, { recovery_code: codes[1] as string })]);
    expect(answers.map((x) => x.statusCode).sort()).toEqual([200, 401]);
  });

  it('exactly one of code and recovery_code: both or neither is 400', async () => {
    const { user, codes, secret } = await enrolled();
    const token = await mfaToken(user);
    expectProblem(await verify(token, {}), 400, 'VALIDATION_FAILED');
    expectProblem(await verify(token, { code: totpCode(secret), recovery_code: codes[0] as string }), 400, 'VALIDATION_FAILED');
  });

  it('a password change between the two steps voids the mfa_token', async () => {
    const { user, secret } = await enrolled();
    const token = await mfaToken(user);
    const fresh = await verify(await mfaToken(user), { code: totpCode(secret) });
    const session = { ...user, headers: { authorization: `Bearer ${fresh.json().access_token}` } };
    const changed = await ctx.app.inject({
      method: 'PUT',
      url: '/auth/password',
      headers: session.headers,
      payload: { current_password: STRONG_PASSWORD, new_password: 'a very different passphrase 2026' },
    });
    expect(changed.statusCode).toBe(204);
    const res = await verify(token, { code: totpCode(secret, Date.now() + PERIOD_MS) });
    expect(res.statusCode).toBe(401);
    expect(res.json().access_token).toBeUndefined();
  });
});

describe('managing TOTP', () => {
  it('reauthentication with TOTP on needs a code too', async () => {
    const { user, secret } = await enrolled();
    expectProblem(await post('/auth/reauthenticate', { password: STRONG_PASSWORD }, user), 401, 'MFA_CODE_INVALID');
    const res = await post('/auth/reauthenticate', { password: STRONG_PASSWORD, code: totpCode(secret) }, user);
    expect(res.statusCode).toBe(200);
    expect(decodeToken(res.json().access_token).payload.amr).toEqual(['pwd', 'otp', 'mfa']);
  });

  it('new recovery codes replace the old ones', async () => {
    const { user, secret, codes } = await enrolled();
    const res = await post('/auth/mfa/recovery-codes', undefined, user);
    expect(res.statusCode).toBe(200);
    expectProblem(await verify(await mfaToken(user), { recovery_code: codes[0] as string }), 401, 'MFA_CODE_INVALID');
    expect((await verify(await mfaToken(user), { recovery_code: res.json().recovery_codes[0] })).statusCode).toBe(200);
    expect(secret).toBeDefined();
    const plain = await signUp(ctx.app);
    expectProblem(await post('/auth/mfa/recovery-codes', undefined, plain), 400, 'VALIDATION_FAILED');
  });

  it('turning TOTP off removes the seed and codes; sign-in asks for no code', async () => {
    const { user } = await enrolled();
    expect((await ctx.app.inject({ method: 'DELETE', url: '/auth/mfa/totp', headers: user.headers })).statusCode).toBe(204);
    expect((await userRow(user.id)).mfa_enabled).toBe(0);
    expect(await ctx.db.selectFrom('mfa_recovery_codes').select('id').where('user_id', '=', user.id).execute()).toEqual([]);
    expect((await login(user)).json().access_token).toBeDefined();
  });

  it("an admin's reset removes TOTP and ends every session of the user; non-admins get 403, unknown users 404", async () => {
    const admin = await signUpAdmin(ctx);
    const { user } = await enrolled();
    const other = await signUp(ctx.app);
    expectProblem(await ctx.app.inject({ method: 'DELETE', url: `/users/${user.id}/mfa`, headers: other.headers }), 403, 'FORBIDDEN');
    expectProblem(
      await ctx.app.inject({ method: 'DELETE', url: '/users/0190a5c4-7a1e-7000-8000-000000000000/mfa', headers: admin.headers }),
      404,
      'NOT_FOUND',
    );
    expect((await ctx.app.inject({ method: 'DELETE', url: `/users/${user.id}/mfa`, headers: admin.headers })).statusCode).toBe(204);
    expectProblem(await ctx.app.inject({ url: '/auth/me', headers: user.headers }), 401, 'TOKEN_INVALID');
    expect((await userRow(user.id)).mfa_enabled).toBe(0);
    expect((await login(user)).json().access_token).toBeDefined();
    const event = await ctx.db
      .selectFrom('security_events')
      .selectAll()
      .where('user_id', '=', user.id)
      .where('type', '=', 'mfa.disabled')
      .executeTakeFirstOrThrow();
    expect(event.actor_id).toBe(admin.id);
  });
});

describe('KEY_ENCRYPTION_SECRET', () => {
  it('without it (production), enrolment answers 409 MFA_UNAVAILABLE and stores nothing', async () => {
    const prod = await createTestApp({ NODE_ENV: 'production', MAIL_OUTBOX_DIR: '/tmp/gatehouse-mfa-outbox-test' });
    try {
      expect(prod.config.jwt.keyEncryptionSecret).toBe('');
      const user = await signUp(prod.app);
      const res = await prod.app.inject({ method: 'POST', url: '/auth/mfa/totp', headers: user.headers });
      expectProblem(res, 409, 'MFA_UNAVAILABLE');
      expect(await prod.db.selectFrom('mfa_totp').select('user_id').execute()).toEqual([]);
      expect((await logIn(prod.app, user.email, STRONG_PASSWORD)).accessToken).toBeDefined();
    } finally {
      await prod.close();
    }
  });
});
