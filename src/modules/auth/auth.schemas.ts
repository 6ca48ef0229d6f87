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

// Account tokens are 43 base64url characters; anything else within the bound answers
// TOKEN_INVALID (not VALIDATION_FAILED), like an unknown token.
const AccountTokenSchema = Type.String({ minLength: 1, maxLength: 512, description: 'the token from the mail (also in its link)' });

export const ForgotPasswordBody = Type.Object(
  { email: EmailSchema },
  { additionalProperties: false, examples: [{ email: 'ada@example.com' }] },
);
export type ForgotPasswordBody = Static<typeof ForgotPasswordBody>;

export const ResetPasswordBody = Type.Object(
  { token: AccountTokenSchema, new_password: NewPasswordSchema },
  {
    additionalProperties: false,
    examples: [{ token: 'q3Zx0b8mJ0yB4yqkz7nq2QpYVJ1m8eWQ3f0YfR5vYtE', new_password: 'a much better passphrase 42' }],
  },
);
export type ResetPasswordBody = Static<typeof ResetPasswordBody>;

export const VerifyEmailBody = Type.Object(
  { token: AccountTokenSchema },
  { additionalProperties: false, examples: [{ token: 'q3Zx0b8mJ0yB4yqkz7nq2QpYVJ1m8eWQ3f0YfR5vYtE' }] },
);
export type VerifyEmailBody = Static<typeof VerifyEmailBody>;

/** 202 answers of the mail-sending routes: the mail is queued, never awaited. */
export const AcceptedResponse = Type.Object(
  { message: Type.String() },
  {
    description: 'Accepted: the same answer whether or not anything is sent',
    examples: [{ message: 'If an account uses that address, a link to reset its password is on its way.' }],
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

/** A 6-digit TOTP code. */
export const TotpCodeSchema = Type.String({
  minLength: 6,
  maxLength: 6,
  pattern: '^[0-9]{6}$',
  description: '6-digit code from the authenticator app',
});
/** A recovery code as shown (dashes, spaces and case do not matter). */
export const RecoveryCodeSchema = Type.String({
  minLength: 16,
  maxLength: 40,
  description: 'one of the recovery codes, e.g. ABCD-EFGH-JKMN-PQRS',
});

export const ReauthenticateBody = Type.Object(
  {
    password: AnyPasswordSchema,
    code: Type.Optional(TotpCodeSchema),
    recovery_code: Type.Optional(RecoveryCodeSchema),
  },
  {
    additionalProperties: false,
    description: 'With TOTP on, `code` or `recovery_code` too.',
    examples: [{ password: 'correct horse battery staple' }],
  },
);
export type ReauthenticateBody = Static<typeof ReauthenticateBody>;

export const MfaRequiredSchema = Type.Object(
  {
    mfa_required: Type.Literal(true),
    mfa_token: Type.String({ description: 'single use, for POST /auth/mfa/verify' }),
    expires_in: Type.Integer({ description: 'seconds the mfa_token stays usable' }),
    methods: Type.Array(Type.Union([Type.Literal('totp'), Type.Literal('recovery_code')])),
  },
  { description: 'The password was right and TOTP is on: send a code with the mfa_token to POST /auth/mfa/verify' },
);

export const RegisterResponse = Type.Object({ user: Type.Ref(UserSchema) }, { description: 'The new account' });

export const VerificationSentResponse = Type.Object(
  { status: Type.Literal('verification_sent') },
  {
    description:
      'With REQUIRE_VERIFIED_EMAIL: the same answer for a new and a taken address; a link (or, for a taken one, a notice) is mailed',
    examples: [{ status: 'verification_sent' }],
  },
);
