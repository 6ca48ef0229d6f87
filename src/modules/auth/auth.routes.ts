import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { problems } from '../../lib/http-schemas.js';
import { normalizeBodyFields } from '../../lib/normalize-body.js';
import { UserSchema } from '../users/users.schemas.js';
import type { UsersService } from '../users/users.service.js';
import { ChangePasswordBody, LoginBody, RefreshBody, RegisterBody, RegisterResponse, TokenResponseSchema } from './auth.schemas.js';
import type { AuthService } from './auth.service.js';

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
        description: 'Unknown email and wrong password get the same 401. Repeated failures per email or client IP answer 429.',
        body: LoginBody,
        response: { 200: TokenResponseSchema, ...problems(400, 401, 413, 415, 429) },
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
};
