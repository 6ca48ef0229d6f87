import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { notFound } from '../../errors.js';
import { loadStaticAssets, PAGE_HEADERS, renderPage } from '../../lib/page-shell.js';
import { accountMain, adminMain, resetPasswordMain, verifyEmailMain } from './account-pages.views.js';

// Beside src/ and dist/ alike: both are two levels below the project root, as resources/ and
// dist/ are. The scripts are compiled from src/pages by `npm run build` (tsconfig.pages.json), so
// they are read from dist/pages/ whether this file runs from src/ (vitest) or from dist/.
const STYLESHEET = new URL('../../../resources/account-pages/account-pages.css', import.meta.url);
const SCRIPT_DIR = new URL('../../../dist/pages/', import.meta.url);
// One entry module per kind of page; the modules they import (the API client, sign-in, the
// step-up dialog…) are found and served by loadStaticAssets.
const ENTRIES = { mailLinks: 'mail-links.js', account: 'account.js', admin: 'admin-console.js' } as const;

// The token is read by the page's script, never by the server: the GET only sends the page.
const PageQuery = Type.Object({
  token: Type.Optional(Type.String({ description: 'the mailed token; read by the page script, not by the server' })),
});
const AssetParams = Type.Object({ file: Type.String({ maxLength: 100 }) });

/**
 * The pages that mails link to (PUBLIC_URL + /verify-email, /reset-password), and /account where
 * a person signs in and manages their account. They are not API operations, so they stay out of
 * the OpenAPI document; each does its work through the API.
 */
export const accountPagesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { nameOf, importsOf, assets } = loadStaticAssets([STYLESHEET, ...Object.values(ENTRIES).map((file) => new URL(file, SCRIPT_DIR))]);
  const shellOf = (entry: string) => ({
    stylesheet: `assets/${nameOf('account-pages.css')}`,
    script: `assets/${nameOf(entry)}`,
    modules: importsOf(entry).map((name) => `assets/${name}`),
  });
  // Rendered once: the pages hold nothing per request.
  const mailLinks = shellOf(ENTRIES.mailLinks);
  const pages = {
    '/verify-email': renderPage({ ...mailLinks, id: 'verify-email', title: 'Confirm your email address', main: verifyEmailMain() }),
    '/reset-password': renderPage({ ...mailLinks, id: 'reset-password', title: 'Choose a new password', main: resetPasswordMain() }),
  };
  const account = renderPage({ ...shellOf(ENTRIES.account), id: 'account', title: 'Your account', main: accountMain() });
  const admin = renderPage({ ...shellOf(ENTRIES.admin), id: 'admin', title: 'Gatehouse console', main: adminMain() });

  for (const [url, page] of Object.entries(pages)) {
    app.get(url, { schema: { hide: true, querystring: PageQuery } }, async (_request, reply) => reply.headers(PAGE_HEADERS).send(page));
  }
  // No query: the account page takes nothing from its address; it signs in through the API.
  app.get('/account', { schema: { hide: true } }, async (_request, reply) => reply.headers(PAGE_HEADERS).send(account));
  // The operator's console: same shell and policy; every admin rule is enforced by the API.
  app.get('/admin', { schema: { hide: true } }, async (_request, reply) => reply.headers(PAGE_HEADERS).send(admin));

  app.get('/assets/:file', { schema: { hide: true, params: AssetParams } }, async (request, reply) => {
    const asset = assets.get(request.params.file);
    if (!asset) throw notFound('No such file.');
    // The name carries the content hash, so a cached copy can never be stale.
    return reply.header('content-type', asset.contentType).header('cache-control', 'public, max-age=31536000, immutable').send(asset.body);
  });
};
