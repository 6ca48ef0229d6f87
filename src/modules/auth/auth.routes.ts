import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { clientInfo } from '../../lib/client-info.js';
import { BODY_PROBLEMS, created, noContent, problems, TOKEN_PROBLEMS } from '../../lib/http-schemas.js';
import { normalizeBodyFields } from '../../lib/normalize-body.js';
import { UserSchema } from '../users/users.schemas.js';
import type { UsersService } from '../users/users.service.js';
import {
  AcceptedResponse,
  ChangePasswordBody,
  ForgotPasswordBody,
  LoginBody,
  MfaRequiredSchema,
  ReauthenticateBody,
  RefreshBody,
  RegisterBody,
  RegisterResponse,
  ResetPasswordBody,
  TokenResponseSchema,
  VerificationSentResponse,
  VerifyEmailBody,
} from './auth.schemas.js';
import { type AuthService, FORGOT_PASSWORD_ACCEPTED } from './auth.service.js';

const bearer = [{ bearerAuth: [] }];
const tags = ['Auth'];

/** /auth/*: sign-up, sign-in and the session lifecycle. */
export const authRoutes: FastifyPluginAsyncTypebox<{ auth: AuthService; users: UsersService }> = async (app, { auth, users }) => {
  app.post(
    '/auth/register',
    {
      preValidation: async (request) => normalizeBodyFields(request.body, ['email', 'name']),
      schema: {
        tags,
        summary: 'Create an account',
        description:
          "Email is trimmed and lower-cased. The password (12..128 characters after NFC normalisation) must not be a common one nor contain the email's name. `Location` is the new user's URL. Log in afterwards to get tokens. Mails a verification link to the address (see POST /auth/verify-email). " +
          'With REQUIRE_VERIFIED_EMAIL the answer is 202 for a new and a taken address alike (the owner of a taken one is mailed a notice), so it does not reveal which addresses have accounts. Limited per client IP (429).',
        body: RegisterBody,
        response: {
          201: created(RegisterResponse, 'Account created'),
          202: VerificationSentResponse,
          ...problems(...BODY_PROBLEMS, 'EMAIL_TAKEN', {
            code: 'RATE_LIMITED',
            detail: 'Too many sign-ups from this client; try again later.',
            when: 'too many sign-ups from this client IP; `Retry-After` says when to retry',
          }),
        },
      },
    },
    async (request, reply) => {
      const outcome = await auth.register(request.body, clientInfo(request));
      if (!outcome.created) return reply.code(202).send({ status: 'verification_sent' as const });
      return reply.code(201).header('location', `/users/${outcome.user.id}`).send({ user: outcome.user });
    },
  );

  app.post(
    '/auth/login',
    {
      preValidation: async (request) => normalizeBodyFields(request.body, ['email']),
      schema: {
        tags,
        summary: 'Sign in with email and password',
        description:
          'Unknown email and wrong password get the same 401. Repeated failures per email or client IP answer 429. Send the `access_token` as `Authorization: Bearer <token>`. ' +
          'With REQUIRE_VERIFIED_EMAIL, the right password for an unverified email answers 403 EMAIL_NOT_VERIFIED (and mails a new link).',
        body: LoginBody,
        response: {
          200: Type.Union([Type.Ref(TokenResponseSchema), MfaRequiredSchema], {
            description:
              'Signed in (an access token and a single-use refresh token), or, with TOTP on, `mfa_required` and an mfa_token for POST /auth/mfa/verify',
          }),
          ...problems(...BODY_PROBLEMS, 'INVALID_CREDENTIALS', 'EMAIL_NOT_VERIFIED', {
            code: 'RATE_LIMITED',
            detail: 'Too many failed sign-in attempts; try again later.',
            when: 'too many failed logins for this email or client IP; `Retry-After` says when to retry',
          }),
        },
      },
    },
    async (request) => auth.login(request.body, clientInfo(request)),
  );

  app.post(
    '/auth/refresh',
    {
      schema: {
        tags,
        summary: 'Exchange a refresh token for new tokens (rotation)',
        description: 'The presented refresh token dies. Presenting a used one again revokes its whole session.',
        body: RefreshBody,
        response: {
          200: Type.Ref(TokenResponseSchema, { description: 'New tokens; the presented refresh token is now dead' }),
          ...problems(
            ...BODY_PROBLEMS,
            {
              code: 'TOKEN_INVALID',
              detail: 'The refresh token is invalid, expired or revoked.',
              when: 'unknown, expired, revoked or already used refresh token (presenting a used one revokes its session)',
            },
            {
              code: 'RATE_LIMITED',
              detail: 'Too many invalid refresh tokens from this client; try again later.',
              when: 'too many refused refresh tokens from this client IP; `Retry-After` says when to retry',
            },
          ),
        },
      },
    },
    async (request) => auth.refresh(request.body.refresh_token, clientInfo(request)),
  );

  app.post(
    '/auth/password/forgot',
    {
      preValidation: async (request) => normalizeBodyFields(request.body, ['email']),
      schema: {
        tags,
        summary: 'Mail a password reset link',
        description:
          'Always 202 with the same body, whether or not an account uses the email; if one does, a single-use reset ' +
          'token is mailed. Limited per email and per client IP (429).',
        body: ForgotPasswordBody,
        response: {
          202: AcceptedResponse,
          ...problems(...BODY_PROBLEMS, {
            code: 'RATE_LIMITED',
            detail: 'Too many requests; try again later.',
            when: 'too many reset mails for this address or requests from this client IP',
          }),
        },
      },
    },
    async (request, reply) => {
      await auth.forgotPassword({ email: request.body.email }, clientInfo(request));
      return reply.code(202).send({ message: FORGOT_PASSWORD_ACCEPTED });
    },
  );

  const mailedTokenProblem = (what: string) => ({
    code: 'TOKEN_INVALID' as const,
    status: 400,
    detail: `The ${what} token is invalid, used or expired.`,
    when: `unknown, used or expired ${what} token, or one mailed to a previous address`,
  });
  const BAD_TOKEN_LIMIT = {
    code: 'RATE_LIMITED',
    detail: 'Too many attempts; try again later.',
    when: 'too many bad tokens from this client IP',
  } as const;

  app.post(
    '/auth/password/reset',
    {
      schema: {
        tags,
        summary: 'Set a new password with a mailed reset token',
        description: 'The token dies, and every session of the user ends. Unknown, used or expired token: 400 TOKEN_INVALID.',
        body: ResetPasswordBody,
        response: {
          204: noContent('Password changed; every session ended'),
          ...problems(...BODY_PROBLEMS, mailedTokenProblem('reset'), BAD_TOKEN_LIMIT),
        },
      },
    },
    async (request, reply) => {
      await auth.resetPassword(request.body, clientInfo(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/verify-email',
    {
      schema: {
        tags,
        summary: 'Verify the email address with a mailed token',
        description:
          'The user gets email_verified: true. Unknown, used or expired token, or one mailed to a previous address: 400 TOKEN_INVALID.',
        body: VerifyEmailBody,
        response: {
          204: noContent('Email verified'),
          ...problems(...BODY_PROBLEMS, mailedTokenProblem('verification'), BAD_TOKEN_LIMIT),
        },
      },
    },
    async (request, reply) => {
      await auth.verifyEmail({ token: request.body.token }, clientInfo(request));
      return reply.code(204).send(null);
    },
  );

  app.register(async (instance) => {
    const authed = instance.withTypeProvider<TypeBoxTypeProvider>();
    authed.addHook('onRequest', app.authenticate);

    authed.post(
      '/auth/logout',
      {
        schema: {
          tags,
          summary: 'End the current session',
          description: "This session's refresh token and every access token of it stop working at once.",
          security: bearer,
          response: { 204: noContent('Session ended'), ...problems(...TOKEN_PROBLEMS) },
        },
      },
      async (request, reply) => {
        await auth.logout(request.user, clientInfo(request));
        return reply.code(204).send(null);
      },
    );

    authed.post(
      '/auth/logout-all',
      {
        schema: {
          tags,
          summary: 'End every session of the current user',
          description: 'Signs the user out everywhere: every refresh and access token of theirs stops working.',
          security: bearer,
          response: { 204: noContent('Every session ended'), ...problems(...TOKEN_PROBLEMS) },
        },
      },
      async (request, reply) => {
        await auth.logoutAll(request.user, clientInfo(request));
        return reply.code(204).send(null);
      },
    );

    authed.get(
      '/auth/me',
      {
        schema: {
          tags,
          summary: 'The signed-in user',
          description: 'The user object (at top level) of the account behind the access token.',
          security: bearer,
          response: { 200: Type.Ref(UserSchema, { description: 'The signed-in user' }), ...problems(...TOKEN_PROBLEMS) },
        },
      },
      async (request) => users.getUser(request.user, request.user.id),
    );

    authed.post(
      '/auth/verify-email/resend',
      {
        schema: {
          tags,
          summary: 'Mail a new verification link to the current address',
          description: 'Nothing is sent when the email is already verified. Limited per address (429).',
          security: bearer,
          response: {
            202: AcceptedResponse,
            ...problems(...TOKEN_PROBLEMS, {
              code: 'RATE_LIMITED',
              detail: 'Too many mails to this address; try again later.',
              when: 'too many verification mails for this address',
            }),
          },
        },
      },
      async (request, reply) => reply.code(202).send(await auth.resendVerification(request.user)),
    );

    authed.put(
      '/auth/password',
      {
        schema: {
          tags,
          summary: 'Change the password',
          description: 'Needs the current password (403 INVALID_CREDENTIALS if wrong). Ends every other session.',
          security: bearer,
          body: ChangePasswordBody,
          response: {
            204: noContent('Password changed; every other session ended'),
            ...problems(
              ...BODY_PROBLEMS,
              ...TOKEN_PROBLEMS,
              {
                code: 'INVALID_CREDENTIALS',
                status: 403,
                detail: 'The current password is incorrect.',
                when: 'the current password is wrong',
              },
              { code: 'RATE_LIMITED', when: 'too many wrong current passwords; `Retry-After` says when to retry' },
            ),
          },
        },
      },
      async (request, reply) => {
        await auth.changePassword(request.user, request.body, clientInfo(request));
        return reply.code(204).send(null);
      },
    );

    authed.post(
      '/auth/reauthenticate',
      {
        schema: {
          tags,
          summary: 'Confirm your password again (step-up)',
          description:
            'For a route that answered 401 REAUTHENTICATION_REQUIRED (with TOTP on, send `code` or `recovery_code` too): the same session gets a fresh `auth_time`, and new tokens; ' +
            'the old refresh token is dead. Wrong password: 401 INVALID_CREDENTIALS, throttled like sign-in.',
          security: bearer,
          body: ReauthenticateBody,
          response: {
            200: Type.Ref(TokenResponseSchema, { description: 'New tokens for the same session, with a fresh auth_time' }),
            ...problems(
              ...BODY_PROBLEMS,
              ...TOKEN_PROBLEMS,
              'INVALID_CREDENTIALS',
              {
                code: 'MFA_CODE_INVALID',
                detail: 'The code is wrong or was already used.',
                when: 'TOTP is on and the code (or recovery code) is missing or wrong',
              },
              {
                code: 'RATE_LIMITED',
                detail: 'Too many failed sign-in attempts; try again later.',
                when: 'too many wrong passwords (or codes) for this account or client IP',
              },
            ),
          },
        },
      },
      async (request) => auth.reauthenticate(request.user, request.body, clientInfo(request)),
    );
  });
};
