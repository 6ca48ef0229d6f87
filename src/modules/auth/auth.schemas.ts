import { type Static, Type } from '@sinclair/typebox';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../../lib/passwords.js';
import { EmailSchema, NameSchema, UserSchema } from '../users/users.schemas.js';

export const NewPasswordSchema = Type.String({
  minLength: PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
  description: `${PASSWORD_MIN_LENGTH}..${PASSWORD_MAX_LENGTH} characters after NFC normalisation; common passwords are refused`,
});
// Sign-in accepts any length up to a bound: the policy is for new passwords, not for guesses.
const AnyPasswordSchema = Type.String({ minLength: 1, maxLength: 1024 });

export const RegisterBody = Type.Object(
  { email: EmailSchema, password: NewPasswordSchema, name: Type.Optional(NameSchema) },
  { additionalProperties: false, examples: [{ email: 'ada@example.com', password: 'correct horse battery staple', name: 'Ada' }] },
);
export type RegisterBody = Static<typeof RegisterBody>;

export const LoginBody = Type.Object(
  { email: EmailSchema, password: AnyPasswordSchema },
  { additionalProperties: false, examples: [{ email: 'ada@example.com', password: 'correct horse battery staple' }] },
);
export type LoginBody = Static<typeof LoginBody>;

export const RefreshBody = Type.Object(
  { refresh_token: Type.String({ minLength: 1, maxLength: 512, description: 'the refresh_token of the last login or refresh' }) },
  { additionalProperties: false, examples: [{ refresh_token: 'Y3Nk8Qm0f3xH4bq2c9TzLw1pV7eR5uJ6aK0sD8gN2hM' }] },
);

export const ChangePasswordBody = Type.Object(
  { current_password: AnyPasswordSchema, new_password: NewPasswordSchema },
  {
    additionalProperties: false,
    examples: [{ current_password: 'correct horse battery staple', new_password: 'a much longer passphrase, freshly chosen' }],
  },
);

export const TokenResponseSchema = Type.Object(
  {
    access_token: Type.String({ description: 'JWT (typ at+jwt), send as Authorization: Bearer' }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'seconds' }),
    refresh_token: Type.String({ description: 'opaque, single use; rotate with POST /auth/refresh' }),
    refresh_expires_in: Type.Integer({ description: 'seconds' }),
    user: Type.Ref(UserSchema),
  },
  { $id: 'TokenResponse' },
);

export const RegisterResponse = Type.Object({ user: Type.Ref(UserSchema) }, { description: 'The new account' });
