import cors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import helmet, { type HelmetOptions } from 'helmet';
import type { Config } from '../config.js';
import { validationFailed } from '../errors.js';

const nulRejected = (where: string) =>
  validationFailed(`The request ${where} contains a NUL character.`, [{ path: '/', message: 'must not contain U+0000' }]);

/** True if any string (or key) inside a parsed JSON value contains U+0000. */
function containsNul(root: unknown): boolean {
  // Iterative: a body nested thousands of levels deep must not overflow the stack.
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return true;
    } else if (Array.isArray(value)) {
      for (const item of value) pending.push(item);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (key.includes('\u0000')) return true;
        pending.push(v);
      }
    }
  }
  return false;
}

/**
 * The headers for the few answers Fastify sends before any hook runs (an undecodable URL, an
 * over-long path segment), where helmet cannot add its own. Fixed and at least as strict as
 * helmet's; test/attacks/http-hygiene.test.ts checks they do not drift from what helmet sends.
 */
export const FALLBACK_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'cache-control': 'no-store',
};

/**
 * The headers helmet sets for these options, found by running its middleware once against a
 * recording stand-in for a response. helmet only ever sets fixed values (and removes
 * X-Powered-By, which Fastify never sends), so the result holds for every request.
 */
function helmetHeaders(options: Readonly<HelmetOptions>): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: unknown) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let finished = false;
  let failure: unknown;
  helmet(options)({} as never, recorder as never, (err?: unknown) => {
    finished = true;
    failure = err;
  });
  if (failure) throw failure;
  if (!finished) throw new Error('helmet did not finish synchronously');
  if (Object.keys(headers).length === 0) throw new Error('helmet set no headers');
  return headers;
}

/**
 * The headers every API answer starts with: helmet's, computed once (@fastify/helmet rebuilt
 * helmet, CSP parsing included, on every request, and running helmet's chain of ~12
 * middlewares, each validating through res.setHeader, was still ~5% of an authenticated read
 * in the profile), and `Cache-Control: no-store`. A route with a cacheable answer (JWKS, the
 * docs' assets) overrides the latter with its own header.
 */
export function apiSecurityHeaders(): Record<string, string> {
  return {
    ...helmetHeaders({
      // JSON answers need no sources at all; the docs page sets its own policy (staticCSP).
      contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      // HSTS only makes sense behind TLS, which a proxy terminates; harmless on plain HTTP.
      strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    }),
    // Tokens and personal data must never sit in a shared or browser cache.
    'cache-control': 'no-store',
  };
}

/** True for an OPTIONS request that is not a CORS preflight (no Origin or no requested method). */
function isPlainOptions(request: FastifyRequest): boolean {
  return request.method === 'OPTIONS' && (!request.headers.origin || !request.headers['access-control-request-method']);
}

/**
 * Security headers, the CORS allow-list, JSON-only bodies and no caching of API answers.
 */
export const securityPlugin = fp<{ config: Config }>(
  async (app: FastifyInstance, { config }) => {
    const headers = apiSecurityHeaders();
    // Synchronous (callback) hook: an async one costs a promise per request.
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers);
      done();
    });

    // No origins configured means no CORS headers at all: browsers then refuse cross-origin calls.
    // @fastify/cors is then not registered: with `origin: false` it added nothing to any answer
    // but ran a hook on every request, and a preflight gets the 405 of any other OPTIONS request
    // from the not-found handler either way.
    if (config.corsOrigins.length > 0) {
      const corsOptions: FastifyCorsOptions = {
        origin: [...config.corsOrigins],
        methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
        allowedHeaders: ['Authorization', 'Content-Type'],
        exposedHeaders: ['Location', 'Retry-After', 'WWW-Authenticate'],
        maxAge: 600,
      };
      // An OPTIONS request that is not a preflight is not CORS: rather than @fastify/cors's
      // text/plain 400, it gets the same 405 problem+json (with Allow) as without CORS.
      await app.register(cors, {
        delegator: (request, callback) => callback(null, isPlainOptions(request) ? { ...corsOptions, origin: false } : corsOptions),
      });
    }

    // Only JSON bodies: without the default text/plain parser, anything else is a 415.
    app.removeContentTypeParser('text/plain');
    const parseJson = app.getDefaultJsonParser('error', 'error');
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      // Clients often send the JSON content type on body-less POSTs (logout); that is not malformed.
      if (body === '') return done(null, undefined);
      return parseJson(request, body as string, (err, value) => {
        if (err) return done(err, undefined);
        if (containsNul(value)) return done(nulRejected('body'), undefined);
        return done(null, value);
      });
    });

    // NUL (U+0000) cannot be stored in PostgreSQL text and has no business in names or
    // titles; refusing it everywhere keeps both databases answering the same 400.
    // preValidation, not onRequest: it runs after authentication, so an anonymous caller
    // learns nothing about a protected route from it.
    app.addHook('preValidation', (request, _reply, done) => {
      done(/%00/i.test(request.url) ? nulRejected('query or path') : undefined);
    });
  },
  { name: 'security' },
);
