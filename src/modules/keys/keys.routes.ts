import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { KeyRing } from '../../lib/signing-keys.js';
import { AuthorizationServerMetadata, JwksResponse } from './keys.schemas.js';

const tags = ['Auth'];
// Verifiers cache the set this long. A kid they do not know makes them refetch (jose does, with
// a cooldown), and a retiring key stays published for a full access-token lifetime, so rotation
// never needs them to refresh early.
const JWKS_MAX_AGE_SECONDS = 300;

/** Public keys (JWK Set) and discovery metadata, for services that verify tokens offline. */
export const keysRoutes: FastifyPluginAsyncTypebox<{ keyRing: KeyRing; issuer: string }> = async (app, { keyRing, issuer }) => {
  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags,
        summary: 'Public signing keys (JWK Set)',
        description: 'Current and previous keys during their grace period. Empty with HS256: a shared secret is never published.',
        response: { 200: JwksResponse },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
      return { keys: keyRing.publicJwks() };
    },
  );

  app.get(
    '/.well-known/openid-configuration',
    {
      schema: {
        tags,
        summary: 'Discovery metadata (issuer, jwks_uri)',
        description: 'The subset of OpenID/OAuth server metadata a resource server needs to verify access tokens.',
        response: { 200: AuthorizationServerMetadata },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
      const base = `${request.protocol}://${request.host}`;
      return {
        issuer,
        jwks_uri: `${base}/.well-known/jwks.json`,
        token_endpoint: `${base}/auth/login`,
        id_token_signing_alg_values_supported: [keyRing.algorithm],
      };
    },
  );
};
