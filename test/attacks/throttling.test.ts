import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, STRONG_PASSWORD, signUp, type TestContext, uniqueEmail } from '../helpers/app.js';
import { expectRefused } from '../helpers/attacks.js';

// Attacks on the login throttle (test/modules/auth/login-throttle.test.ts covers its rules):
// spoofed client-IP headers, the password-change oracle, and Unicode aliases of an email.

let ctx: TestContext;
beforeAll(async () => {
  // A small per-IP limit so the IP rules are reached in a few requests; per email stays 5.
  ctx = await createTestApp({ LOGIN_MAX_FAILURES_PER_IP: '6' });
});
afterAll(async () => ctx.close());

const login = (email: string, password: string, remoteAddress: string, headers: Record<string, string> = {}) =>
  ctx.app.inject({ method: 'POST', url: '/auth/login', payload: { email, password }, remoteAddress, headers });

describe('throttle evasion', () => {
  it('rotating X-Forwarded-For and friends does not reset the per-IP count (TRUST_PROXY is off) → 429, no session', async () => {
    const victim = await signUp(ctx.app);
    const ip = '10.40.0.1';
    const spoofs: Record<string, string>[] = [
      { 'x-forwarded-for': '203.0.113.1' },
      { 'x-forwarded-for': '203.0.113.2, 10.40.0.1' },
      { 'x-real-ip': '203.0.113.3' },
      { forwarded: 'for=203.0.113.4' },
      { 'true-client-ip': '203.0.113.5' },
      { 'cf-connecting-ip': '203.0.113.6' },
    ];
    for (const headers of spoofs)
      expectProblem(await login(uniqueEmail('spray'), 'wrong password!!', ip, headers), 401, 'INVALID_CREDENTIALS');
    const { res } = await expectRefused(
      ctx,
      {
        method: 'POST',
        url: '/auth/login',
        payload: { email: victim.email, password: STRONG_PASSWORD },
        remoteAddress: ip,
        headers: { 'x-forwarded-for': '198.51.100.77' },
      },
      429,
      'RATE_LIMITED',
    );
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('a Kelvin-sign (U+212A) spelling of an email shares its counter → 429 for the real spelling', async () => {
    const victim = await signUp(ctx.app, { email: `kate-${Date.now()}@example.com` });
    const alias = victim.email.replace(/^k/, '\u212a');
    expect(alias.toLowerCase()).toBe(victim.email);
    for (let i = 0; i < 5; i++) {
      const email = i % 2 === 0 ? alias : victim.email;
      expectProblem(await login(email, 'wrong password!!', `10.41.0.${i + 1}`), 401, 'INVALID_CREDENTIALS');
    }
    await expectRefused(
      ctx,
      { method: 'POST', url: '/auth/login', payload: { email: victim.email, password: STRONG_PASSWORD }, remoteAddress: '10.41.0.99' },
      429,
      'RATE_LIMITED',
    );
  });

  it('a stolen access token cannot brute-force the current password: 5 misses, then 429 even for the right one', async () => {
    const victim = await signUp(ctx.app, { ip: '10.42.0.1' });
    const change = (current: string) => ({
      method: 'PUT' as const,
      url: '/auth/password',
      headers: victim.headers,
      payload: { current_password: current, new_password: 'attacker chosen passphrase 2026' },
      remoteAddress: '10.42.0.2',
    });
    for (let i = 0; i < 5; i++) await expectRefused(ctx, change(`guess number ${i} of many`), 403, 'INVALID_CREDENTIALS');
    const { res } = await expectRefused(ctx, change(STRONG_PASSWORD), 429, 'RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('a blocked email answers 429 before any password work, for a known and an unknown email alike', async () => {
    const known = await signUp(ctx.app);
    const unknown = uniqueEmail('ghost');
    for (const email of [known.email, unknown]) {
      for (let i = 0; i < 5; i++) await login(email, 'wrong password!!', `10.43.${i}.1`);
      const { body } = await expectRefused(
        ctx,
        { method: 'POST', url: '/auth/login', payload: { email, password: 'wrong password!!' }, remoteAddress: '10.43.9.9' },
        429,
        'RATE_LIMITED',
      );
      expect(body.detail).toBe('Too many failed sign-in attempts; try again later.');
    }
  });
});
