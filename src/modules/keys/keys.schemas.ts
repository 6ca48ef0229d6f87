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

export const SigningKeyInfo = Type.Object(
  {
    kid: Type.String({ description: 'Key id, as in the `kid` header of the tokens it signs' }),
    alg: Type.Union([Type.Literal('HS256'), Type.Literal('EdDSA'), Type.Literal('ES256'), Type.Literal('RS256')]),
    created_at: Type.String({
      format: 'date-time',
      description: 'When it was stored; for a key fixed by configuration (HS256, JWT_PRIVATE_KEY), when this instance loaded it',
    }),
    signing: Type.Boolean({ description: 'New tokens are signed with it' }),
    retires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'When it stops verifying tokens; null for the signing key',
    }),
  },
  { $id: 'SigningKey', description: 'A signing key as the admin sees it: never its key material' },
);

export const SigningKeyList = Type.Object(
  { items: Type.Array(Type.Ref(SigningKeyInfo)) },
  { description: 'The keys that verify tokens now, oldest first; the last one signs' },
);
