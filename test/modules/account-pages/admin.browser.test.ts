import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../../src/modules/mfa/totp.js';
import { createTestApp, STRONG_PASSWORD, type TestContext, uniqueEmail } from '../../helpers/app.js';
import { browserSuite, launchChromium, watchPage } from '../../helpers/browser.js';

// /admin as an operator uses it: Chromium finds every control by its role and name, and after
// each action the test checks the server's state through the API (the user's own tokens) and the
// database.

const WIDTHS = [390, 1280];

const { skip, title } = browserSuite('the admin console in Chromium');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.skipIf(skip)(
  title,
  () => {
    let ctx: TestContext;
    let base: string;
    let apiBase: string;
    let browser: Browser | undefined;

    beforeAll(async () => {
      const port = await freePort();
      ctx = await createTestApp({
        PUBLIC_URL: `http://localhost:${port}`,
        // Every page and API call here comes from 127.0.0.1: per-IP limits are not what is tested.
        LOGIN_MAX_FAILURES_PER_IP: '1000',
        REGISTER_MAX_PER_IP: '1000',
      });
      await ctx.app.listen({ port, host: '127.0.0.1' });
      base = `http://localhost:${port}`;
      apiBase = `http://127.0.0.1:${port}`;
    });

    afterAll(async () => {
      await browser?.close();
      await ctx?.close();
    });

    async function api(method: string, path: string, body?: unknown, accessToken?: string) {
      const res = await fetch(`${apiBase}${path}`, {
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

    async function register(prefix: string, role: 'user' | 'admin' = 'user'): Promise<{ email: string; id: string }> {
      const email = uniqueEmail(prefix);
      const res = await api('POST', '/auth/register', { email, password: STRONG_PASSWORD, name: `${prefix} person` });
      expect(res.status).toBe(201);
      const id = res.body.user.id as string;
      if (role === 'admin') await ctx.db.updateTable('users').set({ role: 'admin' }).where('id', '=', id).execute();
      return { email, id };
    }

    async function apiSession(email: string): Promise<string> {
      const res = await api('POST', '/auth/login', { email, password: STRONG_PASSWORD });
      expect(res.status).toBe(200);
      return res.body.access_token as string;
    }

    const meStatus = async (token: string) => (await api('GET', '/auth/me', undefined, token)).status;

    async function open(width: number) {
      browser ??= await launchChromium();
      const context: BrowserContext = await browser.newContext({ viewport: { width, height: 900 } });
      const page: Page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const watched = await watchPage(page);
      const response = await page.goto(`${base}/admin`);
      expect(response?.status()).toBe(200);
      const csp = response?.headers()['content-security-policy'] ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      await expect(page.title()).resolves.toBe('Gatehouse console · Gatehouse');
      const fits = async () => expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(width);
      await fits();
      return {
        page,
        fits,
        message: page.locator('#message'),
        async signIn(email: string) {
          const form = page.getByRole('region', { name: 'Admin sign-in' });
          await form.getByLabel('Email').fill(email);
          await form.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
          await form.getByRole('button', { name: 'Sign in', exact: true }).click();
        },
        async finish(expectedHttpErrors: string[] = []) {
          expect(watched.errors).toEqual([]);
          expect(watched.httpErrors).toEqual(expectedHttpErrors);
          expect([...watched.origins]).toEqual([base]);
          expect(await page.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
          expect(await context.cookies()).toEqual([]);
          await context.close();
        },
      };
    }

    it('role change, event filter, a refused key rotation in words, and a confirmed delete', async () => {
      const admin = await register('console-admin', 'admin');
      const target = await register('console-other');
      const { page, message, signIn, finish } = await open(1280);
      await signIn(admin.email);
      await message.getByText('Signed in to the console.').waitFor();
      const users = page.getByRole('region', { name: 'Users' });
      await users.getByLabel('Search by email or name').fill(target.email);
      await users.getByRole('button', { name: 'Search', exact: true }).click();
      await users.getByRole('button', { name: target.email }).click();
      const detail = page.getByRole('region', { name: `User ${target.email}` });

      await detail.getByLabel('Role').selectOption('admin');
      await detail.getByRole('button', { name: 'Change role' }).click();
      await detail.getByRole('status').getByText(`${target.email} is now an admin.`).waitFor();
      expect((await ctx.db.selectFrom('users').select('role').where('id', '=', target.id).executeTakeFirstOrThrow()).role).toBe('admin');
      await detail
        .getByRole('list', { name: 'Their security events' })
        .getByText(/^user\.role_changed/)
        .waitFor();

      const events = page.getByRole('region', { name: 'Security events' });
      await events.getByLabel('Type').selectOption('user.role_changed');
      await events.getByRole('button', { name: 'Show events' }).click();
      await expect
        .poll(async () => (await events.getByRole('listitem').allTextContents()).every((t) => t.startsWith('user.role_changed')))
        .toBe(true);

      // HS256: the API refuses to rotate, and the console says why.
      const keys = page.getByRole('region', { name: 'Signing keys' });
      await keys.getByRole('button', { name: 'Rotate signing key' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Rotate key' }).click();
      await keys
        .getByRole('status')
        .getByText(/HS256 signs with JWT_SECRET/)
        .waitFor();

      await detail.getByRole('button', { name: 'Delete user' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Delete user' }).click();
      await users.getByRole('status').getByText(`${target.email} is deleted.`).waitFor();
      expect(await ctx.db.selectFrom('users').select('id').where('id', '=', target.id).executeTakeFirst()).toBeUndefined();
      await finish(['409 POST /admin/keys/rotate']);
    });

    /** Turns TOTP on through the API; returns the seed. The confirming code is a step old, so the next one is fresh. */
    async function enrolTotp(email: string): Promise<string> {
      const token = await apiSession(email);
      const { body } = await api('POST', '/auth/mfa/totp', undefined, token);
      const confirmed = await api('POST', '/auth/mfa/totp/confirm', { code: totpCode(body.secret, Date.now() - 30_000) }, token);
      expect(confirmed.status).toBe(200);
      return body.secret as string;
    }

    it("two-factor sign-in, reset of a user's two-factor, and LAST_ADMIN in words", async () => {
      // Only this test's admin may be the last active one: the others' admins are demoted first.
      const admin = await register('console-last-admin', 'admin');
      await ctx.db.updateTable('users').set({ role: 'user' }).where('id', '!=', admin.id).execute();
      const secret = await enrolTotp(admin.email);
      const target = await register('console-mfa-user');
      await enrolTotp(target.email);
      const { page, message, signIn, finish } = await open(1280);

      await signIn(admin.email);
      await message.getByText('Now enter the code from your authenticator app.', { exact: false }).waitFor();
      const signInRegion = page.getByRole('region', { name: 'Admin sign-in' });
      await signInRegion.getByLabel('Sign-in code').fill(totpCode(secret));
      await signInRegion.getByRole('button', { name: 'Continue' }).click();
      await message.getByText('Signed in to the console.').waitFor();

      const users = page.getByRole('region', { name: 'Users' });
      await users.getByLabel('Search by email or name').fill(target.email);
      await users.getByRole('button', { name: 'Search', exact: true }).click();
      await users.getByRole('button', { name: target.email }).click();
      let detail = page.getByRole('region', { name: `User ${target.email}` });
      await detail.getByRole('button', { name: 'Reset two-factor sign-in' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Reset two-factor' }).click();
      await detail.getByRole('status').getByText(`Two-factor sign-in of ${target.email} is off.`).waitFor();
      const login = await api('POST', '/auth/login', { email: target.email, password: STRONG_PASSWORD });
      expect(login.status).toBe(200);
      expect(login.body.mfa_required).toBeUndefined();

      // Demoting the last active admin: the API refuses, the console says so in words.
      await users.getByLabel('Search by email or name').fill(admin.email);
      await users.getByRole('button', { name: 'Search', exact: true }).click();
      await users.getByRole('button', { name: admin.email }).click();
      detail = page.getByRole('region', { name: `User ${admin.email}` });
      await detail.getByLabel('Role').selectOption('user');
      await detail.getByRole('button', { name: 'Change role' }).click();
      await detail
        .getByRole('status')
        .getByText('This would leave the service without an active admin. Make another user an admin first, then try again.')
        .waitFor();
      expect((await ctx.db.selectFrom('users').select('role').where('id', '=', admin.id).executeTakeFirstOrThrow()).role).toBe('admin');
      await finish([`409 PATCH /users/${admin.id}`]);
    });

    describe.each(WIDTHS)('%i px wide', (width) => {
      it('an admin signs in, finds a user, ends their sessions and disables them', async () => {
        const admin = await register('console-admin', 'admin');
        const target = await register('console-target');
        const targetToken = await apiSession(target.email);
        const { page, fits, message, signIn, finish } = await open(width);

        await signIn(admin.email);
        await message.getByText('Signed in to the console.').waitFor();
        const users = page.getByRole('region', { name: 'Users' });
        await users.getByRole('row').nth(1).waitFor();
        await fits();
        // Status and keys load with the console.
        await page.getByText(/^Ready: the database answers/).waitFor();
        await page.getByRole('region', { name: 'Signing keys' }).getByRole('cell', { name: 'signing' }).waitFor();

        // Search: only the matching user is listed.
        await users.getByLabel('Search by email or name').fill(target.email);
        await users.getByRole('button', { name: 'Search', exact: true }).click();
        const rows = users.getByRole('row');
        await expect.poll(() => rows.count()).toBe(2);
        await users.getByRole('button', { name: target.email }).click();
        await fits();

        const detail = page.getByRole('region', { name: `User ${target.email}` });
        await detail.getByText('active', { exact: true }).waitFor();
        await detail.getByRole('list', { name: 'Live sessions' }).getByRole('listitem').first().waitFor();

        // End all sessions, confirmed in a dialog: the user's token is refused at once.
        await detail.getByRole('button', { name: 'End all sessions' }).click();
        const dialog = page.getByRole('dialog', { name: 'Are you sure?' });
        await dialog.getByText(`End every session of ${target.email}?`).waitFor();
        await dialog.getByRole('button', { name: 'End all sessions' }).click();
        await detail.getByRole('status').getByText(`Every session of ${target.email} is ended.`).waitFor();
        expect(await meStatus(targetToken)).toBe(401);
        await detail.getByRole('list', { name: 'Live sessions' }).getByText('No live sessions.').waitFor();

        // Disable, confirmed: a fresh token of theirs is refused and they cannot sign in.
        const freshToken = await apiSession(target.email);
        expect(await meStatus(freshToken)).toBe(200);
        await detail.getByRole('button', { name: 'Disable account' }).click();
        // Cancelling changes nothing.
        await dialog.getByRole('button', { name: 'Cancel' }).click();
        expect(
          (await ctx.db.selectFrom('users').select('disabled').where('id', '=', target.id).executeTakeFirstOrThrow()).disabled,
        ).toBeFalsy();
        await detail.getByRole('button', { name: 'Disable account' }).click();
        await dialog.getByRole('button', { name: 'Disable account' }).click();
        await detail.getByRole('status').getByText(`${target.email} is disabled: their tokens no longer work.`).waitFor();
        await detail.getByRole('button', { name: 'Enable account' }).waitFor();
        expect(
          (await ctx.db.selectFrom('users').select('disabled').where('id', '=', target.id).executeTakeFirstOrThrow()).disabled,
        ).toBeTruthy();
        expect(await meStatus(freshToken)).toBe(401);
        expect((await api('POST', '/auth/login', { email: target.email, password: STRONG_PASSWORD })).status).toBe(401);
        // The event log lists it, with the admin as actor.
        const events = await api('GET', `/admin/events?type=user.disabled&user_id=${target.id}`, undefined, await apiSession(admin.email));
        expect(events.body.items[0]).toMatchObject({ type: 'user.disabled', user_id: target.id, actor_id: admin.id });
        await users
          .getByRole('row', { name: new RegExp(target.email) })
          .getByText('disabled')
          .waitFor();
        await fits();

        await page.getByRole('button', { name: 'Sign out', exact: true }).click();
        await message.getByText('You are signed out.').waitFor();
        await finish();
      });

      it('a non-admin is told they have no access, and the console stays hidden', async () => {
        const person = await register('console-nonadmin');
        const { page, fits, message, signIn, finish } = await open(width);
        await signIn(person.email);
        await message.getByText(/You have no access to the console/).waitFor();
        await fits();
        expect(await page.getByRole('region', { name: 'Users' }).count()).toBe(0);
        expect(await page.getByRole('button', { name: 'Sign in', exact: true }).isVisible()).toBe(true);
        // The sign-in the console made was ended, not left behind.
        const live = await ctx.db
          .selectFrom('sessions')
          .select('id')
          .where('user_id', '=', person.id)
          .where('revoked_at', 'is', null)
          .execute();
        expect(live).toEqual([]);
        await finish(['403 GET /users']);
      });
    });
  },
  180_000,
);
