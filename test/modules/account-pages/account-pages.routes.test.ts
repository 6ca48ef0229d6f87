import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashOpaqueToken } from '../../../src/lib/opaque-tokens.js';
import { PAGE_CSP } from '../../../src/lib/page-shell.js';
import { createTestApp, expectProblem, signUp, type TestContext } from '../../helpers/app.js';
import { tokenFromOutbox } from '../../helpers/outbox.js';

// The pages over HTTP (app.inject): headers, markup rules and "opening the link changes
// nothing". What a person does on them is in account-pages.browser.test.ts and
// account.browser.test.ts.

const PAGES = ['/verify-email', '/reset-password', '/account', '/admin'];

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestApp();
});
afterAll(async () => ctx?.close());

/** The stylesheet and script URLs a page refers to (relative to it, as the shell writes them). */
function assetUrls(body: string): string[] {
  return [...body.matchAll(/(?:href|src)="(assets\/[^"]+)"/g)].map((m) => `/${m[1]}`);
}

describe('GET /verify-email, GET /reset-password and GET /account', () => {
  it.each(PAGES)('%s is an HTML page with the strict page policy instead of the API one', async (url) => {
    const res = await ctx.app.inject({ url: `${url}?token=${'A'.repeat(43)}` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(PAGE_CSP);
    const csp = String(res.headers['content-security-policy']);
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ]) {
      expect(csp.split('; ')).toContain(directive);
    }
    expect(csp).not.toMatch(/unsafe-|\*|https?:|data:|blob:|allow-duplicates/);
    // Trusted Types: string-to-DOM sinks need a policy, and only one named policy may exist.
    expect(csp.split('; ')).toEqual(expect.arrayContaining(["require-trusted-types-for 'script'", 'trusted-types gatehouse-qr-svg']));
    expect(res.headers).toMatchObject({
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
    });
    // Nothing inline for the CSP to forbid, and nothing from elsewhere.
    expect(res.body).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    expect(res.body).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(res.body).not.toMatch(/(?:href|src)="(?:https?:)?\/\//);
    // The token is the script's business: the server does not echo it into the page.
    expect(res.body).not.toContain('A'.repeat(43));
    expect(assetUrls(res.body)).toHaveLength(2);
  });

  it('serves the page script and stylesheet under content-hashed names, cacheable for good', async () => {
    const page = await ctx.app.inject({ url: '/verify-email' });
    const types: string[] = [];
    for (const url of assetUrls(page.body)) {
      expect(url).toMatch(/^\/assets\/account-pages\.[\w-]{12}\.(?:js|css)$/);
      const res = await ctx.app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      types.push(String(res.headers['content-type']));
    }
    expect(types.sort()).toEqual(['text/css; charset=utf-8', 'text/javascript; charset=utf-8']);
    expectProblem(await ctx.app.inject({ url: '/assets/account-pages.js' }), 404, 'NOT_FOUND');
    expectProblem(await ctx.app.inject({ url: '/assets/..%2Fpackage.json' }), 404, 'NOT_FOUND');
  });

  it('states the password rules the API enforces and labels both fields', async () => {
    const res = await ctx.app.inject({ url: '/reset-password' });
    expect(res.body).toContain('<label for="new-password">New password</label>');
    expect(res.body).toContain('<label for="repeat-password">Repeat new password</label>');
    expect(res.body).toContain('be 12 to 128 characters long');
    expect(res.body).toMatch(/not be a common password/);
    expect(res.body).toMatch(/not contain the name part of your email address/);
  });

  it('/account labels every sign-in and settings control, keeps the step-up dialog, and starts signed out', async () => {
    const res = await ctx.app.inject({ url: '/account' });
    for (const [id, label] of [
      ['login-email', 'Email'],
      ['login-password', 'Password'],
      ['mfa-code', 'Sign-in code'],
      ['profile-name', 'Name'],
      ['current-password', 'Current password'],
      ['change-new-password', 'New password'],
      ['totp-confirm-code', 'Code from the app'],
      ['passkey-name', 'Passkey name'],
      ['reauth-password', 'Password'],
    ]) {
      expect(res.body).toContain(`<label for="${id}">${label}</label>`);
    }
    expect(res.body).toMatch(/<dialog id="reauth-dialog" aria-labelledby="reauth-heading">/);
    // Everything past sign-in is hidden until the script holds tokens.
    expect(res.body).toContain('<div id="account" hidden>');
    // The page holds no token of its own and asks for none in its address.
    expect(res.body).not.toMatch(/token=/);
  });

  it('opening a mailed link changes nothing (mail scanners follow links); the button does', async () => {
    const user = await signUp(ctx.app);
    const token = await tokenFromOutbox(ctx.config.mail.outboxDir, user.email, 'verify-email');
    const page = await ctx.app.inject({ url: `/verify-email?token=${token}` });
    expect(page.statusCode).toBe(200);
    const row = await ctx.db
      .selectFrom('account_tokens')
      .selectAll()
      .where('token_hash', '=', hashOpaqueToken(token))
      .executeTakeFirstOrThrow();
    expect(row.used_at).toBeNull();
    expect((await ctx.app.inject({ url: '/auth/me', headers: user.headers })).json().email_verified).toBe(false);

    const confirm = await ctx.app.inject({ method: 'POST', url: '/auth/verify-email', payload: { token } });
    expect(confirm.statusCode).toBe(204);
    expect((await ctx.app.inject({ url: '/auth/me', headers: user.headers })).json().email_verified).toBe(true);
  });

  it('keeps the API policy on every other answer, and the pages out of the OpenAPI document', async () => {
    for (const url of ['/healthz', '/auth/me', '/no-such-page']) {
      const csp = (await ctx.app.inject({ url })).headers['content-security-policy'];
      expect(csp, url).toMatch(/^default-src 'none';/);
      expect(csp, url).not.toBe(PAGE_CSP);
    }
    const doc = (await ctx.app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => PAGES.includes(p) || p.startsWith('/assets'))).toEqual([]);
    // Only GET (and its HEAD): a POST to a page path is the API's 405, not a second way in.
    expectProblem(await ctx.app.inject({ method: 'POST', url: '/reset-password', payload: {} }), 405, 'METHOD_NOT_ALLOWED');
  });
});

describe('ACCOUNT_PAGES_ENABLED=false', () => {
  it('answers 404 for the pages and their assets', async () => {
    const enabled = (await ctx.app.inject({ url: '/verify-email' })).body;
    const off = await createTestApp({ ACCOUNT_PAGES_ENABLED: 'false' });
    try {
      for (const url of [...PAGES, ...assetUrls(enabled)]) expectProblem(await off.app.inject({ url }), 404, 'NOT_FOUND');
    } finally {
      await off.close();
    }
  });
});
