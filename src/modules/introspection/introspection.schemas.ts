import { type Static, Type } from '@sinclair/typebox';

/** RFC 7662 §2.1: `token`, and an optional hint that Gatehouse, with one kind of token to introspect, ignores. */
export const IntrospectionBody = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 8192, description: 'the access token to check' }),
    token_type_hint: Type.Optional(Type.String({ maxLength: 64, description: 'ignored: only access tokens are introspected' })),
  },
  { additionalProperties: false, examples: [{ token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6Imhz...' }] },
);
export type IntrospectionBody = Static<typeof IntrospectionBody>;

const ActiveToken = Type.Object(
  {
    active: Type.Literal(true),
    sub: Type.String({ description: 'the user id' }),
    sid: Type.String({ description: 'the session id' }),
    iss: Type.String(),
    aud: Type.String(),
    exp: Type.Integer({ description: 'seconds since the epoch' }),
    iat: Type.Integer({ description: 'seconds since the epoch' }),
    auth_time: Type.Integer({ description: 'when the session last proved a credential (seconds; 0: unknown)' }),
    token_type: Type.Literal('access_token'),
    client_id: Type.String({ description: 'the introspecting client' }),
  },
  { description: 'The token verifies and its session is live' },
);

const InactiveToken = Type.Object(
  { active: Type.Literal(false) },
  { description: 'Expired, forged, malformed, or its session ended (logout, password change, disabled or deleted user)' },
);

export const IntrospectionResponse = Type.Union([ActiveToken, InactiveToken], {
  description: 'RFC 7662 §2.2: whether the token is active, and its claims when it is',
});
export type IntrospectionResponse = Static<typeof IntrospectionResponse>;
