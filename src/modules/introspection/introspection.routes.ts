import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { AppError, validationFailed } from '../../errors.js';
import { problems } from '../../lib/http-schemas.js';
import { IntrospectionBody, IntrospectionResponse } from './introspection.schemas.js';
import { BASIC_CHALLENGE, type IntrospectionService } from './introspection.service.js';

const FORM = 'application/x-www-form-urlencoded';
const tags = ['Auth'];

const notAForm = () => new AppError('UNSUPPORTED_MEDIA_TYPE', `Send the request body as ${FORM} (RFC 7662).`);

/**
 * POST /oauth/introspect (RFC 7662). Not wrapped in fastify-plugin on purpose: the form parser
 * below lives in this context only, so every other route still answers 415 to a form body.
 */
export const introspectionRoutes: FastifyPluginAsyncTypebox<{ introspection: IntrospectionService }> = async (app, { introspection }) => {
  // RFC 7662 §2.1 fixes the media type; JSON (and anything else) is refused with a detail that says so.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(FORM, { parseAs: 'string' }, (_request, body, done) => {
    const params = new URLSearchParams(body as string);
    const fields: Record<string, string> = {};
    for (const [name, value] of params) {
      // RFC 6749 §3.2: a parameter sent twice is an invalid request, never "the first one wins".
      if (Object.hasOwn(fields, name)) return done(validationFailed(`The parameter ${name} is sent more than once.`), undefined);
      fields[name] = value;
    }
    return done(null, fields);
  });
  app.addContentTypeParser('*', (_request, _payload, done) => done(notAForm(), undefined));

  // Client credentials are checked first, before the body is even read: a caller without them
  // learns nothing about what this route accepts.
  const clientOf = new WeakMap<FastifyRequest, string>();
  app.addHook('onRequest', async (request) => {
    clientOf.set(request, await introspection.authenticateClient(request.headers.authorization, request.ip));
  });

  const unauthorized = problems({ code: 'INVALID_CLIENT' })[401];
  app.post(
    '/oauth/introspect',
    {
      schema: {
        tags,
        summary: 'Token introspection (RFC 7662): is this access token active, its session included?',
        description:
          `For resource servers listed in INTROSPECTION_CLIENTS, authenticated with HTTP Basic (\`client_id:secret\`). The body is \`${FORM}\`: \`token=<access token>\`. ` +
          'Answers `{active: true, …claims}` while the token verifies and its session is live (logout, a password change, a disabled or deleted user end that at once), else `{active: false}`: a bad token is an answer, not an error. ' +
          'Refused client credentials are limited per client IP (429).',
        security: [{ introspectionBasic: [] }],
        consumes: [FORM],
        body: IntrospectionBody,
        response: {
          200: IntrospectionResponse,
          ...problems(
            { code: 'VALIDATION_FAILED', detail: 'The request body is invalid.', when: 'no `token` field, an unknown or repeated field' },
            { code: 'UNSUPPORTED_MEDIA_TYPE', detail: notAForm().detail, when: `a body that is not \`${FORM}\`` },
            'PAYLOAD_TOO_LARGE',
            {
              code: 'RATE_LIMITED',
              detail: 'Too many failed client authentications; try again later.',
              when: 'too many refused client credentials from this client IP; `Retry-After` says when to retry',
            },
          ),
          401: { ...unauthorized, headers: { 'www-authenticate': { type: 'string', description: BASIC_CHALLENGE } } },
        },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return introspection.introspect(request.body.token, clientOf.get(request) as string);
    },
  );
};
