import { type Static, Type } from '@sinclair/typebox';
import { IdParam, Timestamp } from '../../lib/http-schemas.js';

export const PasskeySchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    created_at: Timestamp,
    last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    backed_up: Type.Boolean({ description: 'synced by a passkey provider (a copy exists beyond this device)' }),
    transports: Type.Array(Type.String()),
  },
  { $id: 'Passkey' },
);
export type Passkey = Static<typeof PasskeySchema>;

export const PasskeyList = Type.Object({ items: Type.Array(Type.Ref(PasskeySchema)) }, { description: "The signed-in user's passkeys" });
export const PasskeyIdParams = Type.Object({ id: IdParam }, { additionalProperties: false });

/** WebAuthn Level 3 JSON forms are the browser's to shape; the library checks them in full. */
const WebauthnJson = (description: string) => Type.Object({}, { additionalProperties: true, description });

export const RegistrationBody = Type.Object(
  {
    response: WebauthnJson('RegistrationResponseJSON, from navigator.credentials.create() (PublicKeyCredential.toJSON())'),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'a label, e.g. "Phone"; default "Passkey"' })),
  },
  { additionalProperties: false, examples: [{ response: { id: '…', rawId: '…', type: 'public-key', response: {} }, name: 'Phone' }] },
);
export type RegistrationBody = Static<typeof RegistrationBody>;

export const AuthenticationOptionsResponse = Type.Object(
  {
    challenge_id: Type.String({ description: 'send it back with the response' }),
    options: WebauthnJson('PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get()'),
  },
  { description: 'A single-use challenge (5 minutes) for signing in with a passkey' },
);

export const AuthenticationBody = Type.Object(
  {
    challenge_id: Type.String({ minLength: 1, maxLength: 200 }),
    response: WebauthnJson('AuthenticationResponseJSON, from navigator.credentials.get()'),
  },
  { additionalProperties: false, examples: [{ challenge_id: '…', response: { id: '…', rawId: '…', type: 'public-key', response: {} } }] },
);
export type AuthenticationBody = Static<typeof AuthenticationBody>;

export const CreationOptionsResponse = WebauthnJson('PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create()');
