import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashOpaqueToken } from '../../../src/lib/opaque-tokens.js';
import { createTestApp, STRONG_PASSWORD, type TestContext, uniqueEmail } from '../../helpers/app.js';
import { browserSuite, launchChromium, watchPage } from '../../helpers/browser.js';
import { tokenFromOutbox } from '../../helpers/outbox.js';

// The hosted account pages as a person uses them: Chromium opens the link from the mail, finds
// every control by its role and label, and the test checks the server's state afterwards
// through the API (and the database, for what the API does not show).

const NEW_PASSWORD = 'a much better passphrase 42';
const WIDTHS = [390, 1280];

const { skip, title } = browserSuite('the account pages in Chromium');

describe.skipIf(skip)(
  title,
  () => {
    let ctx: TestContext;
    let base: string;
    let browser: Browser | undefined;

    beforeAll(async () => {
      // Every page in this file talks from 127.0.0.1: the per-IP limit on mailed tokens is not
      // what is tested here (account-lifecycle.test.ts does that).
      ctx = await createTestApp({ ACCOUNT_MAX_ATTEMPTS_PER_IP: '1000' });
      await ctx.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await browser?.close();
      await ctx?.close();
    });

    async function api(method: string, path: string, body?: unknown, accessToken?: string) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...(accessToken && { authorization: `Bearer ${accessToken}` }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    }

    async function register(prefix: string): Promise<string> {
      const email = uniqueEmail(prefix);
      expect((await api('POST', '/auth/register', { email, password: STRONG_PASSWORD, name: 'Page Reader' })).status).toBe(201);
      return email;
    }

    const loginStatus = async (email: string, password: string) => (await api('POST', '/auth/login', { email, password })).status;

    async function resetToken(email: string): Promise<string> {
      expect((await api('POST', '/auth/password/forgot', { email })).status).toBe(202);
      return tokenFromOutbox(ctx.config.mail.outboxDir, email, 'reset-password');
    }

    const tokenRow = (token: string) =>
      ctx.db.selectFrom('account_tokens').selectAll().where('token_hash', '=', hashOpaqueToken(token)).executeTakeFirstOrThrow();

    async function expire(token: string): Promise<void> {
      await ctx.db
        .updateTable('account_tokens')
        .set({ expires_at: new Date(Date.now() - 60_000).toISOString() })
        .where('token_hash', '=', hashOpaqueToken(token))
        .execute();
    }

    /** The accessible name of the focused control: its label, or a button's text. */
    const focused = (page: Page) =>
      page.evaluate('(e => e.labels?.[0]?.textContent ?? e.textContent)(document.activeElement)') as Promise<string>;

    /**
     * Opens the mailed link in a fresh context `width` px wide, and checks what every page load
     * must give: the strict policy, the token gone from the address bar, a fitting layout.
     */
    async function open(width: number, path: string, token: string) {
      browser ??= await launchChromium();
      const context: BrowserContext = await browser.newContext({ viewport: { width, height: 800 } });
      const page: Page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const watched = await watchPage(page);
      const response = await page.goto(`${base}${path}?token=${token}`);
      expect(response?.status()).toBe(200);
      const csp = response?.headers()['content-security-policy'] ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(response?.headers()['referrer-policy']).toBe('no-referrer');
      // The module script runs after parsing; its first act is to take the token out of the address.
      await page.waitForFunction('!location.search.includes("token")');
      expect(page.url()).toBe(`${base}${path}`);
      // Nothing wider than the screen: no sideways scrolling on a phone.
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(width);
      return {
        page,
        message: page.getByRole('status'),
        /**
         * Asserts a clean run (no script errors or CSP violations, no other origin, no error
         * answers but the expected ones) and closes the page.
         */
        async finish(expectedHttpErrors: string[] = []) {
          expect(watched.errors).toEqual([]);
          expect(watched.httpErrors).toEqual(expectedHttpErrors);
          expect([...watched.origins]).toEqual([base]);
          await context.close();
        },
      };
    }

    describe.each(WIDTHS)('%i px wide', (width) => {
      it('verify-email: the GET changes nothing, the button (by keyboard) confirms; the used link then says so', async () => {
        const email = await register('verify');
        const token = await tokenFromOutbox(ctx.config.mail.outboxDir, email, 'verify-email');
        const { page, message, finish } = await open(width, '/verify-email', token);
        await expect(page.title()).resolves.toBe('Confirm your email address · Gatehouse');
        expect((await tokenRow(token)).used_at).toBeNull();

        // Keyboard only: the button is the first stop of the tab order.
        await page.keyboard.press('Tab');
        const button = page.getByRole('button', { name: 'Confirm my email address' });
        expect(await focused(page)).toBe('Confirm my email address');
        await page.keyboard.press('Enter');
        await message.getByText('Your email address is confirmed.').waitFor();
        expect(await button.isVisible()).toBe(false);

        const login = await api('POST', '/auth/login', { email, password: STRONG_PASSWORD });
        expect((await api('GET', '/auth/me', undefined, login.body.access_token)).body.email_verified).toBe(true);

        // The same link again, as a person clicking it twice in their mail would.
        const again = await open(width, '/verify-email', token);
        await again.page.getByRole('button', { name: 'Confirm my email address' }).click();
        await again.message.getByText('The token is invalid, expired or already used.').waitFor();
        expect(await again.message.innerText()).toMatch(/Ask for a new mail/);
        await again.finish(['400 POST /auth/verify-email']);
        await finish();
      });

      it('verify-email: an expired link shows the error and verifies nothing', async () => {
        const email = await register('verify-expired');
        const token = await tokenFromOutbox(ctx.config.mail.outboxDir, email, 'verify-email');
        await expire(token);
        const { page, message, finish } = await open(width, '/verify-email', token);
        await page.getByRole('button', { name: 'Confirm my email address' }).click();
        await message.getByText('The token is invalid, expired or already used.').waitFor();
        expect(await message.getAttribute('class')).toContain('error');
        const login = await api('POST', '/auth/login', { email, password: STRONG_PASSWORD });
        expect((await api('GET', '/auth/me', undefined, login.body.access_token)).body.email_verified).toBe(false);
        await finish(['400 POST /auth/verify-email']);
      });

      it('reset-password: states the rules, sets the new password; the new one signs in and the old one fails', async () => {
        const email = await register('reset');
        const token = await resetToken(email);
        const { page, message, finish } = await open(width, '/reset-password', token);
        await expect(page.title()).resolves.toBe('Choose a new password · Gatehouse');
        await page.getByText('be 12 to 128 characters long').waitFor();
        await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
        await page.getByLabel('Repeat new password').fill(NEW_PASSWORD);
        // Enter in a field submits the form, as with any form.
        await page.getByLabel('Repeat new password').press('Enter');
        await message.getByText('Your password is changed.').waitFor();
        expect(await page.getByRole('button', { name: 'Set new password' }).isVisible()).toBe(false);
        // The form is gone, so the focus moves to the answer rather than being lost.
        expect(await focused(page)).toMatch(/^Your password is changed\./);

        expect(await loginStatus(email, NEW_PASSWORD)).toBe(200);
        expect(await loginStatus(email, STRONG_PASSWORD)).toBe(401);
        expect((await tokenRow(token)).used_at).not.toBeNull();
        await finish();
      });

      it('reset-password: a repetition that differs is caught on the page, and nothing is sent', async () => {
        const email = await register('reset-mismatch');
        const token = await resetToken(email);
        const { page, message, finish } = await open(width, '/reset-password', token);
        let posted = 0;
        page.on('request', (request) => {
          if (request.method() === 'POST') posted += 1;
        });
        await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
        await page.getByLabel('Repeat new password').fill(`${NEW_PASSWORD}!`);
        await page.getByRole('button', { name: 'Set new password' }).click();
        await message.getByText('The two passwords are not the same.', { exact: false }).waitFor();
        const repeat = page.getByLabel('Repeat new password');
        expect(await repeat.getAttribute('aria-invalid')).toBe('true');
        expect(await focused(page)).toBe('Repeat new password');

        expect(posted).toBe(0);
        expect((await tokenRow(token)).used_at).toBeNull();
        expect(await loginStatus(email, STRONG_PASSWORD)).toBe(200);
        await finish();
      });

      it("reset-password: a common password shows the server's validation message and changes nothing; the link still works", async () => {
        const email = await register('reset-common');
        const token = await resetToken(email);
        const { page, message, finish } = await open(width, '/reset-password', token);
        const password = page.getByLabel('New password', { exact: true });
        await password.fill('password1234');
        await page.getByLabel('Repeat new password').fill('password1234');
        await page.getByRole('button', { name: 'Set new password' }).click();
        // VALIDATION_FAILED: the detail, then each errors[] entry named by its field's label.
        await message.getByText('The password does not meet the policy.').waitFor();
        await message.getByRole('listitem').filter({ hasText: 'New password is too common; choose a less guessable password.' }).waitFor();
        expect(await password.getAttribute('aria-invalid')).toBe('true');

        expect((await tokenRow(token)).used_at).toBeNull();
        expect(await loginStatus(email, STRONG_PASSWORD)).toBe(200);

        // The token stayed in page memory: a better choice succeeds without a new mail.
        await password.fill(NEW_PASSWORD);
        await page.getByLabel('Repeat new password').fill(NEW_PASSWORD);
        await page.getByRole('button', { name: 'Set new password' }).click();
        await message.getByText('Your password is changed.').waitFor();
        expect(await loginStatus(email, NEW_PASSWORD)).toBe(200);
        await finish(['400 POST /auth/password/reset']);
      });

      it('a link without its token says so, and offers no control that could not work', async () => {
        for (const path of ['/verify-email', '/reset-password']) {
          const { page, message, finish } = await open(width, path, '');
          await message.getByText('This link is incomplete').waitFor();
          expect(await page.getByRole('button').count()).toBe(0);
          await finish();
        }
      });

      it('reset-password: an expired link shows the error and the old password stays', async () => {
        const email = await register('reset-expired');
        const token = await resetToken(email);
        await expire(token);
        const { page, message, finish } = await open(width, '/reset-password', token);
        await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
        await page.getByLabel('Repeat new password').fill(NEW_PASSWORD);
        await page.getByRole('button', { name: 'Set new password' }).click();
        await message.getByText('The token is invalid, expired or already used.').waitFor();
        expect(await loginStatus(email, STRONG_PASSWORD)).toBe(200);
        expect(await loginStatus(email, NEW_PASSWORD)).toBe(401);
        await finish(['400 POST /auth/password/reset']);
      });
    });
  },
  300_000,
);
