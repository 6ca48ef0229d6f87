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

export const AuthorizationServerMetadata = Type.Object(
  {
    issuer: Type.String(),
    jwks_uri: Type.String(),
    token_endpoint: Type.String(),
    id_token_signing_alg_values_supported: Type.Array(Type.String()),
  },
  { description: 'Issuer and where its public keys are' },
);
