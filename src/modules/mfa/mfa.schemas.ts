import { Type } from '@sinclair/typebox';
import { RecoveryCodeSchema, TotpCodeSchema } from '../auth/auth.schemas.js';

export const TotpEnrolmentResponse = Type.Object(
  {
    secret: Type.String({ description: 'base32 seed, for typing into an app that cannot scan' }),
    otpauth_uri: Type.String({ description: 'otpauth://totp/… (RFC 6238: SHA-1, 6 digits, 30 s)' }),
    qr_svg: Type.String({ description: 'the otpauth URI as a QR code, SVG made by the server' }),
  },
  { description: 'A pending enrolment: confirm it with a code from the app' },
);

export const ConfirmTotpBody = Type.Object({ code: TotpCodeSchema }, { additionalProperties: false, examples: [{ code: '123456' }] });

export const RecoveryCodesResponse = Type.Object(
  { recovery_codes: Type.Array(Type.String(), { minItems: 10, maxItems: 10 }) },
  { description: 'Ten single-use recovery codes: shown once, stored only as hashes' },
);

export const MfaVerifyBody = Type.Object(
  {
    mfa_token: Type.String({ minLength: 1, maxLength: 200, description: 'from POST /auth/login' }),
    code: Type.Optional(TotpCodeSchema),
    recovery_code: Type.Optional(RecoveryCodeSchema),
  },
  {
    additionalProperties: false,
    description: 'Exactly one of `code` and `recovery_code`.',
    examples: [{ mfa_token: 'the mfa_token from POST /auth/login', code: '123456' }],
  },
);
