import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet from 'helmet';
import type { Config } from '../config.js';
import { validationFailed } from '../errors.js';

const nulRejected = (where: string) =>
  validationFailed(`The request ${where} contains a NUL character.`, [{ path: '/', message: 'must not contain U+0000' }]);

/** True if any string (or key) inside a parsed JSON value contains U+0000. */
function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([key, v]) => key.includes('\u0000') || containsNul(v));
  }
  return false;
}

/**
 * Security headers, the CORS allow-list, JSON-only bodies and no caching of API answers.
 */
export const securityPlugin = fp<{ config: Config }>(
  async (app: FastifyInstance, { config }) => {
    // helmet's middleware is built once here. (@fastify/helmet rebuilt it, CSP parsing
    // included, on every request: a few percent of an authenticated read in the profile.)
    const securityHeaders = helmet({
      // JSON answers need no sources at all; the docs page sets its own policy (staticCSP).
      contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      // HSTS only makes sense behind TLS, which a proxy terminates; harmless on plain HTTP.
      strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    });
    app.addHook('onRequest', (request, reply, done) => {
      securityHeaders(request.raw, reply.raw, (err) => done(err as Error | undefined));
    });

    // No origins configured means no CORS headers at all: browsers then refuse cross-origin calls.
    await app.register(cors, {
      origin: config.corsOrigins.length > 0 ? [...config.corsOrigins] : false,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type'],
      exposedHeaders: ['Location', 'Retry-After', 'WWW-Authenticate'],
      maxAge: 600,
    });

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
    app.addHook('onRequest', async (request) => {
      if (/%00/i.test(request.url)) throw nulRejected('query or path');
    });

    // Tokens and personal data must never sit in a shared or browser cache.
    app.addHook('onSend', async (_request, reply, payload) => {
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      return payload;
    });
  },
  { name: 'security' },
);
