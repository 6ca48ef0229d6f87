import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { clientInfo } from '../../lib/client-info.js';
import { BODY_PROBLEMS, NOT_ADMIN, noContent, problems, QUERY_PROBLEM, TOKEN_PROBLEMS } from '../../lib/http-schemas.js';
import { normalizeBodyFields } from '../../lib/normalize-body.js';
import { ListUsersQuery, PatchUserBody, UserIdParams, UserPage, UserSchema } from './users.schemas.js';
import type { UsersService } from './users.service.js';

const security = [{ bearerAuth: [] }];
const tags = ['Users'];
const OTHERS_ACCOUNT = { code: 'FORBIDDEN', when: "another user's account (admins excepted)" } as const;
const NO_SUCH_USER = { code: 'NOT_FOUND', detail: 'No such user.', when: 'no such user (only an admin can tell)' } as const;
const LAST_ADMIN = { code: 'LAST_ADMIN', when: 'would demote, disable or delete the last active admin' } as const;
/** RFC 9470 step-up: documented with the challenge the client must answer. */
export const REAUTH_PROBLEM = {
  code: 'REAUTHENTICATION_REQUIRED',
  detail: 'This change needs a recent sign-in: confirm your password with POST /auth/reauthenticate, then retry.',
  when: 'the sign-in behind the token is older than REAUTH_MAX_AGE; `WWW-Authenticate: Bearer error="insufficient_user_authentication", max_age=…`',
} as const;

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
          ...problems(QUERY_PROBLEM, ...TOKEN_PROBLEMS, NOT_ADMIN),
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
        description:
          'Disabling an account ends all its sessions. The last active admin cannot be demoted or disabled. Changing your own email needs a recent sign-in (REAUTH_MAX_AGE, see POST /auth/reauthenticate).',
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
            REAUTH_PROBLEM,
          ),
        },
      },
    },
    async (request) => users.updateUser(request.user, request.params.id, request.body, clientInfo(request)),
  );

  app.delete(
    '/users/:id',
    {
      schema: {
        tags,
        summary: 'Delete a user (self or admin)',
        description:
          "Deletes the user's sessions and private data; books they created stay with created_by null. Deleting your own account needs a recent sign-in (REAUTH_MAX_AGE).",
        security,
        params: UserIdParams,
        response: {
          204: noContent('User deleted'),
          ...problems(...TOKEN_PROBLEMS, OTHERS_ACCOUNT, NO_SUCH_USER, LAST_ADMIN, REAUTH_PROBLEM),
        },
      },
    },
    async (request, reply) => {
      await users.deleteUser(request.user, request.params.id, clientInfo(request));
      return reply.code(204).send(null);
    },
  );
};
