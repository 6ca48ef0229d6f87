import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';

/** OpenAPI 3.1 generated from the route schemas, and the interactive reference at /docs. */
export const docsPlugin = fp<{ config: Config; version: string }>(
  async (app: FastifyInstance, { config, version }) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Gatehouse',
          version,
          description:
            'Secure-by-default JWT authentication API: users, sessions, books and bucketlists. Errors are RFC 9457 problem+json.',
        },
        tags: [
          { name: 'Auth', description: 'Sign-up, sign-in and sessions' },
          { name: 'Users', description: 'Accounts and roles' },
          { name: 'Books', description: 'The shared catalogue: every signed-in user reads and adds; the creator or an admin changes' },
          { name: 'Bucketlists', description: 'Private lists and their items: only the owner (or an admin) sees them' },
          { name: 'Operations', description: 'Health and readiness' },
        ],
        components: {
          securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        },
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    });

    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

    if (config.docsEnabled) {
      await app.register(swaggerUi, {
        routePrefix: '/docs',
        staticCSP: true,
        uiConfig: { persistAuthorization: false, tryItOutEnabled: true },
      });
    }
  },
  { name: 'docs' },
);
