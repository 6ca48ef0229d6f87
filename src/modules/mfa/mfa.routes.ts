import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { clientInfo } from '../../lib/client-info.js';
import { BODY_PROBLEMS, NOT_ADMIN, noContent, problems, TOKEN_PROBLEMS } from '../../lib/http-schemas.js';
import { TokenResponseSchema } from '../auth/auth.schemas.js';
import { REAUTH_PROBLEM } from '../users/users.routes.js';
import { UserIdParams } from '../users/users.schemas.js';
import { ConfirmTotpBody, MfaVerifyBody, RecoveryCodesResponse, TotpEnrolmentResponse } from './mfa.schemas.js';
import type { MfaService } from './mfa.service.js';

const bearer = [{ bearerAuth: [] }];
const tags = ['Two-factor'];
const CODE_LIMITED = {
  code: 'RATE_LIMITED',
  detail: 'Too many wrong codes; try again later.',
  when: 'too many wrong codes for this account; `Retry-After` says when to retry',
} as const;

/** /auth/mfa/*: TOTP with recovery codes, and the second sign-in step; an admin's MFA reset. */
export const mfaRoutes: FastifyPluginAsyncTypebox<{ mfa: MfaService }> = async (app, { mfa }) => {
  app.post(
    '/auth/mfa/verify',
    {
      schema: {
        tags,
        summary: 'Second sign-in step: a TOTP code or a recovery code',
        description:
          'After POST /auth/login answered `mfa_required`. The mfa_token is single use, lives 5 minutes and dies after 5 wrong codes; ' +
          'a code is accepted once. A recovery code works once, and its owner is mailed.',
        body: MfaVerifyBody,
        response: {
          200: Type.Ref(TokenResponseSchema, { description: 'Signed in' }),
          ...problems(
            ...BODY_PROBLEMS,
            { code: 'MFA_CODE_INVALID', detail: 'The code is wrong or was already used.', when: 'a wrong, reused or expired code' },
            {
              code: 'TOKEN_INVALID',
              detail: 'The mfa_token is invalid, expired or already used; sign in again.',
              when: 'unknown, used or expired mfa_token, or one that saw 5 wrong codes',
            },
            CODE_LIMITED,
          ),
        },
      },
    },
    async (request) => mfa.verify(request.body, clientInfo(request)),
  );

  app.register(async (instance) => {
    const authed = instance.withTypeProvider<TypeBoxTypeProvider>();
    authed.addHook('onRequest', app.authenticate);

    authed.post(
      '/auth/mfa/totp',
      {
        schema: {
          tags,
          summary: 'Start TOTP enrolment',
          description:
            'A new seed, its otpauth URI and a QR code (SVG). Nothing changes at sign-in until the enrolment is confirmed. Needs a recent sign-in.',
          security: bearer,
          response: {
            200: TotpEnrolmentResponse,
            ...problems(...TOKEN_PROBLEMS, REAUTH_PROBLEM, 'MFA_ALREADY_ENABLED', 'MFA_UNAVAILABLE'),
          },
        },
      },
      async (request) => mfa.startTotp(request.user),
    );

    authed.post(
      '/auth/mfa/totp/confirm',
      {
        schema: {
          tags,
          summary: 'Turn TOTP on with a code from the app',
          description: 'Answers the ten recovery codes, once: they are stored only as hashes.',
          security: bearer,
          body: ConfirmTotpBody,
          response: {
            200: RecoveryCodesResponse,
            ...problems(
              ...BODY_PROBLEMS,
              ...TOKEN_PROBLEMS,
              {
                code: 'MFA_CODE_INVALID',
                status: 400,
                detail: 'The code is wrong or was already used.',
                when: 'the code does not match the seed',
              },
              'MFA_ALREADY_ENABLED',
              CODE_LIMITED,
            ),
          },
        },
      },
      async (request) => mfa.confirmTotp(request.user, request.body.code, clientInfo(request)),
    );

    authed.delete(
      '/auth/mfa/totp',
      {
        schema: {
          tags,
          summary: 'Turn TOTP off',
          description: 'Deletes the seed and the recovery codes. Needs a recent sign-in.',
          security: bearer,
          response: { 204: noContent('TOTP is off'), ...problems(...TOKEN_PROBLEMS, REAUTH_PROBLEM) },
        },
      },
      async (request, reply) => {
        await mfa.disableTotp(request.user, clientInfo(request));
        return reply.code(204).send(null);
      },
    );

    authed.post(
      '/auth/mfa/recovery-codes',
      {
        schema: {
          tags,
          summary: 'New recovery codes',
          description: 'Ten new codes; the old ones die. Needs TOTP on and a recent sign-in.',
          security: bearer,
          response: {
            200: RecoveryCodesResponse,
            ...problems(...TOKEN_PROBLEMS, REAUTH_PROBLEM, {
              code: 'VALIDATION_FAILED',
              detail: 'Turn two-factor sign-in on first: recovery codes belong to it.',
              when: 'TOTP is off',
            }),
          },
        },
      },
      async (request) => mfa.regenerateRecoveryCodes(request.user, clientInfo(request)),
    );

    authed.delete(
      '/users/:id/mfa',
      {
        preHandler: app.requireRole('admin'),
        schema: {
          tags,
          summary: "Reset a user's two-factor sign-in (admin)",
          description: 'Removes their TOTP and recovery codes (a lost phone) and ends every session of theirs.',
          security: bearer,
          params: UserIdParams,
          response: {
            204: noContent('Two-factor removed; every session ended'),
            ...problems(...TOKEN_PROBLEMS, NOT_ADMIN, { code: 'NOT_FOUND', detail: 'No such user.', when: 'no such user' }),
          },
        },
      },
      async (request, reply) => {
        await mfa.adminReset(request.user, request.params.id, clientInfo(request));
        return reply.code(204).send(null);
      },
    );
  });
};
