import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { KeyRing } from '../../lib/signing-keys.js';
import { AuthorizationServerMetadata, JwksResponse } from './keys.schemas.js';

const tags = ['Auth'];
// Verifiers cache the set this long. A kid they do not know makes them refetch (jose does, with
// a cooldown), and a retiring key stays published for a full access-token lifetime, so rotation
// never needs them to refresh early.
const JWKS_MAX_AGE_SECONDS = 300;

/** Public keys (JWK Set) and discovery metadata, for services that verify tokens offline. */
export const keysRoutes: FastifyPluginAsyncTypebox<{ keyRing: KeyRing; issuer: string; publicUrl: string }> = async (
  app,
  { keyRing, issuer, publicUrl },
) => {
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

  // Built from configuration, never from the request's Host header, which a client chooses.
  const metadata = () => ({
    issuer,
    jwks_uri: `${publicUrl}/.well-known/jwks.json`,
    access_token_signing_alg_values_supported: [keyRing.algorithm],
  });
  const description =
    'Only what Gatehouse does: the issuer, the JWK Set URL and the access-token signing algorithm. ' +
    'Nothing about ID tokens, authorization endpoints, grant or response types: Gatehouse offers none of them.';

  app.get(
    '/.well-known/oauth-authorization-server',
    {
      schema: {
        tags,
        summary: 'Authorization-server metadata (RFC 8414): issuer, jwks_uri, signing algorithm',
        description,
        response: { 200: AuthorizationServerMetadata },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
      return metadata();
    },
  );

  app.get(
    '/.well-known/openid-configuration',
    {
      schema: {
        tags,
        summary: 'The same metadata at the OpenID discovery path, for verifiers that look there',
        description: `${description} Gatehouse is not an OpenID provider; this path stays so existing verifiers keep finding jwks_uri.`,
        response: { 200: AuthorizationServerMetadata },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
      return metadata();
    },
  );
};
