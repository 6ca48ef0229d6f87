import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { problem, problems } from '../../lib/http-schemas.js';
import { normalizeBodyFields } from '../../lib/normalize-body.js';
import { UserSchema } from '../users/users.schemas.js';
import type { UsersService } from '../users/users.service.js';
import {
  AcceptedResponse,
  ChangePasswordBody,
  ForgotPasswordBody,
  JwksResponse,
  LoginBody,
  RefreshBody,
  RegisterBody,
  RegisterResponse,
  ResetPasswordBody,
  TokenResponseSchema,
  VerifyEmailBody,
} from './auth.schemas.js';
import { type AuthService, FORGOT_PASSWORD_ACCEPTED } from './auth.service.js';

const bearer = [{ bearerAuth: [] }];
const tags = ['Auth'];

/** /auth/* and the JWKS document. */
export const authRoutes: FastifyPluginAsyncTypebox<{ auth: AuthService; users: UsersService }> = async (app, { auth, users }) => {
  app.post(
    '/auth/register',
    {
      preValidation: async (request) => normalizeBodyFields(request.body, ['email', 'name']),
      schema: {
        tags,
        summary: 'Create an account',
        description: 'Mails a verification link to the address (see POST /auth/verify-email).',
        body: RegisterBody,
        response: { 201: RegisterResponse, ...problems(400, 409, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const user = await users.createUser(request.body);
      return reply.code(201).header('location', `/users/${user.id}`).send({ user });
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
          'Unknown email and wrong password get the same 401. Repeated failures per email or client IP answer 429. ' +
          'With REQUIRE_VERIFIED_EMAIL, the right password for an unverified email answers 403 EMAIL_NOT_VERIFIED (and mails a new link).',
        body: LoginBody,
        response: {
          200: TokenResponseSchema,
          403: problem('EMAIL_NOT_VERIFIED: the email is not verified yet (only when the server requires it)'),
          ...problems(400, 401, 413, 415, 429),
        },
      },
    },
    async (request) => auth.login({ ...request.body, ip: request.ip }),
  );

  app.post(
    '/auth/refresh',
    {
      schema: {
        tags,
        summary: 'Exchange a refresh token for new tokens (rotation)',
        description: 'The presented refresh token dies. Presenting a used one again revokes its whole session.',
        body: RefreshBody,
        response: { 200: TokenResponseSchema, ...problems(400, 401, 413, 415) },
      },
    },
    async (request) => auth.refresh(request.body.refresh_token),
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
        response: { 202: AcceptedResponse, ...problems(400, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      await auth.forgotPassword({ email: request.body.email, ip: request.ip });
      return reply.code(202).send({ message: FORGOT_PASSWORD_ACCEPTED });
    },
  );

  app.post(
    '/auth/password/reset',
    {
      schema: {
        tags,
        summary: 'Set a new password with a mailed reset token',
        description: 'The token dies, and every session of the user ends. Unknown, used or expired token: 400 TOKEN_INVALID.',
        body: ResetPasswordBody,
        response: {
          204: Type.Null(),
          400: problem('TOKEN_INVALID (unknown, used or expired token) or VALIDATION_FAILED (e.g. a weak new_password)'),
          ...problems(413, 415, 429),
        },
      },
    },
    async (request, reply) => {
      await auth.resetPassword({ ...request.body, ip: request.ip });
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
          204: Type.Null(),
          400: problem('TOKEN_INVALID (unknown, used or expired token) or VALIDATION_FAILED'),
          ...problems(413, 415, 429),
        },
      },
    },
    async (request, reply) => {
      await auth.verifyEmail({ token: request.body.token, ip: request.ip });
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
          security: bearer,
          response: { 204: Type.Null(), ...problems(401) },
        },
      },
      async (request, reply) => {
        await auth.logout(request.user);
        return reply.code(204).send(null);
      },
    );

    authed.post(
      '/auth/logout-all',
      {
        schema: {
          tags,
          summary: 'End every session of the current user',
          security: bearer,
          response: { 204: Type.Null(), ...problems(401) },
        },
      },
      async (request, reply) => {
        await auth.logoutAll(request.user);
        return reply.code(204).send(null);
      },
    );

    authed.get(
      '/auth/me',
      {
        schema: { tags, summary: 'The signed-in user', security: bearer, response: { 200: Type.Ref(UserSchema), ...problems(401) } },
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
          response: { 202: AcceptedResponse, ...problems(401, 429) },
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
          response: { 204: Type.Null(), ...problems(400, 401, 403, 413, 415, 429) },
        },
      },
      async (request, reply) => {
        await auth.changePassword(request.user, request.body, request.ip);
        return reply.code(204).send(null);
      },
    );
  });

  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags,
        summary: 'Public signing keys (JWK Set)',
        description: 'Empty with HS256: a shared secret is never published.',
        response: { 200: JwksResponse },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return { keys: [] };
    },
  );
};
