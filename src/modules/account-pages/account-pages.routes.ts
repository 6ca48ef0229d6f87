import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { notFound } from '../../errors.js';
import { loadStaticAssets, PAGE_HEADERS, renderPage } from '../../lib/page-shell.js';
import { accountMain, adminMain, resetPasswordMain, verifyEmailMain } from './account-pages.views.js';

// Beside src/ and dist/ alike: both are two levels below the project root, as resources/ is.
const ASSET_DIR = new URL('../../../resources/account-pages/', import.meta.url);
const SCRIPT = 'account-pages.js';
// The console's own module: the account pages never load it.
const ADMIN_SCRIPT = 'admin-console.js';
const STYLESHEET = 'account-pages.css';

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
  const { nameOf, assets } = loadStaticAssets(ASSET_DIR, [SCRIPT, ADMIN_SCRIPT, STYLESHEET]);
  const shell = { stylesheet: `assets/${nameOf(STYLESHEET)}`, script: `assets/${nameOf(SCRIPT)}` };
  // Rendered once: the pages hold nothing per request.
  const pages = {
    '/verify-email': renderPage({ ...shell, id: 'verify-email', title: 'Confirm your email address', main: verifyEmailMain() }),
    '/reset-password': renderPage({ ...shell, id: 'reset-password', title: 'Choose a new password', main: resetPasswordMain() }),
  };
  const account = renderPage({ ...shell, id: 'account', title: 'Your account', main: accountMain() });
  const admin = renderPage({
    ...shell,
    script: `assets/${nameOf(ADMIN_SCRIPT)}`,
    id: 'admin',
    title: 'Gatehouse console',
    main: adminMain(),
  });

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
