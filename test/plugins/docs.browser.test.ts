import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, STRONG_PASSWORD, type TestContext, uniqueEmail } from '../helpers/app.js';
import { browserSuite, launchChromium, watchPage } from '../helpers/browser.js';

const TAGS = ['Auth', 'Users', 'Two-factor', 'Passkeys', 'Sessions', 'Security events', 'Books', 'Bucketlists', 'Operations'];

const { skip, title } = browserSuite('the /docs page in Chromium');

describe.skipIf(skip)(title, () => {
  let ctx: TestContext;
  let base: string;
  let browser: Browser | undefined;

  beforeAll(async () => {
    ctx = await createTestApp();
    await ctx.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(ctx.app.server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await browser?.close();
    await ctx?.close();
  });

  /** Registers and logs in through the real HTTP API, as a reader of the page would. */
  async function accessTokenFor(email: string): Promise<string> {
    const json = { 'content-type': 'application/json' };
    const register = await fetch(`${base}/auth/register`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email, password: STRONG_PASSWORD, name: 'Docs Reader' }),
    });
    expect(register.status).toBe(201);
    const login = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email, password: STRONG_PASSWORD }),
    });
    expect(login.status).toBe(200);
    return ((await login.json()) as { access_token: string }).access_token;
  }

  it('lists the endpoint groups, authorizes with a token from /auth/login and runs GET /auth/me via Try it out / Execute', async () => {
    browser = await launchChromium();
    const chromiumContext = await browser.newContext();
    const email = uniqueEmail('docs');
    const token = await accessTokenFor(email);

    const page = await chromiumContext.newPage();
    page.setDefaultTimeout(30_000);
    const { errors, httpErrors, origins } = await watchPage(page);
    const shots = mkdtempSync(join(tmpdir(), 'gatehouse-docs-screenshot-'));
    const screenshot = join(shots, 'docs-auth-me.png');
    try {
      const response = await page.goto(`${base}/docs`);
      expect(response?.status()).toBe(200);
      await expect(page.title()).resolves.toBe('Gatehouse API reference');

      for (const tag of TAGS) await page.locator(`.opblock-tag[data-tag="${tag}"]`).waitFor();
      expect(await page.locator('.opblock-tag').evaluateAll((tags) => tags.map((t) => t.getAttribute('data-tag')))).toEqual(TAGS);

      await page.locator('.auth-wrapper button.authorize').click();
      const dialog = page.locator('.modal-ux');
      // The Bearer scheme's form (the dialog also holds introspection's HTTP Basic one).
      const bearer = dialog.locator('.auth-container').filter({ has: page.locator('#auth-bearer-value') });
      await bearer.locator('#auth-bearer-value').fill(token);
      await bearer.locator('button.authorize').click();
      await dialog.locator('button.btn-done').first().click();
      await dialog.waitFor({ state: 'detached' });

      const me = page.locator('#operations-Auth-get_auth_me');
      await me.locator('.opblock-summary').click();
      await me.getByRole('button', { name: 'Try it out' }).click();
      await me.getByRole('button', { name: 'Execute' }).click();

      const answer = me.locator('.live-responses-table tbody tr.response');
      await answer.waitFor();
      expect((await answer.locator('.response-col_status').innerText()).trim()).toBe('200');
      await expect(answer.locator('.response-col_description').innerText()).resolves.toContain(email);
      // The curl line Swagger UI shows proves the token went out as a Bearer header.
      await expect(me.locator('.curl-command').innerText()).resolves.toContain('Authorization: Bearer ');

      await page.screenshot({ path: screenshot, fullPage: true });
      console.log(`docs screenshot: ${screenshot}`);
      expect(errors).toEqual([]);
      expect(httpErrors).toEqual([]);
      expect([...origins]).toEqual([base]);
    } finally {
      await page.close();
    }
  }, 150_000);
});
