import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';

const DESCRIPTION = `Secure-by-default JWT authentication API: users, sessions, books and bucketlists.

**Trying it here:** register with \`POST /auth/register\`, run \`POST /auth/login\`, copy its \`access_token\`,
press **Authorize** and paste it; the protected routes then send \`Authorization: Bearer <token>\`.
Access tokens live 15 minutes: \`POST /auth/refresh\` trades the refresh token for new ones.

**Errors** are RFC 9457 \`application/problem+json\` bodies with a stable \`code\` (see the \`Problem\` schema);
each operation lists the codes it answers with, one example per code. Any route may also answer
404 \`NOT_FOUND\` (unknown path), 405 \`METHOD_NOT_ALLOWED\` (with \`Allow\`), 500 \`INTERNAL\` or 503 \`UNAVAILABLE\`.`;

/**
 * The policy of the /docs page and its assets: everything from this origin, nothing inline,
 * no third-party hosts. Swagger UI sets `style` attributes through the DOM, which CSP allows;
 * the strict `default-src 'none'` policy stays on every API answer.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "object-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const OpenApiDocument = Type.Object({}, { additionalProperties: true, description: 'The OpenAPI 3.1 document (JSON)' });

/** OpenAPI 3.1 generated from the route schemas, and the interactive reference at /docs. */
export const docsPlugin = fp<{ config: Config; version: string }>(
  async (app: FastifyInstance, { config, version }) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'Gatehouse', version, description: DESCRIPTION },
        tags: [
          { name: 'Auth', description: 'Sign-up, sign-in and sessions' },
          { name: 'Users', description: 'Accounts and roles' },
          { name: 'Two-factor', description: 'TOTP with recovery codes, and the second sign-in step' },
          { name: 'Passkeys', description: 'WebAuthn: add passkeys and sign in with them, no password typed' },
          { name: 'Sessions', description: "Where you are signed in, and ending those sessions (yours; any user's for an admin)" },
          { name: 'Security events', description: 'What happened to an account: sign-ins, failures, password and role changes' },
          { name: 'Books', description: 'The shared catalogue: every signed-in user reads and adds; the creator or an admin changes' },
          { name: 'Bucketlists', description: 'Private lists and their items: only the owner (or an admin) sees them' },
          { name: 'Operations', description: 'Health, readiness and this document' },
        ],
        components: {
          securitySchemes: {
            bearerAuth: {
              type: 'http',
              scheme: 'bearer',
              bearerFormat: 'JWT',
              description: 'The access_token of POST /auth/login or POST /auth/refresh (valid 15 minutes by default).',
            },
            introspectionBasic: {
              type: 'http',
              scheme: 'basic',
              description: 'A resource server of INTROSPECTION_CLIENTS: its id and secret (POST /oauth/introspect only).',
            },
          },
        },
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    });

    app.get(
      '/openapi.json',
      {
        schema: {
          tags: ['Operations'],
          summary: 'This OpenAPI document',
          description: 'Generated from the route schemas at start-up; `npm run openapi` writes the same document to a file.',
          response: { 200: OpenApiDocument },
        },
      },
      async () => app.swagger(),
    );

    if (config.docsEnabled) {
      await app.register(swaggerUi, {
        routePrefix: '/docs',
        // Swagger UI's assets come from the package (no CDN), so the page needs no other origin.
        staticCSP: DOCS_CSP,
        theme: { title: 'Gatehouse API reference' },
        uiConfig: {
          // Tokens stay in page memory: persisting them would put a bearer token in localStorage.
          persistAuthorization: false,
          displayRequestDuration: true,
          docExpansion: 'list',
          defaultModelsExpandDepth: 0,
          layout: 'BaseLayout',
        },
      });
    }
  },
  { name: 'docs' },
);
