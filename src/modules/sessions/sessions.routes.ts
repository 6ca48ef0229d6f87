import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { clientInfo } from '../../lib/client-info.js';
import { NOT_ADMIN, noContent, problems, QUERY_PROBLEM, TOKEN_PROBLEMS } from '../../lib/http-schemas.js';
import { UserIdParams } from '../users/users.schemas.js';
import { SessionIdParams, SessionPage, SessionsQuery } from './sessions.schemas.js';
import type { SessionsService } from './sessions.service.js';

const security = [{ bearerAuth: [] }];
const tags = ['Sessions'];
const NO_SUCH_USER = { code: 'NOT_FOUND', detail: 'No such user.', when: 'no such user' } as const;

/** Where one is signed in, and ending those sessions: one's own, and any user's for an admin. */
export const sessionsRoutes: FastifyPluginAsyncTypebox<{ sessions: SessionsService }> = async (app, { sessions }) => {
  app.addHook('onRequest', app.authenticate);

  app.get(
    '/auth/sessions',
    {
      schema: {
        tags,
        summary: "The signed-in user's live sessions",
        description: 'Newest first; `current` marks the session of this access token.',
        security,
        querystring: SessionsQuery,
        response: { 200: SessionPage, ...problems(QUERY_PROBLEM, ...TOKEN_PROBLEMS) },
      },
    },
    async (request) => sessions.listOwn(request.user, request.query),
  );

  app.delete(
    '/auth/sessions/:id',
    {
      schema: {
        tags,
        summary: 'End one of your sessions',
        description:
          "Its refresh token and access tokens stop working at once, on every instance. Someone else's, unknown or already ended: 404.",
        security,
        params: SessionIdParams,
        response: {
          204: noContent('Session ended'),
          ...problems(...TOKEN_PROBLEMS, {
            code: 'NOT_FOUND',
            detail: 'No such session.',
            when: "someone else's, unknown or already ended",
          }),
        },
      },
    },
    async (request, reply) => {
      await sessions.endOwn(request.user, request.params.id, clientInfo(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/auth/logout-others',
    {
      schema: {
        tags,
        summary: 'End every session but this one',
        description: 'Signs out every other device; the session of this access token stays.',
        security,
        response: { 204: noContent('Every other session ended'), ...problems(...TOKEN_PROBLEMS) },
      },
    },
    async (request, reply) => {
      await sessions.endOthers(request.user, clientInfo(request));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/users/:id/sessions',
    {
      preHandler: app.requireRole('admin'),
      schema: {
        tags,
        summary: "A user's live sessions (admin)",
        description: 'Newest first; `current` is always false here.',
        security,
        params: UserIdParams,
        querystring: SessionsQuery,
        response: { 200: SessionPage, ...problems(QUERY_PROBLEM, ...TOKEN_PROBLEMS, NOT_ADMIN, NO_SUCH_USER) },
      },
    },
    async (request) => sessions.listForUser(request.params.id, request.query),
  );

  app.delete(
    '/users/:id/sessions',
    {
      preHandler: app.requireRole('admin'),
      schema: {
        tags,
        summary: 'End every session of a user (admin)',
        description: 'Every refresh and access token of theirs stops working at once, on every instance.',
        security,
        params: UserIdParams,
        response: { 204: noContent('Every session of the user ended'), ...problems(...TOKEN_PROBLEMS, NOT_ADMIN, NO_SUCH_USER) },
      },
    },
    async (request, reply) => {
      await sessions.endAllForUser(request.user, request.params.id, clientInfo(request));
      return reply.code(204).send(null);
    },
  );
};
