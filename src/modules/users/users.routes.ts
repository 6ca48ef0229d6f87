import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { BODY_PROBLEMS, noContent, problems, QUERY_PROBLEM, TOKEN_PROBLEMS } from '../../lib/http-schemas.js';
import { normalizeBodyFields } from '../../lib/normalize-body.js';
import { ListUsersQuery, PatchUserBody, UserIdParams, UserPage, UserSchema } from './users.schemas.js';
import type { UsersService } from './users.service.js';

const security = [{ bearerAuth: [] }];
const tags = ['Users'];
const OTHERS_ACCOUNT = { code: 'FORBIDDEN', when: "another user's account (admins excepted)" } as const;
const NO_SUCH_USER = { code: 'NOT_FOUND', detail: 'No such user.', when: 'no such user (only an admin can tell)' } as const;
const LAST_ADMIN = { code: 'LAST_ADMIN', when: 'would demote, disable or delete the last active admin' } as const;

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
        description: 'Oldest first, paginated with `limit` and `cursor`; `q` matches email or name.',
        security,
        querystring: ListUsersQuery,
        response: {
          200: UserPage,
          ...problems(QUERY_PROBLEM, ...TOKEN_PROBLEMS, {
            code: 'FORBIDDEN',
            detail: 'This action needs the admin role.',
            when: 'not an admin',
          }),
        },
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
        description: "Anyone else's account is 403, whether or not it exists.",
        security,
        params: UserIdParams,
        response: {
          200: Type.Ref(UserSchema, { description: 'The user' }),
          ...problems(...TOKEN_PROBLEMS, OTHERS_ACCOUNT, NO_SUCH_USER),
        },
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
        description: 'Disabling an account ends all its sessions. The last active admin cannot be demoted or disabled.',
        security,
        params: UserIdParams,
        body: PatchUserBody,
        response: {
          200: Type.Ref(UserSchema, { description: 'The updated user' }),
          ...problems(
            ...BODY_PROBLEMS,
            ...TOKEN_PROBLEMS,
            { ...OTHERS_ACCOUNT, when: "another user's account, or `role`/`disabled` sent by a non-admin" },
            NO_SUCH_USER,
            'EMAIL_TAKEN',
            LAST_ADMIN,
          ),
        },
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
        response: { 204: noContent('User deleted'), ...problems(...TOKEN_PROBLEMS, OTHERS_ACCOUNT, NO_SUCH_USER, LAST_ADMIN) },
      },
    },
    async (request, reply) => {
      await users.deleteUser(request.user, request.params.id);
      return reply.code(204).send(null);
    },
  );
};
