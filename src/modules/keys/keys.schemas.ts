import { Type } from '@sinclair/typebox';

export const JwkSchema = Type.Object(
  {
    kid: Type.String(),
    kty: Type.String(),
    alg: Type.String(),
    use: Type.Literal('sig'),
    crv: Type.Optional(Type.String()),
    x: Type.Optional(Type.String()),
    y: Type.Optional(Type.String()),
    n: Type.Optional(Type.String()),
    e: Type.Optional(Type.String()),
  },
  { description: 'A public key (RFC 7517); private members are never serialised' },
);

export const JwksResponse = Type.Object(
  { keys: Type.Array(JwkSchema) },
  { description: 'JWK Set (RFC 7517): the current key and previous keys still in their grace period' },
);

/**
 * RFC 8414 authorization-server metadata, cut down to what is true of Gatehouse: it signs access
 * tokens and publishes their keys. No authorization endpoint, grant or response types, scopes
 * or ID tokens are listed, because Gatehouse offers none of them.
 */
export const AuthorizationServerMetadata = Type.Object(
  {
    issuer: Type.String({ format: 'uri', description: 'The `iss` of every access token (JWT_ISSUER, by default PUBLIC_URL)' }),
    jwks_uri: Type.String({ format: 'uri', description: 'Absolute URL of the JWK Set, built from PUBLIC_URL' }),
    access_token_signing_alg_values_supported: Type.Array(Type.String(), {
      description: 'The JWS `alg` of access tokens (RFC 9068 `at+jwt`); a widely used extension name, not an IANA-registered one',
    }),
  },
  { additionalProperties: false, description: 'Issuer, where its public keys are, and how access tokens are signed' },
);
