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

/** The modules a script imports, as written in it (`from './x.js'`, `import './x.js'`). */
function importsOf(script: string): string[] {
  return [...script.matchAll(/^(?:import|export)\s(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? '');
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
    // One stylesheet, one entry module, and the modules it imports announced up front.
    expect(res.body.match(/<link rel="stylesheet" href="assets\/[^"]+">/g)).toHaveLength(1);
    expect(res.body.match(/<script type="module" src="assets\/[^"]+"><\/script>/g)).toHaveLength(1);
    expect(assetUrls(res.body).length).toBeGreaterThanOrEqual(3);
  });

  it.each([
    ['/verify-email', 'mail-links'],
    ['/reset-password', 'mail-links'],
    ['/account', 'account'],
    ['/admin', 'admin-console'],
  ])(
    '%s: its entry module, the modules it imports and the stylesheet, under content-hashed names, cacheable for good',
    async (url, entry) => {
      const page = await ctx.app.inject({ url });
      const urls = assetUrls(page.body);
      const script = page.body.match(/<script type="module" src="assets\/([^"]+)">/)?.[1];
      expect(script).toMatch(new RegExp(`^${entry}\\.[\\w-]{12}\\.js$`));
      const preloaded = [...page.body.matchAll(/<link rel="modulepreload" href="assets\/([^"]+)">/g)].map((m) => m[1]);
      const types = new Set<string>();
      const imported = new Set<string>();
      for (const asset of urls) {
        expect(asset).toMatch(/^\/assets\/[a-z-]+\.[\w-]{12}\.(?:js|css)$/);
        const res = await ctx.app.inject({ url: asset });
        expect(res.statusCode, asset).toBe(200);
        expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
        types.add(String(res.headers['content-type']));
        if (!asset.endsWith('.js')) continue;
        // Every import names a module beside it by its hashed name, and that module is served.
        for (const specifier of importsOf(res.body)) {
          expect(specifier, `${asset} imports ${specifier}`).toMatch(/^\.\/[a-z-]+\.[\w-]{12}\.js$/);
          imported.add(specifier.slice(2));
        }
      }
      // What the modules import is exactly what the page preloads: nothing fetched late, nothing extra.
      expect([...imported].sort()).toEqual([...preloaded].sort());
      expect([...types].sort()).toEqual(['text/css; charset=utf-8', 'text/javascript; charset=utf-8']);
    },
  );

  it('serves no asset under its plain name, and nothing outside the asset list', async () => {
    for (const url of ['/assets/account-pages.css', '/assets/api-client.js', '/assets/admin-console.js', '/assets/api-client.ts']) {
      expectProblem(await ctx.app.inject({ url }), 404, 'NOT_FOUND');
    }
    expectProblem(await ctx.app.inject({ url: '/assets/..%2Fpackage.json' }), 404, 'NOT_FOUND');
    expectProblem(await ctx.app.inject({ url: '/assets/..%2F..%2Fdist%2Fpages%2Fapi-client.js' }), 404, 'NOT_FOUND');
  });

  it('/account and /admin share one API client and one sign-in module, served under one name', async () => {
    const moduleOf = (body: string, name: string) => body.match(new RegExp(`href="assets/(${name}\\.[\\w-]{12}\\.js)"`))?.[1];
    const account = (await ctx.app.inject({ url: '/account' })).body;
    const admin = (await ctx.app.inject({ url: '/admin' })).body;
    for (const shared of ['api-client', 'sign-in', 'step-up-dialog', 'webauthn', 'dom']) {
      expect(moduleOf(account, shared), shared).toBeDefined();
      expect(moduleOf(admin, shared), shared).toBe(moduleOf(account, shared));
    }
    // The mail-link pages need no sign-in code at all.
    const mail = (await ctx.app.inject({ url: '/verify-email' })).body;
    expect(moduleOf(mail, 'api-client')).toBe(moduleOf(account, 'api-client'));
    expect(moduleOf(mail, 'sign-in')).toBeUndefined();
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

  it('/admin has the same sign-in (passkey included), the step-up dialog, the users pager, and starts signed out', async () => {
    const res = await ctx.app.inject({ url: '/admin' });
    for (const [id, label] of [
      ['login-email', 'Email'],
      ['login-password', 'Password'],
      ['mfa-code', 'Sign-in code'],
      ['user-query', 'Search by email or name'],
      ['reauth-password', 'Password'],
      ['reauth-code', 'Sign-in code'],
    ]) {
      expect(res.body).toContain(`<label for="${id}">${label}</label>`);
    }
    expect(res.body).toContain('<button type="button" id="passkey-login" class="secondary">Sign in with a passkey</button>');
    expect(res.body).toMatch(/<dialog id="reauth-dialog" aria-labelledby="reauth-heading">/);
    expect(res.body).toMatch(/<dialog id="confirm-dialog" aria-labelledby="confirm-heading">/);
    expect(res.body).toContain('<nav class="pager" aria-label="Pages of users">');
    expect(res.body).toContain('<div id="console" hidden>');
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
