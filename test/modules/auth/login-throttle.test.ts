import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { storeResetToken } from '../../helpers/account-tokens.js';
import { createTestApp, expectProblem, STRONG_PASSWORD, signUp, type TestContext, uniqueEmail } from '../../helpers/app.js';

let ctx: TestContext;
beforeAll(async () => {
  // Defaults except a small per-IP limit, so both limits can be reached quickly.
  ctx = await createTestApp({ LOGIN_MAX_FAILURES_PER_IP: '8' });
});
afterAll(async () => ctx.close());
afterEach(() => vi.useRealTimers());

const login = (email: string, password: string, ip: string) =>
  ctx.app.inject({ method: 'POST', url: '/auth/login', payload: { email, password }, remoteAddress: ip });

describe('login throttling', () => {
  it('defaults: 5 failures per email in 15 minutes', () => {
    expect(ctx.config.loginThrottle).toMatchObject({ maxFailuresPerEmail: 5, windowSeconds: 900 });
  });

  it('blocks an email after 5 failures, even with the right password, with Retry-After; other emails are unaffected', async () => {
    const user = await signUp(ctx.app);
    for (let i = 0; i < 5; i++) expectProblem(await login(user.email, 'wrong password!!', `10.0.0.${i + 1}`), 401, 'INVALID_CREDENTIALS');
    const blocked = await login(user.email, STRONG_PASSWORD, '10.0.0.99');
    expectProblem(blocked, 429, 'RATE_LIMITED');
    const retryAfter = Number(blocked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(800);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // No session was created by the blocked attempt.
    expect(await ctx.db.selectFrom('sessions').select('id').where('user_id', '=', user.id).execute()).toHaveLength(1);

    const other = await signUp(ctx.app);
    expect((await login(other.email, STRONG_PASSWORD, '10.0.0.99')).statusCode).toBe(200);
  });

  it('the email block ends when the window passes (controlled clock)', async () => {
    const user = await signUp(ctx.app);
    for (let i = 0; i < 5; i++) await login(user.email, 'wrong password!!', `10.1.0.${i + 1}`);
    expectProblem(await login(user.email, STRONG_PASSWORD, '10.1.0.50'), 429, 'RATE_LIMITED');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 901_000);
    expect((await login(user.email, STRONG_PASSWORD, '10.1.0.50')).statusCode).toBe(200);
  });

  it('unknown emails are throttled exactly like known ones (no enumeration through 429s)', async () => {
    const ghost = uniqueEmail('ghost');
    for (let i = 0; i < 5; i++) expectProblem(await login(ghost, 'wrong password!!', `10.2.0.${i + 1}`), 401, 'INVALID_CREDENTIALS');
    expectProblem(await login(ghost, 'wrong password!!', '10.2.0.9'), 429, 'RATE_LIMITED');
  });

  it('a success gives back only its own attempt: the failures before it still count', async () => {
    const user = await signUp(ctx.app);
    for (let i = 0; i < 4; i++) await login(user.email, 'wrong password!!', `10.3.0.${i + 1}`);
    // Successes never use up the budget ...
    for (let i = 0; i < 3; i++) expect((await login(user.email, STRONG_PASSWORD, '10.3.0.9')).statusCode).toBe(200);
    // ... but do not erase the failures either: one more failure, and the email is blocked.
    expectProblem(await login(user.email, 'wrong password!!', '10.3.1.1'), 401, 'INVALID_CREDENTIALS');
    expectProblem(await login(user.email, STRONG_PASSWORD, '10.3.1.2'), 429, 'RATE_LIMITED');
  });

  it('a password reset (proof of the mailbox) clears the email count', async () => {
    const user = await signUp(ctx.app);
    for (let i = 0; i < 5; i++) await login(user.email, 'wrong password!!', `10.3.2.${i + 1}`);
    expectProblem(await login(user.email, STRONG_PASSWORD, '10.3.2.9'), 429, 'RATE_LIMITED');
    const token = await storeResetToken(ctx.db, user);
    const reset = await ctx.app.inject({
      method: 'POST',
      url: '/auth/password/reset',
      payload: { token, new_password: 'a brand new passphrase 77' },
      remoteAddress: '10.3.2.10',
    });
    expect(reset.statusCode).toBe(204);
    expect((await login(user.email, 'a brand new passphrase 77', '10.3.2.11')).statusCode).toBe(200);
  });

  it('blocks a client IP that sprays failures across many emails', async () => {
    const ip = '10.9.9.9';
    for (let i = 0; i < 8; i++) expectProblem(await login(uniqueEmail('spray'), 'wrong password!!', ip), 401, 'INVALID_CREDENTIALS');
    const user = await signUp(ctx.app);
    const res = await login(user.email, STRONG_PASSWORD, ip);
    expectProblem(res, 429, 'RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect((await login(user.email, STRONG_PASSWORD, '10.9.9.10')).statusCode).toBe(200);
  });

  it('email normalisation cannot dodge the limit (case and spaces)', async () => {
    const user = await signUp(ctx.app);
    const variants = [
      user.email,
      user.email.toUpperCase(),
      ` ${user.email} `,
      user.email.replace(/^./, (c) => c.toUpperCase()),
      `\t${user.email}`,
    ];
    for (const [i, email] of variants.entries()) await login(email, 'wrong password!!', `10.4.0.${i + 1}`);
    expectProblem(await login(user.email, STRONG_PASSWORD, '10.4.0.99'), 429, 'RATE_LIMITED');
  });
});
