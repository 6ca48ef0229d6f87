import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { problems } from '../../lib/http-schemas.js';
import { normalizeBodyFields } from '../../lib/normalize-body.js';
import { ListUsersQuery, PatchUserBody, UserIdParams, UserPage, UserSchema } from './users.schemas.js';
import type { UsersService } from './users.service.js';

const security = [{ bearerAuth: [] }];
const tags = ['Users'];

/** /users: every route needs a token; listing needs the admin role. */
export const usersRoutes: FastifyPluginAsyncTypebox<{ users: UsersService }> = async (app, { users }) => {
  app.addHook('onRequest', app.authenticate);

  app.get(
    '/users',
    {
      preHandler: app.requireRole('admin'),
      schema: {
        tags,
        summary: 'List users (admin)',
        security,
        querystring: ListUsersQuery,
        response: { 200: UserPage, ...problems(400, 401, 403) },
      },
    },
    async (request) => users.listUsers(request.query),
  );

  app.get(
    '/users/:id',
    {
      schema: {
        tags,
        summary: 'Get a user (self or admin)',
        security,
        params: UserIdParams,
        response: { 200: Type.Ref(UserSchema), ...problems(401, 403, 404) },
      },
    },
    async (request) => users.getUser(request.user, request.params.id),
  );

  app.patch(
    '/users/:id',
    {
      preValidation: async (request) => normalizeBodyFields(request.body, ['email', 'name']),
      schema: {
        tags,
        summary: 'Update a user (self: name, email; admin: also role, disabled)',
        security,
        params: UserIdParams,
        body: PatchUserBody,
        response: { 200: Type.Ref(UserSchema), ...problems(400, 401, 403, 404, 409, 413, 415) },
      },
    },
    async (request) => users.updateUser(request.user, request.params.id, request.body),
  );

  app.delete(
    '/users/:id',
    {
      schema: {
        tags,
        summary: 'Delete a user (self or admin)',
        description: "Deletes the user's sessions and private data; books they created stay with created_by null.",
        security,
        params: UserIdParams,
        response: { 204: Type.Null(), ...problems(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await users.deleteUser(request.user, request.params.id);
      return reply.code(204).send(null);
    },
  );
};
