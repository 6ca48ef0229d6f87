import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../../src/modules/mfa/totp.js';
import { STRONG_PASSWORD, TEST_DB, type TestContext, uniqueEmail } from '../../helpers/app.js';
import { browserSuite, launchChromium, type Served, servePages, watchPage } from '../../helpers/browser.js';
import { SoftAuthenticator } from '../../helpers/soft-authenticator.js';

// /admin as an operator uses it: Chromium finds every control by its role and name, and after
// each action the test checks the server's state through the API (the user's own tokens) and the
// database. The page is opened at http://localhost:PORT (PUBLIC_URL), a secure context whose
// host is the WebAuthn RP id, so the passkey sign-in works with Chromium's virtual authenticator.

const WIDTHS = [390, 1280];

const { skip, title } = browserSuite('the admin console in Chromium');

/** An event's `data`: JSON text in SQLite, and in PostgreSQL as the driver gives it. */
const eventData = (data: unknown) => (typeof data === 'string' ? JSON.parse(data) : data) as { amr: string };

describe.skipIf(skip)(
  title,
  () => {
    let served: Served;
    let ctx: TestContext;
    let browser: Browser | undefined;

    beforeAll(async () => {
      served = await servePages();
      ctx = served.ctx;
    });

    afterAll(async () => {
      await browser?.close();
      await ctx?.close();
    });

    async function api(method: string, path: string, body?: unknown, accessToken?: string, on: Served = served) {
      const res = await fetch(`${on.apiBase}${path}`, {
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

    async function register(prefix: string, role: 'user' | 'admin' = 'user', on: Served = served): Promise<{ email: string; id: string }> {
      const email = uniqueEmail(prefix);
      const res = await api('POST', '/auth/register', { email, password: STRONG_PASSWORD, name: `${prefix} person` }, undefined, on);
      expect(res.status).toBe(201);
      const id = res.body.user.id as string;
      if (role === 'admin') await on.ctx.db.updateTable('users').set({ role: 'admin' }).where('id', '=', id).execute();
      return { email, id };
    }

    async function apiSession(email: string, on: Served = served): Promise<string> {
      const res = await api('POST', '/auth/login', { email, password: STRONG_PASSWORD }, undefined, on);
      expect(res.status).toBe(200);
      return res.body.access_token as string;
    }

    const meStatus = async (token: string) => (await api('GET', '/auth/me', undefined, token)).status;
    const liveSessions = (id: string, on: Served = served) =>
      on.ctx.db.selectFrom('sessions').select('id').where('user_id', '=', id).where('revoked_at', 'is', null).execute();
    const userRow = (id: string, on: Served = served) => on.ctx.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();

    async function open(width: number, on: Served = served) {
      browser ??= await launchChromium();
      const context: BrowserContext = await browser.newContext({ viewport: { width, height: 900 } });
      const page: Page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const watched = await watchPage(page);
      const response = await page.goto(`${on.base}/admin`);
      expect(response?.status()).toBe(200);
      const csp = response?.headers()['content-security-policy'] ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      await expect(page.title()).resolves.toBe('Gatehouse console · Gatehouse');
      const fits = async () => expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(width);
      await fits();
      const signInRegion = page.getByRole('region', { name: 'Admin sign-in' });
      const message = page.locator('#message');
      return {
        page,
        fits,
        message,
        signInRegion,
        /** The id of the element that has the focus. */
        focused: () => page.evaluate('document.activeElement?.id ?? null'),
        async signIn(email: string) {
          await signInRegion.getByLabel('Email').fill(email);
          await signInRegion.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
          await signInRegion.getByRole('button', { name: 'Sign in', exact: true }).click();
        },
        async signedIn() {
          await message.getByText('Signed in to the console.').waitFor();
          await page.getByRole('region', { name: 'Users' }).getByRole('row').nth(1).waitFor();
          await fits();
        },
        async finish(expectedHttpErrors: string[] = []) {
          expect(watched.errors).toEqual([]);
          expect(watched.httpErrors).toEqual(expectedHttpErrors);
          expect([...watched.origins]).toEqual([on.base]);
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
    async function enrolTotp(email: string, on: Served = served): Promise<string> {
      const token = await apiSession(email, on);
      const { body } = await api('POST', '/auth/mfa/totp', undefined, token, on);
      const confirmed = await api('POST', '/auth/mfa/totp/confirm', { code: totpCode(body.secret, Date.now() - 30_000) }, token, on);
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
      const { page, message, signInRegion, signIn, finish } = await open(1280);
      const sessionsBefore = (await liveSessions(admin.id)).length;

      await signIn(admin.email);
      await message.getByText('Now enter the code from your authenticator app.', { exact: false }).waitFor();
      // The password alone made no session: the API waits for the code.
      expect(await liveSessions(admin.id)).toHaveLength(sessionsBefore);
      await signInRegion.getByLabel('Sign-in code').fill(totpCode(secret));
      await signInRegion.getByRole('button', { name: 'Continue' }).click();
      await message.getByText('Signed in to the console.').waitFor();
      expect(await liveSessions(admin.id)).toHaveLength(sessionsBefore + 1);
      const signedIn = await ctx.db
        .selectFrom('security_events')
        .select('data')
        .where('user_id', '=', admin.id)
        .where('type', '=', 'login.succeeded')
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow();
      expect(eventData(signedIn.data).amr.split(' ')).toEqual(expect.arrayContaining(['pwd', 'otp', 'mfa']));

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
        // Status (GET /admin/status, this very instance) and keys load with the console.
        const status = page.getByRole('region', { name: 'Status' });
        await status.getByText(/^Ready: the database answers/).waitFor();
        const instance = (await api('GET', '/admin/status', undefined, await apiSession(admin.email))).body;
        const facts = status.getByRole('definition');
        await expect
          .poll(() => facts.allInnerTexts())
          .toEqual([
            instance.version,
            TEST_DB === 'postgres' ? 'PostgreSQL' : 'SQLite',
            'this instance’s memory only',
            expect.stringMatching(/\((?:under a minute|\d+ min)\)$/),
          ]);
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

    describe.each(WIDTHS)('%i px wide', (width) => {
      it('an admin signs in with a passkey registered through the API, without typing an email', async () => {
        const admin = await register('console-passkey', 'admin');
        // The passkey is made through the API with a software authenticator, then handed to
        // Chromium's virtual one (same key and credential id), which answers the console's prompt.
        const token = await apiSession(admin.email);
        const authenticator = new SoftAuthenticator('localhost', served.base);
        const options = await api('POST', '/auth/passkeys/registration/options', undefined, token);
        expect(options.status).toBe(200);
        const added = await api(
          'POST',
          '/auth/passkeys/registration',
          { response: authenticator.create(options.body), name: 'Console key' },
          token,
        );
        expect(added.status).toBe(201);

        const { page, message, signInRegion, signedIn, fits, finish } = await open(width);
        const cdp = await page.context().newCDPSession(page);
        await cdp.send('WebAuthn.enable');
        const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
          options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
        });
        await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: authenticator.asVirtualCredential() });
        const sessionsBefore = (await liveSessions(admin.id)).length;

        expect(await signInRegion.getByLabel('Email').inputValue()).toBe('');
        await signInRegion.getByRole('button', { name: 'Sign in with a passkey' }).click();
        await signedIn();
        await page.getByText(`console-passkey person (${admin.email})`, { exact: true }).waitFor();
        await fits();

        // The server: a new session, the passkey's use and counter recorded, a passkey sign-in event.
        expect(await liveSessions(admin.id)).toHaveLength(sessionsBefore + 1);
        const credential = await ctx.db
          .selectFrom('webauthn_credentials')
          .select(['last_used_at', 'counter'])
          .where('user_id', '=', admin.id)
          .executeTakeFirstOrThrow();
        expect(credential.last_used_at).not.toBeNull();
        expect(Number(credential.counter)).toBeGreaterThan(0);
        const event = await ctx.db
          .selectFrom('security_events')
          .select('data')
          .where('user_id', '=', admin.id)
          .where('type', '=', 'login.succeeded')
          .orderBy('id', 'desc')
          .executeTakeFirstOrThrow();
        expect(eventData(event.data).amr.split(' ')).toEqual(expect.arrayContaining(['hwk', 'user']));
        await message.getByText('Signed in to the console.').waitFor();
        await finish();
      });

      it('users: Next and Previous page through a search (cursor forward, a stack of cursors back), by keyboard too', async () => {
        const admin = await register('console-pager-admin', 'admin');
        // 23 users one search finds: a page of 20, then one of 3.
        const tag = `pager${randomBytes(4).toString('hex')}`;
        const people = await Promise.all(Array.from({ length: 23 }, () => register(tag)));
        const adminToken = await apiSession(admin.email);
        // The API's own pages, to compare with what the console shows.
        const first = await api('GET', `/users?limit=20&q=${tag}`, undefined, adminToken);
        const second = await api(
          'GET',
          `/users?limit=20&q=${tag}&cursor=${encodeURIComponent(first.body.next_cursor)}`,
          undefined,
          adminToken,
        );
        const emails = (page: { body: { items: { email: string }[] } }) => page.body.items.map((user) => user.email);
        expect(emails(first)).toHaveLength(20);
        expect(emails(second)).toHaveLength(3);
        expect([...emails(first), ...emails(second)].sort()).toEqual(people.map((p) => p.email).sort());

        const { page, signIn, signedIn, focused, fits, finish } = await open(width);
        await signIn(admin.email);
        await signedIn();
        const users = page.getByRole('region', { name: 'Users' });
        const pager = users.getByRole('navigation', { name: 'Pages of users' });
        const shown = () => users.getByRole('row').locator('td:first-child').allInnerTexts();

        // Keyboard: type the search, Tab to its button, Enter.
        await users.getByLabel('Search by email or name').fill(tag);
        await page.keyboard.press('Tab');
        expect(await page.evaluate('document.activeElement?.textContent')).toBe('Search');
        await page.keyboard.press('Enter');
        await expect.poll(shown).toEqual(emails(first));
        await pager.getByText('Page 1: users 1 to 20').waitFor();
        expect(await pager.getByRole('button', { name: 'Previous page' }).isVisible()).toBe(false);
        await fits();

        // Next, by keyboard: the last page has no Next, so the focus goes to the page line.
        await pager.getByRole('button', { name: 'Next page' }).focus();
        await page.keyboard.press('Enter');
        await expect.poll(shown).toEqual(emails(second));
        await pager.getByText('Page 2: users 21 to 23').waitFor();
        expect(await pager.getByRole('button', { name: 'Next page' }).isVisible()).toBe(false);
        await expect.poll(focused).toBe('users-page');
        await fits();

        // Shift+Tab reaches Previous; Enter goes back to the first page, the same 20 users.
        await page.keyboard.press('Shift+Tab');
        expect(await focused()).toBe('users-prev');
        await page.keyboard.press('Enter');
        await expect.poll(shown).toEqual(emails(first));
        await pager.getByText('Page 1: users 1 to 20').waitFor();
        await expect.poll(focused).toBe('users-page');

        // And forward again by pointer: the cursor of page 2 was kept, not recomputed.
        await pager.getByRole('button', { name: 'Next page' }).click();
        await expect.poll(shown).toEqual(emails(second));
        await pager.getByRole('button', { name: 'Previous page' }).click();
        await expect.poll(shown).toEqual(emails(first));
        // A new search starts again at page 1.
        await users.getByLabel('Search by email or name').fill(people[0]?.email ?? '');
        await users.getByRole('button', { name: 'Search', exact: true }).click();
        await expect.poll(shown).toEqual([people[0]?.email]);
        await pager.getByText('Page 1: users 1 to 1').waitFor();
        expect(await pager.getByRole('button', { name: 'Previous page' }).isVisible()).toBe(false);
        await finish();
      });

      it('keyboard: sign in, open a user, the confirm dialog takes the focus, Escape changes nothing and gives it back, Enter on confirm disables', async () => {
        const admin = await register('console-keys-admin', 'admin');
        const target = await register('console-keys-target');
        const { page, signInRegion, signedIn, focused, finish } = await open(width);
        const sessionsBefore = (await liveSessions(admin.id)).length;
        // Sign in by keyboard: type, Tab to the password, type, Enter.
        await signInRegion.getByLabel('Email').focus();
        await page.keyboard.type(admin.email);
        await page.keyboard.press('Tab');
        expect(await focused()).toBe('login-password');
        await page.keyboard.type(STRONG_PASSWORD);
        await page.keyboard.press('Enter');
        await signedIn();
        expect(await liveSessions(admin.id)).toHaveLength(sessionsBefore + 1);
        // The sign-in form went away with the focus in it: the focus is on the greeting, not lost.
        expect(await focused()).toBe('message');
        const users = page.getByRole('region', { name: 'Users' });
        await users.getByLabel('Search by email or name').fill(target.email);
        await users.getByRole('button', { name: 'Search', exact: true }).click();
        await expect.poll(() => users.getByRole('row').count()).toBe(2);

        // Tab from the search button to the user's row, Enter opens the detail and moves the focus there.
        await users.getByRole('button', { name: 'Search', exact: true }).focus();
        await page.keyboard.press('Tab');
        expect(await page.evaluate('document.activeElement?.textContent')).toBe(target.email);
        await page.keyboard.press('Enter');
        const detail = page.getByRole('region', { name: `User ${target.email}` });
        await detail.waitFor();
        await expect.poll(focused).toBe('user-detail-heading');

        const toggle = detail.getByRole('button', { name: 'Disable account' });
        await toggle.focus();
        await page.keyboard.press('Enter');
        const dialog = page.getByRole('dialog', { name: 'Are you sure?' });
        await dialog.waitFor();
        // The safe choice has the focus, inside the dialog.
        expect(await focused()).toBe('confirm-cancel');
        await page.keyboard.press('Escape');
        await dialog.waitFor({ state: 'hidden' });
        await expect.poll(focused).toBe('user-toggle-disabled');
        expect((await userRow(target.id))?.disabled).toBeFalsy();

        await page.keyboard.press('Enter');
        await dialog.waitFor();
        // The confirm button comes before Cancel: Shift+Tab, then Enter.
        await page.keyboard.press('Shift+Tab');
        expect(await focused()).toBe('confirm-yes');
        await page.keyboard.press('Enter');
        await detail.getByRole('status').getByText(`${target.email} is disabled: their tokens no longer work.`).waitFor();
        expect((await userRow(target.id))?.disabled).toBeTruthy();
        // The focus is back on the button, which now offers the way back.
        await detail.getByRole('button', { name: 'Enable account' }).waitFor();
        await expect.poll(focused).toBe('user-toggle-disabled');
        await finish();
      });
    });

    describe('step-up', () => {
      let quick: Served;
      beforeAll(async () => {
        // 3 s: long enough that a step-up's fresh auth_time (whole seconds, floored) still holds
        // when the retried request arrives on a busy machine; short enough to wait out.
        quick = await servePages({ REAUTH_MAX_AGE: '3s' });
      });
      afterAll(async () => {
        await quick?.ctx.close();
      });

      it.each([
        // Two-factor sign-in on the narrow screen (the other TOTP test is wide), a wrong password on the wide one.
        { width: 390, mfa: true, cancelBy: 'Escape' },
        { width: 1280, mfa: false, cancelBy: 'the Cancel button' },
      ])(
        '$width px, two-factor $mfa: REAUTHENTICATION_REQUIRED opens the dialog; cancelling ($cancelBy) changes nothing, confirming retries the change once',
        async ({ width, mfa, cancelBy }) => {
          const admin = await register('console-stepup', 'admin', quick);
          // Another admin, so that deleting this one is not refused as LAST_ADMIN.
          const other = await register('console-stepup-other', 'admin', quick);
          const secret = mfa ? await enrolTotp(admin.email, quick) : null;
          const { page, message, signInRegion, signIn, signedIn, focused, finish } = await open(width, quick);
          await signIn(admin.email);
          if (secret) {
            await signInRegion.getByLabel('Sign-in code').fill(totpCode(secret));
            await signInRegion.getByRole('button', { name: 'Continue' }).click();
          }
          await signedIn();
          const users = page.getByRole('region', { name: 'Users' });
          await users.getByLabel('Search by email or name').fill(admin.email);
          await users.getByRole('button', { name: 'Search', exact: true }).click();
          await users.getByRole('button', { name: admin.email }).click();
          const detail = page.getByRole('region', { name: `User ${admin.email}` });
          await detail.waitFor();
          // Deleting one's own account needs a sign-in younger than REAUTH_MAX_AGE.
          await new Promise((resolve) => setTimeout(resolve, 3_100));

          const confirmDialog = page.getByRole('dialog', { name: 'Are you sure?' });
          const stepUp = page.getByRole('dialog', { name: 'Confirm it is you' });
          const askToDelete = async () => {
            await detail.getByRole('button', { name: 'Delete user' }).click();
            await confirmDialog.getByText(`Delete your own account, ${admin.email}?`).waitFor();
            await confirmDialog.getByRole('button', { name: 'Delete user' }).click();
            await stepUp.waitFor();
            // The focus is in the dialog, on the password; the code is asked only with two-factor on.
            await expect.poll(focused).toBe('reauth-password');
            expect(await stepUp.getByLabel('Sign-in code').isVisible()).toBe(mfa);
          };

          // Cancel: the dialog closes, the focus goes back to the button, nothing changed.
          await askToDelete();
          if (cancelBy === 'Escape') await page.keyboard.press('Escape');
          else await stepUp.getByRole('button', { name: 'Cancel' }).click();
          await stepUp.waitFor({ state: 'hidden' });
          await detail.getByRole('status').getByText('Nothing was changed: this change needs your password again.').waitFor();
          await expect.poll(focused).toBe('user-delete');
          expect(await userRow(admin.id, quick)).toBeDefined();
          expect(await liveSessions(admin.id, quick)).not.toHaveLength(0);

          await askToDelete();
          if (!mfa) {
            // A wrong password: the dialog says so and stays; still nothing changed.
            await stepUp.getByLabel('Password', { exact: true }).fill('not my password at all');
            await stepUp.getByRole('button', { name: 'Confirm' }).click();
            await stepUp.getByRole('alert').getByText('The password is incorrect. Try again.').waitFor();
            expect(await userRow(admin.id, quick)).toBeDefined();
          }
          await stepUp.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
          // The sign-in used this step's code, and a code works once: the next step's (±1 step is allowed).
          if (secret) await stepUp.getByLabel('Sign-in code').fill(totpCode(secret, Date.now() + 30_000));
          await stepUp.getByRole('button', { name: 'Confirm' }).click();

          // The retried DELETE went through: the account is gone and the console signed out.
          await message.getByText(`Your account ${admin.email} is deleted, and you are signed out.`).waitFor();
          expect(await stepUp.isVisible()).toBe(false);
          expect(await userRow(admin.id, quick)).toBeUndefined();
          expect(await liveSessions(admin.id, quick)).toEqual([]);
          expect(await userRow(other.id, quick)).toBeDefined();
          expect(await signInRegion.getByRole('button', { name: 'Sign in', exact: true }).isVisible()).toBe(true);
          const reauthenticated = await quick.ctx.db
            .selectFrom('security_events')
            .select('type')
            .where('type', 'in', ['reauthenticated', 'user.deleted'])
            .where((eb) => eb.or([eb('user_id', '=', admin.id), eb('actor_id', '=', admin.id)]))
            .execute();
          expect(reauthenticated.map((e) => e.type).sort()).toEqual(['reauthenticated', 'user.deleted']);
          await finish([
            `401 DELETE /users/${admin.id}`,
            `401 DELETE /users/${admin.id}`,
            ...(mfa ? [] : ['401 POST /auth/reauthenticate']),
          ]);
        },
      );
    });
  },
  180_000,
);
