import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../../src/modules/mfa/totp.js';
import { STRONG_PASSWORD, uniqueEmail } from '../../helpers/app.js';
import { browserSuite, launchChromium, type Served, servePages, watchPage } from '../../helpers/browser.js';

// /account as a person uses it: Chromium finds every control by its role and label, and after
// each action the test checks the server's state through the API (with its own tokens) or the
// database. Passkeys use the DevTools virtual authenticator; WebAuthn needs a secure context and
// an RP id matching the host, so the page is opened at http://localhost:PORT and the app is
// configured with that PUBLIC_URL (RP id "localhost", origin http://localhost:PORT).

const NEW_PASSWORD = 'a much better passphrase 42';
const WIDTHS = [390, 1280];

const { skip, title } = browserSuite('the account page in Chromium');

describe.skipIf(skip)(
  title,
  () => {
    let served: Served;
    let browser: Browser | undefined;

    beforeAll(async () => {
      served = await servePages();
    });

    afterAll(async () => {
      await browser?.close();
      await served?.ctx.close();
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

    /** Registers through the API; returns the email and the user id. */
    async function register(prefix: string, on: Served = served): Promise<{ email: string; id: string }> {
      const email = uniqueEmail(prefix);
      const res = await api('POST', '/auth/register', { email, password: STRONG_PASSWORD, name: 'Page Reader' }, undefined, on);
      expect(res.status).toBe(201);
      return { email, id: res.body.user.id };
    }

    /** A session of the test's own (as another device would have), through POST /auth/login. */
    async function apiSession(email: string, password = STRONG_PASSWORD, on: Served = served): Promise<string> {
      const res = await api('POST', '/auth/login', { email, password }, undefined, on);
      expect(res.status).toBe(200);
      return res.body.access_token as string;
    }

    const meStatus = async (token: string, on: Served = served) => (await api('GET', '/auth/me', undefined, token, on)).status;
    const userRow = (id: string, on: Served = served) =>
      on.ctx.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

    /**
     * Opens /account in a fresh context `width` px wide and checks what every load must give:
     * the strict policy and a layout that fits.
     */
    async function open(width: number, on: Served = served) {
      browser ??= await launchChromium();
      const context: BrowserContext = await browser.newContext({ viewport: { width, height: 900 } });
      const page: Page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const watched = await watchPage(page);
      const response = await page.goto(`${on.base}/account`);
      expect(response?.status()).toBe(200);
      const csp = response?.headers()['content-security-policy'] ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(response?.headers()['referrer-policy']).toBe('no-referrer');
      await expect(page.title()).resolves.toBe('Your account · Gatehouse');
      const fits = async () => expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(width);
      await fits();
      const message = page.locator('#message');
      return {
        page,
        message,
        fits,
        section: (name: string) => page.getByRole('region', { name }),
        async signIn(email: string, password = STRONG_PASSWORD) {
          const form = page.getByRole('region', { name: 'Sign in' });
          await form.getByLabel('Email').fill(email);
          await form.getByLabel('Password', { exact: true }).fill(password);
          await form.getByRole('button', { name: 'Sign in', exact: true }).click();
        },
        async signedIn(email: string) {
          await message.getByText(`You are signed in as ${email}.`).waitFor();
          await page.getByRole('heading', { name: 'Where you are signed in' }).waitFor();
          // The lists are filled after the greeting; wait for the sessions one.
          await page.locator('#session-list li').first().waitFor();
          await fits();
        },
        async signOut() {
          await page.getByRole('button', { name: 'Sign out', exact: true }).click();
          await message.getByText('You are signed out.').waitFor();
          expect(await page.getByRole('button', { name: 'Sign in', exact: true }).isVisible()).toBe(true);
        },
        /** The tokens the page holds are nowhere but in its memory. */
        async expectNoStoredTokens() {
          expect(await page.evaluate('localStorage.length + sessionStorage.length')).toBe(0);
          expect(await page.evaluate('document.cookie')).toBe('');
          expect(await context.cookies()).toEqual([]);
        },
        /**
         * Asserts a clean run (no script errors or CSP violations, no other origin, no error answers
         * but the expected ones, given as a list or checked by a function) and closes the page.
         */
        async finish(expectedHttpErrors: string[] | ((errors: string[]) => void) = []) {
          expect(watched.errors).toEqual([]);
          if (typeof expectedHttpErrors === 'function') expectedHttpErrors(watched.httpErrors);
          else expect(watched.httpErrors).toEqual(expectedHttpErrors);
          expect([...watched.origins]).toEqual([on.base]);
          await context.close();
        },
      };
    }

    describe.each(WIDTHS)('%i px wide', (width) => {
      it('password sign-in; change the name; change the password; the events list the sign-in; sign out', async () => {
        const { email, id } = await register('account-basics');
        const other = await apiSession(email);
        const { page, section, signIn, signedIn, signOut, expectNoStoredTokens, finish } = await open(width);
        await signIn(email);
        await signedIn(email);
        await expectNoStoredTokens();

        // Events: the sign-in, shown in words, and recorded by the server.
        await section('Recent security activity').getByRole('listitem').filter({ hasText: 'Signed in' }).first().waitFor();
        const events = await api('GET', '/auth/events', undefined, other);
        expect(events.body.items.map((e: { type: string }) => e.type)).toContain('login.succeeded');

        // Name: no step-up needed.
        const profile = section('Profile');
        await profile.getByLabel('Name').fill('Ada Lovelace');
        await profile.getByRole('button', { name: 'Save profile' }).click();
        await profile.getByRole('status').getByText('Your profile is saved.').waitFor();
        await page.getByText(`Signed in as Ada Lovelace (${email})`).waitFor();
        expect((await userRow(id)).name).toBe('Ada Lovelace');

        // Password: the other session ends, the page's stays.
        const password = section('Password');
        await password.getByLabel('Current password').fill(STRONG_PASSWORD);
        await password.getByLabel('New password').fill(NEW_PASSWORD);
        await password.getByRole('button', { name: 'Change password' }).click();
        await password.getByRole('status').getByText('Your password is changed.').waitFor();
        expect((await api('POST', '/auth/login', { email, password: STRONG_PASSWORD })).status).toBe(401);
        expect(await meStatus(other)).toBe(401);
        const fresh = await apiSession(email, NEW_PASSWORD);
        expect((await api('GET', '/auth/events', undefined, fresh)).body.items.map((e: { type: string }) => e.type)).toContain(
          'password.changed',
        );

        await signOut();
        await finish();
      });

      it('sessions: end another one (it is dead), then sign out everywhere else; the current one is marked', async () => {
        const { email } = await register('account-sessions');
        const second = await apiSession(email);
        const { page, section, signIn, signedIn, finish } = await open(width);
        await signIn(email);
        await signedIn(email);
        const sessions = section('Where you are signed in');
        const items = sessions.getByRole('listitem');
        await expect.poll(() => items.count()).toBe(2);
        const current = items.filter({ hasText: 'This device' });
        expect(await current.count()).toBe(1);
        expect(await current.getByRole('button').count()).toBe(0);

        await items.filter({ hasNotText: 'This device' }).getByRole('button', { name: 'End session' }).click();
        await sessions.getByRole('status').getByText('That session is ended').waitFor();
        await expect.poll(() => items.count()).toBe(1);
        expect(await meStatus(second)).toBe(401);

        const third = await apiSession(email);
        const fourth = await apiSession(email);
        // Keyboard: the button is reachable and pressed with Enter.
        await sessions.getByRole('button', { name: 'Sign out everywhere else' }).focus();
        await page.keyboard.press('Enter');
        await sessions.getByRole('status').getByText('Every other device is signed out').waitFor();
        expect(await meStatus(third)).toBe(401);
        expect(await meStatus(fourth)).toBe(401);
        await expect.poll(() => items.count()).toBe(1);
        expect(await items.first().innerText()).toContain('This device');
        // The page's own session still works: it lists the events.
        await section('Recent security activity').getByRole('listitem').filter({ hasText: 'Session ended' }).first().waitFor();
        await finish();
      });

      it('two-factor: turn it on (QR, key, recovery codes once), then sign in with password + code, and with a recovery code', async () => {
        const { email, id } = await register('account-totp');
        const { page, message, section, signIn, signedIn, signOut, fits, finish } = await open(width);
        await signIn(email);
        await signedIn(email);
        const twoFactor = section('Two-factor sign-in');
        await twoFactor.getByText('Two-factor sign-in is off.').waitFor();
        await twoFactor.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
        // The server's SVG, adopted as an image with a name; the key as text.
        const qr = twoFactor.getByRole('img', { name: 'QR code with the key, for your authenticator app' });
        await qr.waitFor();
        expect(await qr.evaluate((svg) => svg.namespaceURI)).toBe('http://www.w3.org/2000/svg');
        const secret = (await twoFactor.locator('#totp-secret').innerText()).replace(/\s/g, '');
        expect(secret).toMatch(/^[A-Z2-7]{32}$/);
        await fits();

        await twoFactor.getByLabel('Code from the app').fill(totpCode(secret));
        await twoFactor.getByRole('button', { name: 'Confirm and turn on' }).click();
        await twoFactor.getByRole('status').getByText('Two-factor sign-in is on.').waitFor();
        const codes = await twoFactor.getByRole('list', { name: 'Your recovery codes' }).getByRole('listitem').allInnerTexts();
        expect(codes).toHaveLength(10);
        await twoFactor.getByText('They are shown only now.').waitFor();
        expect((await userRow(id)).mfa_enabled).toBe(1);
        await twoFactor.getByRole('button', { name: 'I have saved them' }).click();
        expect(await page.locator('#recovery-code-list li').count()).toBe(0);
        await twoFactor.getByRole('button', { name: 'Turn off two-factor sign-in' }).waitFor();
        await fits();
        await signOut();

        // Password, then the code. The code that confirmed the enrolment was used: a code is
        // accepted once, so this one is the next step's (within the ±1 step the server allows).
        await signIn(email);
        await message.getByText('Now enter the code from your authenticator app.').waitFor();
        await section('Sign in')
          .getByLabel('Sign-in code')
          .fill(totpCode(secret, Date.now() + 30_000));
        await section('Sign in').getByRole('button', { name: 'Continue' }).click();
        await signedIn(email);
        await signOut();

        // Password, then a recovery code typed in lower case: it works once.
        await signIn(email);
        await section('Sign in')
          .getByLabel('Sign-in code')
          .fill((codes[0] as string).toLowerCase());
        await section('Sign in').getByRole('button', { name: 'Continue' }).click();
        await signedIn(email);
        const used = await served.ctx.db
          .selectFrom('mfa_recovery_codes')
          .select('used_at')
          .where('user_id', '=', id)
          .where('used_at', 'is not', null)
          .execute();
        expect(used).toHaveLength(1);
        await signOut();

        // The same recovery code again: refused, with a message; the form stays for another try.
        await signIn(email);
        await section('Sign in')
          .getByLabel('Sign-in code')
          .fill(codes[0] as string);
        await section('Sign in').getByRole('button', { name: 'Continue' }).click();
        await message.getByText('The code is wrong or was already used.', { exact: false }).waitFor();
        expect(await message.getAttribute('class')).toContain('error');
        expect(await section('Sign in').getByLabel('Sign-in code').getAttribute('aria-invalid')).toBe('true');
        await finish(['401 POST /auth/mfa/verify']);
      });
    });

    it('passkeys (virtual authenticator): add one, sign out, sign in with it without an email, remove it', async () => {
      const { email, id } = await register('account-passkey');
      const { page, message, section, signIn, signedIn, signOut, finish } = await open(390);
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
      });

      await signIn(email);
      await signedIn(email);
      const passkeys = section('Passkeys');
      await passkeys.getByText('No passkeys yet.').waitFor();
      await passkeys.getByLabel('Passkey name').fill('Test laptop');
      await passkeys.getByRole('button', { name: 'Add a passkey' }).click();
      await passkeys.getByRole('status').getByText('Passkey "Test laptop" added').waitFor();
      await passkeys.getByRole('listitem').filter({ hasText: 'Test laptop' }).waitFor();
      const rows = await served.ctx.db.selectFrom('webauthn_credentials').selectAll().where('user_id', '=', id).execute();
      expect(rows.map((r) => r.name)).toEqual(['Test laptop']);
      await signOut();

      // No email typed: the discoverable credential says whose it is.
      expect(await section('Sign in').getByLabel('Email').inputValue()).toBe('');
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await signedIn(email);
      await message.getByText(`You are signed in as ${email}.`).waitFor();
      const used = await served.ctx.db
        .selectFrom('webauthn_credentials')
        .select('last_used_at')
        .where('user_id', '=', id)
        .executeTakeFirstOrThrow();
      expect(used.last_used_at).not.toBeNull();

      await passkeys.getByRole('button', { name: 'Remove passkey Test laptop' }).click();
      await passkeys.getByRole('status').getByText('Passkey "Test laptop" removed').waitFor();
      await passkeys.getByText('No passkeys yet.').waitFor();
      expect(await served.ctx.db.selectFrom('webauthn_credentials').selectAll().where('user_id', '=', id).execute()).toEqual([]);
      await finish();
    });

    it('step-up: with a stale sign-in, changing the email asks for the password in a dialog, then goes through', async () => {
      // 2 s, not 1: auth_time is in whole seconds (floored), so a fresh step-up may already be up to
      // a second old when the retried request arrives.
      const quick = await servePages({ REAUTH_MAX_AGE: '2s' });
      try {
        const { email, id } = await register('account-stepup', quick);
        const { page, section, signIn, signedIn, finish } = await open(1280, quick);
        await signIn(email);
        await signedIn(email);
        await new Promise((resolve) => setTimeout(resolve, 2_100));

        const newEmail = uniqueEmail('account-stepup-new');
        const profile = section('Profile');
        await profile.getByLabel('Email', { exact: true }).fill(newEmail);
        await profile.getByRole('button', { name: 'Save profile' }).click();
        const dialog = page.getByRole('dialog', { name: 'Confirm it is you' });
        await dialog.waitFor();
        // The focus is in the dialog, on its first field; no code is asked while two-factor is off.
        expect(await page.evaluate('document.activeElement.id')).toBe('reauth-password');
        expect(await dialog.getByLabel('Sign-in code').isVisible()).toBe(false);
        expect((await userRow(id, quick)).email).toBe(email);

        // A wrong password first: the dialog says so and stays.
        await dialog.getByLabel('Password', { exact: true }).fill('not my password at all');
        await dialog.getByRole('button', { name: 'Confirm' }).click();
        await dialog.getByRole('alert').getByText('The password is incorrect.', { exact: false }).waitFor();
        expect((await userRow(id, quick)).email).toBe(email);

        await dialog.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
        await dialog.getByRole('button', { name: 'Confirm' }).click();
        await profile.getByRole('status').getByText('Your profile is saved.').waitFor();
        expect(await dialog.isVisible()).toBe(false);
        expect((await userRow(id, quick)).email).toBe(newEmail);
        const types = (await quick.ctx.db.selectFrom('security_events').select('type').where('user_id', '=', id).execute()).map(
          (e) => e.type,
        );
        expect(types).toEqual(expect.arrayContaining(['reauthenticated', 'email.changed']));

        // With two-factor on, the dialog asks for a code as well. Turning it on is itself a
        // sensitive change, and the sign-in is stale again by now: the dialog first asks for the
        // password only (two-factor is still off).
        await new Promise((resolve) => setTimeout(resolve, 2_100));
        const twoFactor = section('Two-factor sign-in');
        await twoFactor.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
        await dialog.waitFor();
        await dialog.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
        await dialog.getByRole('button', { name: 'Confirm' }).click();
        await twoFactor.getByLabel('Code from the app').waitFor();
        const secret = (await twoFactor.locator('#totp-secret').innerText()).replace(/\s/g, '');
        await twoFactor.getByLabel('Code from the app').fill(totpCode(secret));
        await twoFactor.getByRole('button', { name: 'Confirm and turn on' }).click();
        await twoFactor.getByRole('status').getByText('Two-factor sign-in is on.').waitFor();
        await twoFactor.getByRole('button', { name: 'I have saved them' }).click();

        await new Promise((resolve) => setTimeout(resolve, 2_100));
        await twoFactor.getByRole('button', { name: 'Turn off two-factor sign-in' }).click();
        await dialog.waitFor();
        const code = dialog.getByLabel('Sign-in code');
        expect(await code.isVisible()).toBe(true);
        await dialog.getByLabel('Password', { exact: true }).fill(STRONG_PASSWORD);
        // The enrolment used this step's code: a code works once, so this is the next step's.
        await code.fill(totpCode(secret, Date.now() + 30_000));
        await dialog.getByRole('button', { name: 'Confirm' }).click();
        await twoFactor.getByRole('status').getByText('Two-factor sign-in is off').waitFor();
        expect((await userRow(id, quick)).mfa_enabled).toBe(0);

        await finish([`401 PATCH /users/${id}`, '401 POST /auth/reauthenticate', '401 POST /auth/mfa/totp', '401 DELETE /auth/mfa/totp']);
      } finally {
        await quick.ctx.close();
      }
    });

    it('an expired access token is refreshed with the refresh token and the request retried once, twice in a row', async () => {
      // 2 s, not 1: iat and exp are whole seconds, so a 1 s token can expire within milliseconds of
      // being issued, before the retry it was refreshed for arrives.
      const short = await servePages({ ACCESS_TOKEN_TTL: '2s', JWT_CLOCK_TOLERANCE_SECONDS: '0' });
      try {
        const { email, id } = await register('account-refresh', short);
        const { page, section, signIn, signedIn, finish } = await open(390, short);
        await signIn(email);
        await signedIn(email);
        await new Promise((resolve) => setTimeout(resolve, 3_100));

        // Saving reloads the events; the expired token costs one refresh and one retry.
        const profile = section('Profile');
        await profile.getByLabel('Name').fill('Refreshed Reader');
        await profile.getByRole('button', { name: 'Save profile' }).click();
        await profile.getByRole('status').getByText('Your profile is saved.').waitFor();
        expect((await userRow(id, short)).name).toBe('Refreshed Reader');
        await page.getByText('Signed in as Refreshed Reader').waitFor();

        // Expired again: the page refreshes with the rotated refresh token it kept (presenting the
        // used one would count as reuse and end the session).
        await new Promise((resolve) => setTimeout(resolve, 3_100));
        await section('Where you are signed in').getByRole('button', { name: 'Sign out everywhere else' }).click();
        await section('Where you are signed in').getByRole('status').getByText('Every other device is signed out').waitFor();
        const types = (await short.ctx.db.selectFrom('security_events').select('type').where('user_id', '=', id).execute()).map(
          (e) => e.type,
        );
        expect(types).not.toContain('refresh.reuse_detected');
        const live = await short.ctx.db
          .selectFrom('sessions')
          .selectAll()
          .where('user_id', '=', id)
          .where('revoked_at', 'is', null)
          .execute();
        expect(live).toHaveLength(1);
        await finish((errors) => {
          expect(errors).toContain(`401 PATCH /users/${id}`);
          expect(errors).toContain('401 POST /auth/logout-others');
          expect(errors.every((e) => e.startsWith('401 '))).toBe(true);
          expect(errors.filter((e) => e.includes('/auth/refresh'))).toEqual([]);
        });
      } finally {
        await short.ctx.close();
      }
    });
  },
  300_000,
);
