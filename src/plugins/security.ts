import cors, { type FastifyCorsOptions } from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';

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

/** True for an OPTIONS request that is not a CORS preflight (no Origin or no requested method). */
function isPlainOptions(request: FastifyRequest): boolean {
  return request.method === 'OPTIONS' && (!request.headers.origin || !request.headers['access-control-request-method']);
}

/**
 * Security headers, the CORS allow-list, JSON-only bodies and no caching of API answers.
 */
export const securityPlugin = fp<{ config: Config }>(
  async (app: FastifyInstance, { config }) => {
    await app.register(helmet, {
      global: true,
      // JSON answers need no sources at all; the docs page sets its own policy (staticCSP).
      contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      // HSTS only makes sense behind TLS, which a proxy terminates; harmless on plain HTTP.
      strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    });

    // No origins configured means no CORS headers at all: browsers then refuse cross-origin calls.
    const corsOptions: FastifyCorsOptions = {
      origin: config.corsOrigins.length > 0 ? [...config.corsOrigins] : false,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type'],
      exposedHeaders: ['Location', 'Retry-After', 'WWW-Authenticate'],
      maxAge: 600,
    };
    if (config.corsOrigins.length === 0) {
      await app.register(cors, corsOptions);
    } else {
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
      return parseJson(request, body as string, done);
    });

    // Tokens and personal data must never sit in a shared or browser cache.
    app.addHook('onSend', async (_request, reply, payload) => {
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      return payload;
    });
  },
  { name: 'security' },
);
