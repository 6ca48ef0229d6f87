import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { createTestApp, type TestContext } from './app.js';
import { freePort } from './redis-server.js';

// The Debian package; playwright-core ships no browser, and CI installs this one (.ci/run).
export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const inCi = Boolean(process.env.CI) && process.env.CI !== 'false';

/**
 * Whether a browser suite runs here, and the title to give it. Locally a missing browser is a
 * skip with its reason (printed once); in CI it must be a failure, never a skip.
 */
export function browserSuite(name: string): { skip: boolean; title: string } {
  const skip = !existsSync(CHROMIUM) && !inCi;
  const reason = `${CHROMIUM} not found (apt-get install chromium); CI always runs this test`;
  if (skip) console.warn(`${name} skipped: ${reason}`);
  return { skip, title: skip ? `${name} (skipped: ${reason})` : name };
}

/** The app listening for a browser test (see `servePages`). */
export interface Served {
  ctx: TestContext;
  /** Where the browser goes: localhost, a secure context that WebAuthn accepts. */
  base: string;
  /** Where the test itself calls the API (the same server, without a name lookup). */
  apiBase: string;
}

/**
 * The app on a free port, opened by the browser at http://localhost:PORT (PUBLIC_URL): a secure
 * context whose host is the WebAuthn RP id, so passkeys work with Chromium's virtual
 * authenticator. The port is found first, so PUBLIC_URL can name it before the app starts.
 */
export async function servePages(env: Record<string, string> = {}): Promise<Served> {
  const port = await freePort();
  const ctx = await createTestApp({
    PUBLIC_URL: `http://localhost:${port}`,
    // Every page and API call here comes from 127.0.0.1: per-IP limits are not what is tested.
    ACCOUNT_MAX_ATTEMPTS_PER_IP: '1000',
    LOGIN_MAX_FAILURES_PER_IP: '1000',
    REGISTER_MAX_PER_IP: '1000',
    ...env,
  });
  await ctx.app.listen({ port, host: '127.0.0.1' });
  return { ctx, base: `http://localhost:${port}`, apiBase: `http://127.0.0.1:${port}` };
}

/** Headless Chromium; each context it makes starts with no cookies, storage or cache. */
export async function launchChromium(): Promise<Browser> {
  // Asserted inside a test (not a hook), so that in CI a missing browser is a failed test.
  expect(existsSync(CHROMIUM), `${CHROMIUM} is required when CI is set (.ci/run installs the chromium package)`).toBe(true);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 90_000 });
}

// Chromium logs every 4xx/5xx answer as a console error; those are listed (and judged) as answers.
const HTTP_ERROR_LOG = /^Failed to load resource: the server responded with a status of \d{3}/;

/**
 * Collects what would show a broken page: script errors, console errors (Chromium reports CSP
 * violations there too), CSP violation events, failed requests, and every origin contacted.
 * Error answers go to `httpErrors` as `STATUS METHOD path`, for the test to compare with the
 * ones its scenario expects (a page showing an API error is working as it should).
 */
export async function watchPage(page: Page) {
  const errors: string[] = [];
  const httpErrors: string[] = [];
  const origins = new Set<string>();
  page.on('console', (message) => {
    if (message.type() === 'error' && !HTTP_ERROR_LOG.test(message.text())) errors.push(`console: ${message.text()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400)
      httpErrors.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
  });
  page.on('pageerror', (error) => errors.push(`page: ${error.message}`));
  page.on('requestfailed', (request) => errors.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
  page.on('request', (request) => {
    if (!request.url().startsWith('data:')) origins.add(new URL(request.url()).origin);
  });
  // Init scripts are injected by the DevTools protocol, which the page's CSP does not govern.
  await page.exposeFunction('reportCspViolation', (text: string) => errors.push(`csp: ${text}`));
  // A string: the test project has no DOM types, and this runs in the page, not in Node.
  await page.addInitScript(
    "document.addEventListener('securitypolicyviolation', (e) => reportCspViolation(e.violatedDirective + ' blocked ' + (e.blockedURI || '(inline)')));",
  );
  return { errors, httpErrors, origins };
}
